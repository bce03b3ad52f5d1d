/**
 * Every code an error carries is declared, with its meaning, in src/errors.ts (ERROR_CODES; process
 * warnings in WARNING_CODES). A TradeStateError's constructor takes only declared codes; this scan
 * catches the codes written outside one: a CLI's JSON error, a refusal the reconcile command reports,
 * a warning's code.
 */
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ERROR_CODES, WARNING_CODES } from '../src/errors.js';
import { ROOT, sourceFiles } from './helpers.js';

const CODE = String.raw`'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)'`;
/** Where a code literal stands, and which table declares it. */
const SITES: readonly { what: string; pattern: RegExp; table: Readonly<Record<string, string>> }[] = [
  { what: 'an error constructed with a code', pattern: new RegExp(String.raw`\bnew \w*Error\(\s*${CODE}`, 'g'), table: ERROR_CODES },
  { what: "a call given an E… code first (an error class's super(), a helper that makes the error)", pattern: /\b\w+\(\s*'(E(?!RR_)[A-Z0-9_]{3,})'/g, table: ERROR_CODES },
  { what: 'a code in a JSON error or a reported refusal', pattern: new RegExp(String.raw`\bcode: ${CODE}`, 'g'), table: ERROR_CODES },
  { what: "the reconcile command's report of a refusal", pattern: new RegExp(String.raw`\bsay\(\s*'\w+',\s*${CODE}`, 'g'), table: ERROR_CODES },
  { what: 'a process warning', pattern: new RegExp(String.raw`\bcode: ${CODE}\s*\}`, 'g'), table: WARNING_CODES },
];
/** Not errors of this project: a violation's code (domain/integrity.ts), a system errno a write fakes, the demo protocol's ERROR line. */
const NOT_ERRORS = new Set(['POSITION_CAP_EXCEEDED', 'EIO', 'ERROR']);

function literals(): { file: string; code: string; what: string; declared: boolean }[] {
  return sourceFiles().flatMap((file) => {
    const text = fs.readFileSync(file, 'utf8');
    const rel = path.relative(ROOT, file);
    return SITES.flatMap(({ what, pattern, table }) =>
      [...text.matchAll(pattern)].map((m) => m[1]!).filter((code) => !NOT_ERRORS.has(code) && !(code.startsWith('TSE_') && table === ERROR_CODES))
        .map((code) => ({ file: rel, code, what, declared: Object.hasOwn(table, code) })),
    );
  });
}

describe('error codes', () => {
  const found = literals();

  it('finds the code literals of src/ (the scan is not vacuous)', () => {
    const codes = new Set(found.map((f) => f.code));
    for (const c of ['ELOGNOTEMPTY', 'ECLOSED', 'EUSAGE', 'EINTERNAL', 'ELOGMISSING', 'EDEMOPGSTART', 'COUNT_GUARD', 'TSE_INTEGRITY']) expect(codes).toContain(c);
  });

  it('declares every code src/ writes, in src/errors.ts', () => {
    const undeclared = found.filter((f) => !f.declared).map((f) => `${f.file}: ${f.code} (${f.what}): declare it in ERROR_CODES or WARNING_CODES of src/errors.ts`);
    expect(undeclared).toEqual([]);
  });

  it('gives each declared code a meaning of one line', () => {
    for (const [code, meaning] of Object.entries({ ...ERROR_CODES, ...WARNING_CODES })) {
      expect(meaning, code).toMatch(/^[^\n]{10,120}$/);
    }
  });

  it('declares no code that nothing in src/ uses any more', () => {
    const text = sourceFiles().filter((f) => !f.endsWith(`${path.sep}errors.ts`)).map((f) => fs.readFileSync(f, 'utf8')).join('\n');
    const errorsTs = fs.readFileSync(path.join(ROOT, 'src', 'errors.ts'), 'utf8');
    const body = errorsTs.slice(errorsTs.indexOf('export class TradeStateError'));
    const unused = Object.keys({ ...ERROR_CODES, ...WARNING_CODES }).filter((c) => !text.includes(`'${c}'`) && !body.includes(`'${c}'`));
    expect(unused).toEqual([]);
  });
});
