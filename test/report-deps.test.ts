/**
 * The report's renderers (Observable Plot, linkedom) are optional peer dependencies, as `pg` is: a
 * user's project that installed trade-state-engine alone (a copy of the built package, its
 * dependencies linked, no renderer reachable from any parent folder) trades, runs the CLI and the
 * demo, and gets one EREPORTDEPS error naming what to install when it asks for a page.
 */
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { REPORT_RENDERERS } from '../src/report/render.js';
import { ROOT, runNode, userProject } from './helpers.js';

const RENDERERS = Object.keys(REPORT_RENDERERS);
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, unknown>>;
const DEPS = Object.keys(pkg.dependencies ?? {});
const BOTH = 'npm install @observablehq/plot@0.6 linkedom@0.18';

const projects: string[] = [];
afterAll(() => {
  for (const app of projects) fs.rmSync(path.dirname(app), { recursive: true, force: true });
});

function project(prefix: string, absent: readonly string[], link: readonly string[]): { app: string; cli: string; log: string } {
  const app = userProject(prefix, absent, link);
  projects.push(app);
  const log = path.join(app, 'trade_log.json');
  fs.writeFileSync(
    path.join(app, 'bot.mjs'),
    `import { TradeStore } from 'trade-state-engine';
import { buildReport, ReportDepsMissingError, shapeReportData } from 'trade-state-engine/report';
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const store = new TradeStore({ tradeLog: ${JSON.stringify(log)}, startingCapital: 5000 });
const t = await store.openTrade({ symbol: 'BTC', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: 1 });
store.close();
say({ opened: t.id, shaped: typeof shapeReportData });
for (let i = 0; i < 2; i++) {
  try {
    await buildReport({ tradeLog: ${JSON.stringify(log)}, out: 'report.html' });
    say({ built: true });
  } catch (err) {
    say({ code: err.code, name: err.name, isDepsError: err instanceof ReportDepsMissingError, missing: err.missing, install: err.install, message: err.message });
  }
}
`,
  );
  return { app, cli: path.join(app, 'node_modules', 'trade-state-engine', 'dist', 'cli', 'main.js'), log };
}

describe('the package', () => {
  it('declares the renderers as optional peers (and dev dependencies), with the ranges the error installs from', () => {
    expect(RENDERERS).toEqual(['@observablehq/plot', 'linkedom']);
    for (const name of RENDERERS) {
      expect(DEPS, name).not.toContain(name);
      expect(pkg.peerDependencies?.[name], name).toBe(REPORT_RENDERERS[name]);
      expect(pkg.peerDependenciesMeta?.[name], name).toEqual({ optional: true });
      expect(pkg.devDependencies?.[name], name).toBe(pkg.peerDependencies?.[name]);
    }
  });
});

describe('installed without the renderers', () => {
  let p: ReturnType<typeof project>;
  beforeAll(() => {
    p = project('tse-norender-', RENDERERS, DEPS);
  });

  it('the library trades; trade-state-engine/report imports, and buildReport rejects with EREPORTDEPS naming both and the install command', async () => {
    const r = await runNode(path.join(p.app, 'bot.mjs'), []);
    expect(r.code, r.stderr).toBe(0);
    const [first, ...tries] = r.stdout.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toEqual({ opened: 'T001', shaped: 'function' });
    // the same answer the second time: a failed load is not cached as a success, nor as a different error
    expect(tries).toHaveLength(2);
    for (const t of tries) {
      expect(t).toMatchObject({ code: 'EREPORTDEPS', name: 'ReportDepsMissingError', isDepsError: true, missing: RENDERERS, install: BOTH });
      expect(t.message).toContain('"@observablehq/plot" and "linkedom"');
      expect(t.message).toContain(BOTH);
    }
    expect(fs.existsSync(path.join(p.app, 'report.html'))).toBe(false);
  });

  it('the CLI: status works; report exits 1 with one line naming the install command, no stack, no file', async () => {
    const status = await runNode(p.cli, ['status', '--log', p.log]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('T001');

    const out = path.join(p.app, 'page.html');
    const r = await runNode(p.cli, ['report', '--log', p.log, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^trade-state: error \(EREPORTDEPS\): The report needs "@observablehq\/plot" and "linkedom"/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(BOTH);
    expect(fs.existsSync(out)).toBe(false);

    const json = await runNode(p.cli, ['report', '--log', p.log, '--out', out, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, command: 'report', error: { code: 'EREPORTDEPS', message: expect.stringContaining(BOTH) } });
  });

  it('the demo gives its verdict and says the report was not written, and why', async () => {
    const dir = path.join(p.app, 'demo');
    const r = await runNode(p.cli, ['demo', '--short', '--dir', dir]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('report      not written: The report needs');
    expect(r.stdout).toContain(BOTH);
    expect(fs.existsSync(path.join(dir, 'report.html'))).toBe(false);
  }, 60_000);
});

describe('installed with linkedom but without Plot', () => {
  it('names Plot alone, and installs it alone', async () => {
    const p = project('tse-noplot-', ['@observablehq/plot'], [...DEPS, 'linkedom']);
    const r = await runNode(path.join(p.app, 'bot.mjs'), []);
    expect(r.code, r.stderr).toBe(0);
    const tries = r.stdout.split('\n').slice(1).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(tries[0]).toMatchObject({ code: 'EREPORTDEPS', missing: ['@observablehq/plot'], install: 'npm install @observablehq/plot@0.6' });
    expect(tries[0]?.message).toContain('needs "@observablehq/plot" to draw');
    expect(tries[0]?.message).not.toContain('linkedom');
  });
});
