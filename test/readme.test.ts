/**
 * The first page a newcomer reads: what it is and the two commands near the top, and no claim the
 * code contradicts (each checked against the thing it describes).
 */
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT } from './helpers.js';

const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const lines = readme.split('\n');

describe('README', () => {
  it('says what it is and gives set-up + main job and set-up + tests within its first 40 lines', () => {
    const top = lines.slice(0, 40).join('\n');
    expect(top).toMatch(/^> .*trade log/m);
    const blocks = [...top.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    const setUp = /^npm (install|ci)\b/m;
    expect(blocks.some((b) => setUp.test(b) && /^npm run demo\b/m.test(b))).toBe(true);
    expect(blocks.some((b) => setUp.test(b) && /^npm test\b/m.test(b))).toBe(true);
  });

  it('runs the commands package.json defines', () => {
    const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    for (const m of readme.matchAll(/^npm run ([\w:-]+)/gm)) expect(Object.keys(scripts), m[0]).toContain(m[1]);
  });

  it('says that packing needs the prebuilt binary first, wherever it mentions npm pack', () => {
    const paragraphs = readme.split(/\n\s*\n/).filter((p) => p.includes('npm pack'));
    expect(paragraphs.length).toBeGreaterThan(0);
    const i = readme.indexOf('npm pack');
    expect(readme.slice(Math.max(0, i - 600), i + 400)).toMatch(/prebuil[dt]/);
  });

  it('makes no claim of an ExperimentalWarning on require() (Node 20.19+ loads ES modules without one)', () => {
    expect(readme).not.toMatch(/ExperimentalWarning/);
  });

  it('counts the PostgreSQL demo\'s hosts as the demo runs them', async () => {
    // The demo's hosts, as its configuration defines them.
    const { SCANNER_HOSTS, MONITOR_HOST } = (await import(path.join(ROOT, 'dist', 'demo', 'postgres', 'config.js'))) as {
      SCANNER_HOSTS: readonly unknown[];
      MONITOR_HOST: unknown;
    };
    expect([...SCANNER_HOSTS, MONITOR_HOST]).toHaveLength(3);
    for (const doc of [readme, fs.readFileSync(path.join(ROOT, 'docs', 'cli.md'), 'utf8')]) {
      expect(doc).not.toMatch(/two "?hosts"? (sharing|, one budget)/i);
      expect(doc).toMatch(/three "?hosts"?/i);
    }
  });
});
