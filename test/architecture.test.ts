/**
 * The house rules of src/, checked on the import statements themselves (type-only ones included):
 * no import cycle anywhere, and each layer imports only what is below it (ARCHITECTURE.md).
 * A rule broken here is a maintainer's map gone wrong, so it fails the suite like a bug.
 */
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT, sourceFiles } from './helpers.js';

const SRC = path.join(ROOT, 'src');

/** Every module specifier a file names: import/export … from, side-effect imports, import(), import type. */
function specifiers(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const found = new Set<string>();
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]/g)) found.add(m[1]!);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) found.add(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.add(m[1]!);
  return [...found];
}

/** src-relative path of the file a relative specifier names ('./x.js' → x.ts, './dir/index.js'). */
function resolve(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = path.resolve(path.dirname(from), spec).replace(/\.js$/, '');
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(candidate)) return path.relative(SRC, candidate);
  throw new Error(`${path.relative(SRC, from)}: cannot resolve ${spec}`);
}

const FILES = sourceFiles(SRC).map((f) => path.relative(SRC, f)).sort();
const GRAPH = new Map<string, { local: string[]; external: string[] }>(
  FILES.map((f) => {
    const specs = specifiers(path.join(SRC, f));
    return [
      f,
      {
        local: specs.map((s) => resolve(path.join(SRC, f), s)).filter((s): s is string => s !== null),
        external: specs.filter((s) => !s.startsWith('.')),
      },
    ];
  }),
);

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of GRAPH.get(v)!.local) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || GRAPH.get(v)!.local.includes(v)) out.push(scc.sort());
    }
  };
  for (const f of FILES) if (!index.has(f)) visit(f);
  return out;
}

const folder = (f: string): string => (f.includes(path.sep) ? f.split(path.sep)[0]! : f);

describe('the shape of src/', () => {
  it('finds the files and their imports (the checks below are not vacuous)', () => {
    expect(FILES.length).toBeGreaterThan(40);
    expect(GRAPH.get('index.ts')!.local.length).toBeGreaterThan(5);
  });

  it('has no import cycle, type-only imports included', () => {
    expect(cycles()).toEqual([]);
  });

  it('has no cycle between folders either (cli/ → demo/ → cli/ would be one)', () => {
    const edges = new Map<string, Set<string>>();
    for (const f of FILES) {
      for (const t of GRAPH.get(f)!.local) {
        if (folder(f) === folder(t)) continue;
        if (!edges.has(folder(f))) edges.set(folder(f), new Set());
        edges.get(folder(f))!.add(folder(t));
      }
    }
    const reaches = (from: string, to: string, seen = new Set<string>()): boolean => {
      for (const next of edges.get(from) ?? []) {
        if (next === to) return true;
        if (!seen.has(next)) {
          seen.add(next);
          if (reaches(next, to, seen)) return true;
        }
      }
      return false;
    };
    const mutual = [...edges].flatMap(([from, tos]) => [...tos].filter((to) => reaches(to, from)).map((to) => `${from} → ${to}`));
    expect(mutual).toEqual([]);
  });

  it('domain/ is pure: it imports only domain/ and errors.ts, and no Node module or package', () => {
    const bad = FILES.filter((f) => folder(f) === 'domain').flatMap((f) => [
      ...GRAPH.get(f)!.local.filter((t) => folder(t) !== 'domain' && t !== 'errors.ts').map((t) => `${f} → ${t}`),
      ...GRAPH.get(f)!.external.map((t) => `${f} → ${t}`),
    ]);
    expect(bad).toEqual([]);
  });

  it('native/ holds the addon and its loader only: it imports errors.ts and Node built-ins', () => {
    const bad = FILES.filter((f) => folder(f) === 'native').flatMap((f) => [
      ...GRAPH.get(f)!.local.filter((t) => t !== 'errors.ts').map((t) => `${f} → ${t}`),
      ...GRAPH.get(f)!.external.filter((t) => !t.startsWith('node:')).map((t) => `${f} → ${t}`),
    ]);
    expect(bad).toEqual([]);
  });

  it('demo/ uses the library as a user would: through index.ts and the postgres subpath, plus the shared number format', () => {
    const allowed = new Set(['index.ts', 'format.ts', path.join('postgres', 'index.ts')]);
    const bad = FILES.filter((f) => folder(f) === 'demo').flatMap((f) =>
      GRAPH.get(f)!.local.filter((t) => folder(t) !== 'demo' && !allowed.has(t)).map((t) => `${f} → ${t}`),
    );
    expect(bad).toEqual([]);
  });

  it('imports point down: nothing below cli/, demo/ or report/ imports them', () => {
    const top = new Set(['cli', 'demo', 'report']);
    const bad = FILES.filter((f) => !top.has(folder(f)) && f !== 'index.ts').flatMap((f) =>
      GRAPH.get(f)!.local.filter((t) => top.has(folder(t))).map((t) => `${f} → ${t}`),
    );
    expect(bad).toEqual([]);
  });
});

/** ARCHITECTURE.md's table "Who may import whom": from → what it may import, as written there. */
function documentedEdges(): Map<string, Set<string>> {
  const doc = fs.readFileSync(path.join(ROOT, 'ARCHITECTURE.md'), 'utf8');
  const start = doc.indexOf('### Who may import whom');
  if (start < 0) throw new Error('ARCHITECTURE.md has no section "### Who may import whom"');
  const section = doc.slice(start + 1);
  const end = section.search(/\n#/);
  const rows = (end < 0 ? section : section.slice(0, end)).split('\n').filter((l) => /^\|\s*`/.test(l));
  const table = new Map<string, Set<string>>();
  for (const row of rows) {
    const [from, to] = row.split('|').slice(1, 3).map((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
    if (from?.length !== 1 || to === undefined) throw new Error(`ARCHITECTURE.md: a row of "Who may import whom" is not \`from\` | \`a\`, \`b\`: ${row}`);
    table.set(from[0]!, new Set(to));
  }
  return table;
}

/** A file's place in the table: its top folder ("postgres/"), or itself at the top of src/ ("index.ts"). */
const place = (f: string): string => (f.includes(path.sep) ? `${f.split(path.sep)[0]}/` : f);

/** Every import between two places, with one file that makes it. */
function actualEdges(): Map<string, Map<string, string>> {
  const edges = new Map<string, Map<string, string>>();
  for (const f of FILES) {
    for (const t of GRAPH.get(f)!.local) {
      if (place(f) === place(t)) continue;
      if (!edges.has(place(f))) edges.set(place(f), new Map());
      if (!edges.get(place(f))!.has(place(t))) edges.get(place(f))!.set(place(t), `src/${f} imports src/${t}`);
    }
  }
  return edges;
}

describe("ARCHITECTURE.md's diagram is the imports", () => {
  const documented = documentedEdges();
  const actual = actualEdges();

  it('reads the table (the checks below are not vacuous)', () => {
    expect(documented.get('postgres/')).toContain('reconcile/');
    expect(actual.get('cli/')?.has('postgres/')).toBe(true);
  });

  it('lists every import between folders', () => {
    const missing = [...actual].flatMap(([from, tos]) =>
      [...tos].filter(([to]) => !documented.get(from)?.has(to)).map(([to, why]) =>
        documented.has(from)
          ? `add \`${to}\` to the row \`${from}\` of ARCHITECTURE.md's "Who may import whom" (and the diagram): ${why}`
          : `add the row | \`${from}\` | \`${to}\` | to ARCHITECTURE.md's "Who may import whom" (and the diagram): ${why}`,
      ),
    );
    expect(missing).toEqual([]);
  });

  it('lists no edge that no import makes any more', () => {
    const stale = [...documented].flatMap(([from, tos]) =>
      [...tos].filter((to) => !actual.get(from)?.has(to)).map((to) => `remove \`${to}\` from the row \`${from}\` of ARCHITECTURE.md's "Who may import whom" (and the diagram): no file of ${from} imports it`),
    );
    expect(stale).toEqual([]);
  });
});
