#!/usr/bin/env node
// The package as a user gets it: `npm pack`, then into an empty folder with --ignore-scripts (npm 12
// runs no unapproved install script) and no compiler on PATH, so only a prebuilt binary can work.
// From there: the footprint (at most FOOTPRINT.packages packages and FOOTPRINT.bytes on disk, the
// package itself included: the report's renderers are optional peers and not installed), import and
// write a trade (ESM), the CLI and the postgres subpath without those renderers and the report's
// one error naming them, trade-state-engine/prometheus without prom-client (EPROMMISSING), then
// with the renderers installed a report through the trade-state-engine/report subpath, require() it (CJS), type-check a TypeScript consumer
// under `module: nodenext` and `moduleResolution: bundler`, run both bin names, and check that an
// install without a usable binary explains itself. publint and are-the-types-wrong judge the tarball.
// The release job runs it once more on the tarball with all six prebuilt binaries.
//
//   npm run build:prebuild && npm run test:consumer      (part of .ci/run)
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ROOT } from './toolchain.mjs';

const repoPkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
/** What `npm install trade-state-engine` may add: npm's "added N packages" (itself included) and their bytes. */
const FOOTPRINT = { packages: 5, bytes: 3_000_000 };
const RENDERERS = ['@observablehq/plot', 'linkedom'];
const RENDERERS_INSTALL = 'npm install @observablehq/plot@0.6 linkedom@0.18';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tse-consumer-'));
const app = path.join(work, 'app');
fs.mkdirSync(app);
let failures = 0;

function step(name, fn) {
  try {
    const detail = fn();
    console.log(`consumer: ok   ${name}${detail ? `: ${detail}` : ''}`);
  } catch (err) {
    failures++;
    console.log(`consumer: FAIL ${name}\n${err instanceof Error ? err.message : String(err)}\n`);
  }
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  if (r.error) throw r.error;
  return r;
}

function ok(r, what) {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r.stdout;
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

// ---- a user's environment: no compiler on PATH, none of npm's variables from our own `npm run`
const bin = path.join(work, 'bin');
fs.mkdirSync(bin);
const npmCli = process.env.npm_execpath && fs.existsSync(process.env.npm_execpath)
  ? process.env.npm_execpath
  : path.join(path.dirname(fs.realpathSync(process.execPath)), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
fs.symlinkSync(process.execPath, path.join(bin, 'node'));
fs.symlinkSync(npmCli, path.join(bin, 'npm'));
fs.symlinkSync(path.join(path.dirname(npmCli), 'npx-cli.js'), path.join(bin, 'npx'));
fs.symlinkSync('/bin/sh', path.join(bin, 'sh')); // npx runs bins through a shell
const userEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'));
userEnv.PATH = bin;
const inApp = { cwd: app, env: userEnv };

let tarball;
step('npm pack', () => {
  const r = run(process.execPath, [npmCli, 'pack', '--json', '--pack-destination', work], { cwd: ROOT });
  const [info] = JSON.parse(ok(r, 'npm pack').slice(r.stdout.indexOf('[')));
  tarball = path.join(work, info.filename);
  const files = info.files.map((f) => f.path);
  const host = `prebuilds/${process.platform}-${process.arch}/`;
  check(files.some((f) => f.startsWith(host) && f.endsWith('.node')), `no ${host}*.node in the tarball`);
  for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/report/index.js', 'dist/report/index.d.ts', 'dist/postgres/index.js', 'dist/postgres/index.d.ts', 'dist/cli/main.js', 'binding.gyp', 'native/binding.cc', 'README.md'])
    check(files.includes(f), `${f} missing from the tarball`);
  const stray = files.filter((f) => /\.map$|\.png$|^(src|test|bench|scripts|tools)\//.test(f));
  check(stray.length === 0, `the tarball ships what it should not: ${stray.join(', ')}`);
  return `${info.filename}, ${files.length} files, ${(info.size / 1024).toFixed(0)} kB`;
});
if (!tarball) process.exit(1);

step('publint', () => {
  // on the tarball's own contents, as the registry would serve them
  const unpacked = path.join(work, 'unpacked');
  fs.mkdirSync(unpacked);
  ok(run('tar', ['-xzf', tarball, '-C', unpacked]), 'tar');
  const cli = path.join(ROOT, 'node_modules', 'publint', 'src', 'cli.js');
  const r = run(process.execPath, [cli, 'run', path.join(unpacked, 'package'), '--strict', '--level', 'suggestion', '--pack', 'false'], { cwd: ROOT });
  return ok(r, 'publint').trim().split('\n').at(-1);
});

step('are-the-types-wrong', () => {
  // ESM only on purpose (one copy of the lock registry per process; see README "ESM and CommonJS"):
  // the esm-only profile leaves out the CommonJS resolutions of Node 16 that cannot require(esm)
  const r = run(process.execPath, [path.join(ROOT, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js'), tarball, '--profile', 'esm-only', '--format', 'table-flipped'], { cwd: ROOT });
  const out = ok(r, 'attw');
  return `no problems under the esm-only profile${/CJSResolvesToESM/.test(out) ? ' (require() of this ESM package needs Node 20.19+ / 22.12+, as engines says)' : ''}`;
});

step('no compiler on PATH', () => {
  const found = ['cc', 'gcc', 'g++', 'c++', 'clang', 'clang++', 'make', 'python3', 'zig'].filter((c) => fs.existsSync(path.join(bin, c)));
  check(found.length === 0, `on PATH: ${found.join(', ')}`);
  return `PATH=${bin} (node, npm, npx, sh only)`;
});

step('npm install --ignore-scripts', () => {
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }, null, 2));
  ok(run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', tarball], inApp), 'npm install');
  const installed = path.join(app, 'node_modules', 'trade-state-engine');
  check(fs.existsSync(path.join(installed, 'dist', 'index.js')), 'not installed');
  check(!fs.existsSync(path.join(installed, 'build')), 'a build/ folder appeared: something compiled');
  return fs.readdirSync(path.join(installed, 'prebuilds')).join(', ');
});

/** Bytes of the files under `dir` (their sizes, as `du --apparent-size` without the folders). */
function bytesUnder(dir) {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += bytesUnder(p);
    else if (e.isFile()) total += fs.statSync(p).size;
  }
  return total;
}

step(`footprint: at most ${FOOTPRINT.packages} packages and ${FOOTPRINT.bytes / 1e6} MB`, () => {
  // every package under node_modules, trade-state-engine itself included (what npm counts as "added")
  const listed = ok(run('npm', ['ls', '--all', '--parseable'], inApp), 'npm ls').trim().split('\n');
  const packages = listed.filter((p) => p !== app).map((p) => path.relative(path.join(app, 'node_modules'), p).replaceAll('\\', '/'));
  const bytes = bytesUnder(path.join(app, 'node_modules'));
  const summary = `${packages.length} packages (${packages.join(', ')}), ${(bytes / 1e6).toFixed(2)} MB`;
  check(packages.length <= FOOTPRINT.packages, `too many packages: ${summary}`);
  check(bytes <= FOOTPRINT.bytes, `too many bytes: ${summary}`);
  const renderers = RENDERERS.filter((r) => packages.includes(r));
  check(renderers.length === 0, `the report's renderers were installed: ${renderers.join(', ')}`);
  check(!packages.includes('prom-client'), 'prom-client, an optional peer of trade-state-engine/prometheus, was installed');
  return summary;
});

const LOG = path.join(app, 'trades', 'trade_log.json');
step('ESM: import and write a trade', () => {
  fs.writeFileSync(path.join(app, 'esm.mjs'), `
import { TradeStore } from 'trade-state-engine';
const store = new TradeStore({ tradeLog: 'trades/trade_log.json', startingCapital: 5000 });
const t = await store.openTrade({ symbol: 'BTC', direction: 'LONG', entry_price: 65000, stop_price: 63500, target_price: 68000, size: 0.02, client_id: 'consumer-1' });
store.close();
console.log(JSON.stringify({ id: t.id, status: t.status }));
`);
  fs.mkdirSync(path.dirname(LOG), { recursive: true });
  const out = ok(run('node', ['esm.mjs'], inApp), 'node esm.mjs').trim();
  check(out === '{"id":"T001","status":"OPEN"}', `unexpected: ${out}`);
  const onDisk = JSON.parse(fs.readFileSync(LOG, 'utf8'));
  check(onDisk.trades.length === 1 && onDisk.trades[0].symbol === 'BTC', 'the log does not hold the trade');
  return out;
});

step('without Plot and linkedom: the CLI works, and report fails with one clear error', () => {
  // a renderer reachable from a folder above the consumer would make this step prove nothing
  const visible = RENDERERS.filter((r) => {
    try {
      return Boolean(createRequire(path.join(app, 'x.js')).resolve(r));
    } catch {
      return false;
    }
  });
  check(visible.length === 0, `visible to the consumer from outside it: ${visible.join(', ')}; move the temp folder`);
  const status = ok(run('node_modules/.bin/trade-state', ['status', '--log', LOG], inApp), 'trade-state status');
  check(status.includes('T001'), `status does not show T001:\n${status}`);
  const page = path.join(app, 'no-report.html');
  const r = run('node_modules/.bin/trade-state', ['report', '--log', LOG, '--out', page], inApp);
  check(r.status === 1, `report: exit ${r.status}, expected 1\n${r.stdout}${r.stderr}`);
  check(r.stderr.startsWith('trade-state: error (EREPORTDEPS): ') && r.stderr.includes(RENDERERS_INSTALL), `report: stderr does not name ${RENDERERS_INSTALL}:\n${r.stderr}`);
  check(!/^\s+at /m.test(r.stderr), `report printed a stack trace:\n${r.stderr}`);
  check(!fs.existsSync(page), 'report wrote a page');
  // the subpath imports (its shaping needs no renderer); the page is what is refused
  fs.writeFileSync(path.join(app, 'report-missing.mjs'), `
import { buildReport, shapeReportData } from 'trade-state-engine/report';
try { await buildReport({ tradeLog: 'trades/trade_log.json' }); console.log('no error'); } catch (err) { console.log(typeof shapeReportData, err.code, err.message); }
`);
  const out = ok(run('node', ['report-missing.mjs'], inApp), 'node report-missing.mjs').trim();
  check(out.startsWith('function EREPORTDEPS ') && out.includes(RENDERERS_INSTALL), `unexpected: ${out}`);
  return `status ok; report exit 1: ${r.stderr.trim().slice(0, 70)}…`;
});

step('trade-state-engine/prometheus without prom-client: one clear error', () => {
  let visible = null;
  try {
    visible = createRequire(path.join(app, 'x.js')).resolve('prom-client');
  } catch {
    // not resolvable from the consumer: as on a bot's machine without it
  }
  check(visible === null, `a prom-client outside the consumer is visible to it (${visible}); move the temp folder`);
  fs.writeFileSync(path.join(app, 'prom-missing.mjs'), `
import { collectMetrics } from 'trade-state-engine/prometheus';
try { collectMetrics(); console.log('no error'); } catch (err) { console.log(err.code + ' ' + err.message); }
`);
  const out = ok(run('node', ['prom-missing.mjs'], inApp), 'node prom-missing.mjs').trim();
  check(out.startsWith('EPROMMISSING ') && out.includes('npm install prom-client@15'), `unexpected: ${out}`);
  return out.slice(0, 60);
});

step('trade-state-engine/postgres without pg: one clear error', () => {
  // pg is an optional peer dependency: a file-only bot never installs it, and importing the subpath
  // must cost nothing; the first call that needs the database names the fix.
  // A pg reachable from a folder above the consumer (a node_modules in a parent of the temp folder)
  // would make this step prove nothing: refuse to run it then.
  let visible = null;
  try {
    visible = createRequire(path.join(app, 'x.js')).resolve('pg');
  } catch {
    // not resolvable from the consumer: as on a bot's machine without pg
  }
  check(visible === null, `a pg outside the consumer is visible to it (${visible}); remove it or move the temp folder`);
  fs.writeFileSync(path.join(app, 'pg-missing.mjs'), `
import { PostgresTradeStore } from 'trade-state-engine/postgres';
const store = new PostgresTradeStore({ connectionString: 'postgres://u:p@127.0.0.1:1/db', account: 'main' });
try { await store.getOpenTrades(); console.log('no error'); } catch (err) { console.log(err.code + ' ' + err.message); }
`);
  const out = ok(run('node', ['pg-missing.mjs'], inApp), 'node pg-missing.mjs').trim();
  check(out.startsWith('EPGMISSING ') && out.includes('npm install pg'), `unexpected: ${out}`);
  return out.slice(0, 60);
});

step('trade-state-engine/postgres with pg installed beside it', () => {
  ok(run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', `pg@${repoPkg.devDependencies.pg}`], inApp), 'npm install pg');
  // Port 1 refuses at once: the error says the server is unreachable and that nothing was written.
  const out = ok(run('node', ['pg-missing.mjs'], inApp), 'node pg-missing.mjs (pg installed)').trim();
  check(out.startsWith('EDBUNAVAILABLE '), `unexpected: ${out}`);
  return out.slice(0, 60);
});

step('CJS: require()', () => {
  fs.writeFileSync(path.join(app, 'cjs.cjs'), `
const { TradeStore, TradeStateError } = require('trade-state-engine');
const store = new TradeStore({ tradeLog: 'trades/trade_log.json' });
store.getOpenTrades().then((open) => {
  store.close();
  console.log(typeof TradeStateError, open.map((t) => t.id).join(','));
});
`);
  const out = ok(run('node', ['cjs.cjs'], inApp), 'node cjs.cjs').trim();
  check(out.endsWith('function T001'), `unexpected: ${out}`);
  return out.split('\n').at(-1);
});

step('TypeScript: nodenext and bundler (without the renderers: no public type needs them)', () => {
  const dev = repoPkg.devDependencies;
  ok(run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', `typescript@${dev.typescript}`, `@types/node@${dev['@types/node']}`], inApp), 'npm install typescript');
  fs.writeFileSync(path.join(app, 'consumer.ts'), `
import { TradeStore, RiskRejectedError, StateReconciler, type Trade, type TradeStoreOptions } from 'trade-state-engine';
import type { BuildReportOptions } from 'trade-state-engine/report';
import { PostgresTradeStore, DatabaseError, type PostgresTradeStoreOptions } from 'trade-state-engine/postgres';
const pgOptions: PostgresTradeStoreOptions = { connectionString: 'postgres://localhost/trading', account: 'main', maxPositions: 3 };
export const pgStore = new PostgresTradeStore(pgOptions);
export const isDbError = (e: unknown): boolean => e instanceof DatabaseError && e.code === 'EDBUNAVAILABLE';
const options: TradeStoreOptions = { tradeLog: 'trades/trade_log.json', maxPositions: 3 };
const store = new TradeStore(options);
export async function firstOpen(): Promise<Trade | undefined> {
  try {
    return (await store.getOpenTrades())[0];
  } catch (err) {
    if (err instanceof RiskRejectedError) console.log(err.code);
    throw err;
  }
}
export const rec = new StateReconciler({ tradeLog: 'trades/trade_log.json', outputDir: 'state' });
export async function page(): Promise<string> {
  const { buildReport } = await import('trade-state-engine/report');
  const options: BuildReportOptions = { tradeLog: 'trades/trade_log.json', startingCapital: 5000 };
  return (await buildReport(options)).html;
}
`);
  fs.writeFileSync(path.join(app, 'consumer-cjs.cts'), `
import tse = require('trade-state-engine');
export const store: tse.TradeStore = new tse.TradeStore({ tradeLog: 'trades/trade_log.json' });
`);
  const base = { strict: true, noEmit: true, target: 'ES2022', types: ['node'], skipLibCheck: false };
  const configs = {
    'tsconfig.nodenext.json': { compilerOptions: { ...base, module: 'nodenext', moduleResolution: 'nodenext' }, files: ['consumer.ts', 'consumer-cjs.cts'] },
    'tsconfig.bundler.json': { compilerOptions: { ...base, module: 'esnext', moduleResolution: 'bundler' }, files: ['consumer.ts'] },
  };
  for (const [file, config] of Object.entries(configs)) {
    fs.writeFileSync(path.join(app, file), JSON.stringify(config, null, 2));
    ok(run('node', ['node_modules/typescript/bin/tsc', '-p', file], inApp), `tsc -p ${file}`);
  }
  return Object.keys(configs).join(', ');
});

step('the renderers installed beside it, as the error says', () => {
  ok(run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', ...RENDERERS_INSTALL.split(' ').slice(2)], inApp), RENDERERS_INSTALL);
  const peers = RENDERERS.map((r) => `${r}@${JSON.parse(fs.readFileSync(path.join(app, 'node_modules', r, 'package.json'), 'utf8')).version}`);
  return peers.join(', ');
});

step('ESM: trade-state-engine/report builds a report of that log', () => {
  // the subpath export: a bot that wants the page imports it, one that only trades never loads the charts
  fs.writeFileSync(path.join(app, 'report.mjs'), `
import { buildReport } from 'trade-state-engine/report';
const r = await buildReport({ tradeLog: 'trades/trade_log.json', out: 'report.html', startingCapital: 5000 });
console.log(JSON.stringify({ bytes: r.bytes }));
`);
  const { bytes } = JSON.parse(ok(run('node', ['report.mjs'], inApp), 'node report.mjs').trim());
  const html = fs.readFileSync(path.join(app, 'report.html'), 'utf8');
  check(bytes === Buffer.byteLength(html, 'utf8'), `report.html is not the page buildReport returned (${bytes} bytes reported)`);
  check(html.includes('T001') && html.includes('<svg'), 'the report does not show the open trade T001 in its charts and tables');
  return `${(bytes / 1024).toFixed(0)} KiB, T001 shown`;
});

step('bin: trade-state and trade-state-engine', () => {
  const status = ok(run('npx', ['--no-install', 'trade-state-engine', 'status', '--log', LOG], inApp), 'npx trade-state-engine status');
  check(status.includes('T001') && status.includes('BTC'), `status does not show T001:\n${status}`);
  ok(run('node_modules/.bin/trade-state', ['verify', '--log', LOG], inApp), 'trade-state verify');
  return 'status shows T001; verify ok';
});

step('no usable binary: the error names the platform and the fixes', () => {
  fs.rmSync(path.join(app, 'node_modules', 'trade-state-engine', 'prebuilds'), { recursive: true });
  const wanted = `${process.platform}-${process.arch}`;
  for (const [what, args] of [['import', ['esm.mjs']], ['bin', ['node_modules/.bin/trade-state-engine', 'status', '--log', LOG]]]) {
    const r = run('node', args, inApp);
    check(r.status === 1, `${what}: exit ${r.status}, expected 1\n${r.stderr}`);
    for (const needle of [`no usable native addon for ${wanted}`, 'npm rebuild trade-state-engine', 'npm install-scripts approve trade-state-engine'])
      check(r.stderr.includes(needle), `${what}: stderr lacks "${needle}":\n${r.stderr}`);
    if (what === 'bin') check(!/^\s+at /m.test(r.stderr), `the bin printed a stack trace:\n${r.stderr}`);
  }
  return 'import and bin both explain, exit 1';
});

if (failures > 0) {
  console.log(`consumer: ${failures} step(s) failed; the folder is kept: ${work}`);
  process.exit(1);
}
fs.rmSync(work, { recursive: true, force: true });
console.log('consumer: the packed tarball installs and works without a compiler');
