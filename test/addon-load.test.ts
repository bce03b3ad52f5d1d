/**
 * How the native addon is found (src/native/addon.ts through node-gyp-build) and what a user sees
 * when it cannot be: an AddonLoadError naming the platform looked for, the binaries found and the
 * two fixes, from the library and from the CLI, never a bare MODULE_NOT_FOUND or a stack trace.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { AddonLoadError, TradeStateError } from '../src/errors.js';
import { loadAddon } from '../src/native/addon.js';
import { ROOT, tempDir } from './helpers.js';

// the binary this checkout loads: build/Release after `npm install`, prebuilds/ after `npm run build:prebuild`
const BUILT = (createRequire(import.meta.url)('node-gyp-build') as { resolve(dir: string): string }).resolve(ROOT);
const HOST = `${process.platform}-${process.arch}`;
const LIBC = process.platform !== 'linux' ? null : fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
const dirs: string[] = [];

function pkg(files: Record<string, string | Buffer> = {}): string {
  const root = tempDir('tse-addon-');
  dirs.push(root);
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'trade-state-engine' }));
  for (const [rel, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), body);
  }
  return root;
}

function loadError(root: string): AddonLoadError {
  try {
    loadAddon(root);
  } catch (err) {
    expect(err).toBeInstanceOf(AddonLoadError);
    return err as AddonLoadError;
  }
  throw new Error('loadAddon did not throw');
}

afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('loadAddon', () => {
  it('with no binary at all: EADDONLOAD naming the platform, Node, and both fixes', () => {
    const err = loadError(pkg());
    expect(err).toBeInstanceOf(TradeStateError);
    expect(err.code).toBe('EADDONLOAD');
    expect(err.wanted).toBe(LIBC ? `${HOST} (${LIBC})` : HOST);
    expect(err.found).toEqual([]);
    expect(err.message).toContain(`no usable native addon for ${err.wanted}`);
    expect(err.message).toContain(`Node ${process.versions.node}`);
    expect(err.message).toContain('no binary at all');
    expect(err.message).toContain('npm rebuild trade-state-engine');
    expect(err.message).toContain('npm install-scripts approve trade-state-engine');
    expect(err.message).not.toContain('MODULE_NOT_FOUND');
  });

  it('lists the binaries it found when none is for this platform', () => {
    const other = process.platform === 'darwin' ? 'linux-x64/trade-state-engine.glibc.node' : 'darwin-arm64/trade-state-engine.node';
    const files: Record<string, string> = { [`prebuilds/${other}`]: 'not for us' };
    if (LIBC) files[`prebuilds/${HOST}/trade-state-engine.${LIBC === 'glibc' ? 'musl' : 'glibc'}.node`] = 'the other libc';
    const err = loadError(pkg(files));
    expect(err.found).toEqual(Object.keys(files).map((f) => path.normalize(f)).sort());
    for (const f of err.found) expect(err.message).toContain(f);
    expect(err.message).toContain('No native build was found');
  });

  it('a binary that exists but does not load (damaged, wrong format) is the same clear error', () => {
    const rel = `prebuilds/${HOST}/trade-state-engine${LIBC ? `.${LIBC}` : ''}.node`;
    const err = loadError(pkg({ [rel]: 'this is not a shared object' }));
    expect(err.found).toEqual([path.normalize(rel)]);
    expect(err.message).toContain('npm rebuild trade-state-engine');
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('loads a prebuilt binary for this platform from prebuilds/ when there is no build/', () => {
    const rel = `prebuilds/${HOST}/trade-state-engine${LIBC ? `.${LIBC}` : ''}.node`;
    const addon = loadAddon(pkg({ [rel]: fs.readFileSync(BUILT) }));
    expect(typeof addon.flock).toBe('function');
    expect(typeof addon.waitLock).toBe('function');
    expect(addon.LOCK_EX).toBeGreaterThan(0);
  });

  it('a local build/ wins over prebuilds/ (development, npm rebuild)', () => {
    const broken = `prebuilds/${HOST}/trade-state-engine${LIBC ? `.${LIBC}` : ''}.node`;
    const addon = loadAddon(pkg({ 'build/Release/tse_flock.node': fs.readFileSync(BUILT), [broken]: 'broken' }));
    expect(typeof addon.lockChecked).toBe('function');
  });
});

describe('without a usable binary, as an installed package', () => {
  // dist/ (built by `npm test`) copied beside a package.json, with no build/ and no prebuilds/
  function bareInstall(): string {
    const root = pkg();
    fs.cpSync(path.join(ROOT, 'dist'), path.join(root, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(root, 'package.json'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
    return root;
  }

  it('import rejects with EADDONLOAD, not MODULE_NOT_FOUND', () => {
    const root = bareInstall();
    const script = `import(${JSON.stringify(path.join(root, 'dist', 'index.js'))}).then(() => console.log('loaded'), (e) => console.log(e.code, e.wanted))`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe(`EADDONLOAD ${LIBC ? `${HOST} (${LIBC})` : HOST}`);
  });

  it('the CLI prints the explanation and exits 1, with no stack trace', () => {
    const root = bareInstall();
    // An existing log: the CLI checks that the log exists before it loads the store (and the addon).
    fs.writeFileSync(path.join(root, 'log.json'), '{"trades": [], "next_id": 1}\n');
    const r = spawnSync(process.execPath, [path.join(root, 'dist', 'cli', 'main.js'), 'status', '--log', path.join(root, 'log.json')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`no usable native addon for ${HOST}`);
    expect(r.stderr).toContain('npm rebuild trade-state-engine');
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
