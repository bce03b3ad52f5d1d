/**
 * Rules that are a literal (a name, a path): written once in src/, at their home. A second copy
 * fails here. `PENDING` names the copies in files another change was rewriting when the home was
 * made; the entry goes once the file uses the home (the test fails on an entry that is stale).
 */
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT, sourceFiles } from './helpers.js';

const SRC = path.join(ROOT, 'src');

interface LiteralRule {
  what: string;
  pattern: RegExp;
  home: string;
  /** Files (src-relative) still holding a copy, to be switched to the home. */
  pending: readonly string[];
}

const RULES: readonly LiteralRule[] = [
  {
    what: "the NOTIFY channel's prefix and payload (NOTIFY_CHANNEL_PREFIX, notifyChannel, NOTIFY_SQL)",
    pattern: /['"`]tse_['"`]|pg_notify/,
    home: 'postgres/schema.ts',
    pending: [],
  },
  {
    what: "the default lock file's name (LOCK_FILE, lockFileFor)",
    pattern: /['"`]trade\.lock['"`]/,
    home: 'io/log-path.ts',
    pending: [],
  },
];

/** The code of a file without its comments, so that a comment naming the rule is no copy. */
function code(file: string): string {
  return fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

const FILES = sourceFiles().map((f) => ({ rel: path.relative(SRC, f), text: code(f) }));

describe('a rule that is a literal is written at its home only', () => {
  for (const rule of RULES) {
    it(`${rule.what}: ${rule.home}`, () => {
      const holders = FILES.filter((f) => rule.pattern.test(f.text)).map((f) => f.rel);
      expect(holders, `${rule.what} is written at its home`).toContain(rule.home);
      const copies = holders.filter((f) => f !== rule.home && !rule.pending.includes(f));
      expect(copies, `${rule.what}: use ${rule.home}'s export instead of a copy in`).toEqual([]);
      const switched = rule.pending.filter((f) => !holders.includes(f));
      expect(switched, `${rule.what}: these files use the home now; remove them from PENDING`).toEqual([]);
    });
  }
});
