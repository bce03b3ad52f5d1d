/**
 * The package's declarations never name an optional peer's types: a consumer without `pg` (or the
 * report's renderers) installed, type-checking with skipLibCheck: false, must not fail on ours. Walks
 * the .d.ts files every export of package.json reaches (the consumer test checks the same on the tarball).
 * (Observable Plot's declarations import d3 without types, linkedom's clash with lib.dom.)
 */
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT } from './helpers.js';

const OPTIONAL = /['"](pg|pg-[a-z-]+|linkedom|@observablehq\/plot|d3(-[a-z-]+)?|prom-client)['"]/;

describe('public declarations', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string | { types?: string }> };
  const entries = Object.values(pkg.exports).flatMap((e) => (typeof e === 'object' && e.types !== undefined ? [e.types] : []));

  it.each(entries)('%s reaches no optional peer\'s types', (entry) => {
    const seen = new Set<string>();
    const walk = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = fs.readFileSync(file, 'utf8');
      expect(text, `${path.relative(ROOT, file)} (reached from ${entry})`).not.toMatch(OPTIONAL);
      for (const m of text.matchAll(/(?:from|import\()\s*['"](\.{1,2}\/[^'"]+)\.js['"]/g)) walk(path.resolve(path.dirname(file), `${m[1]}.d.ts`));
    };
    walk(path.join(ROOT, entry));
    expect(seen.size).toBeGreaterThan(1);
  });
});
