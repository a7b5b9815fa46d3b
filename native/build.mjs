#!/usr/bin/env node
// Builds the optional native BLAS addon (native/build/Release/accelab_blas.node) with node-gyp
// against the system OpenBLAS (found by pkg-config) and the Node headers installed with Node.
// Run by `npm install` (the package's install script) and by `npm run build:native`.
// It never fails the install: when something is missing it says what and exits 0, and accelab
// then runs on the wasm kernels. Nothing is downloaded.
// ACCELAB_NATIVE_BUILD=0 skips the build; ACCELAB_NATIVE_BUILD=require makes a failure exit 1.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const mode = process.env.ACCELAB_NATIVE_BUILD ?? '1';
const addon = join(here, 'build', 'Release', 'accelab_blas.node');

function done(ok, msg) {
  process.stderr.write(`accelab native BLAS: ${msg}\n`);
  if (!ok) {
    // A stale binary from an earlier build must not be picked up.
    rmSync(join(here, 'build'), { recursive: true, force: true });
    if (mode === 'require') process.exit(1);
  }
  process.exit(0);
}

if (mode === '0') done(true, 'build skipped (ACCELAB_NATIVE_BUILD=0); the wasm kernels are used');
const off = '; the wasm kernels are used';

const pc = spawnSync('pkg-config', ['--exists', 'openblas'], { stdio: 'ignore' });
if (pc.error || pc.status !== 0) done(false, `not built: OpenBLAS not found by pkg-config (apt-get install libopenblas-dev pkg-config)${off}`);

const prefix = dirname(dirname(process.execPath));
const nodedir = process.env.npm_config_nodedir || prefix;
if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) {
  done(false, `not built: no Node headers in ${join(nodedir, 'include', 'node')} (they ship with Debian/NodeSource Node; set npm_config_nodedir)${off}`);
}

const gypCandidates = [
  process.env.npm_config_node_gyp,
  join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter(Boolean);
const gyp = gypCandidates.find((p) => existsSync(p));
if (!gyp) done(false, `not built: node-gyp not found (it ships with npm)${off}`);

const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`], { cwd: here, encoding: 'utf8', env: { ...process.env } });
if (r.status !== 0 || !existsSync(addon)) {
  const tail = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
  process.stderr.write(`${tail}\n`);
  done(false, `not built: node-gyp failed (a C++ compiler is needed: apt-get install build-essential)${off}`);
}

// The addon must also load (the OpenBLAS shared library is resolved at load time).
const probe = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(addon)}); const i = a.info(); console.log(i.coreType + ' ' + i.library)`], {
  encoding: 'utf8',
});
if (probe.status !== 0) done(false, `built but does not load: ${(probe.stderr || '').trim().split('\n')[0]}${off}`);
done(true, `built (${probe.stdout.trim()})`);
