/**
 * Import rules of ARCHITECTURE.md, checked by scanning the sources (no module is loaded):
 * - `hw/<model>/` imports only core, `nn/workload.ts`, the runtime `nn/runtime/` (not its tfjs fast
 *   path), `hw/energy.ts` and its own folder: never another hardware model, a study, tfjs, data,
 *   experiments, report or cli; nothing it reaches (transitively) loads tfjs.
 * - `hw/`, `winograd/`, `compress/` and `sparsity/` import no `node:` module (nor a Node built-in by its
 *   bare name), directly or through the modules they import, the tfjs engine set-up aside (winograd's
 *   trained.ts and model.ts, which load checkpoints and data sets, only directly).
 */
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The repository root: test files run from dist/test/…, sources live in src/. */
function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
}
const ROOT = repoRoot();
const SRC = join(ROOT, 'src');

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : n.endsWith('.ts') ? [p] : [];
  });
}

/**
 * Module specifiers of static imports/re-exports and dynamic import('…') of a source file.
 * `import type`/`export type` are erased by the compiler and do not count.
 */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|[\s;])(?:import|export)\s+(?!type\s)[^'"]*?from\s*['"]([^'"]+)['"]/g)) out.push(m[1]);
  for (const m of text.matchAll(/(?:^|[\s;])import\s*['"]([^'"]+)['"]/g)) out.push(m[1]);
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]);
  return out;
}

/** src-relative path ('hw/cim/macro.ts') of a relative specifier, or null for a package. */
function target(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  return relative(SRC, resolve(dirname(from), spec)).replace(/\.js$/, '.ts');
}

const isNodeBuiltin = (s: string): boolean => s.startsWith('node:') || builtinModules.includes(s.split('/')[0]);

/**
 * The scan stops at the tfjs engine set-up and its kernels (Node-only: native addon, thread count), which the study
 * code running on tfjs needs; TFJS_SIDE files also load checkpoints and data sets: only their own
 * imports are checked.
 */
const ENGINE = 'core/engine.ts';
const TFJS_SIDE = new Set(['winograd/trained.ts', 'winograd/model.ts']);

test('hw/, winograd/, compress/ and sparsity/ reach no node: module, directly or through what they import', () => {
  const seen = new Set<string>();
  const bad: string[] = [];
  const visit = (rel: string, via: string): void => {
    if (seen.has(rel) || rel === ENGINE || rel.startsWith('core/kernels/') || TFJS_SIDE.has(rel)) return;
    seen.add(rel);
    const file = join(SRC, rel);
    if (!existsSync(file)) return;
    for (const s of specifiers(file)) {
      if (isNodeBuiltin(s)) bad.push(`${rel}${rel === via ? '' : ` (reached from ${via})`} imports ${s}`);
      const t = target(file, s);
      if (t !== null) visit(t, via);
    }
  };
  for (const dir of ['hw', 'winograd', 'compress', 'sparsity'])
    for (const f of tsFiles(join(SRC, dir))) {
      const rel = relative(SRC, f);
      if (TFJS_SIDE.has(rel)) for (const s of specifiers(f)) if (isNodeBuiltin(s)) bad.push(`${rel} imports ${s}`);
      visit(rel, rel);
    }
  assert.ok(seen.has('core/config.ts'), 'the scan follows imports into core');
  assert.deepEqual(bad, []);
});

/** Where a hardware model may import from (src-relative), besides its own folder. */
function allowedForHw(t: string): boolean {
  if (t === 'hw/energy.ts' || t === 'nn/workload.ts') return true;
  if (t.startsWith('nn/runtime/')) return t !== 'nn/runtime/matmul-tf.ts';
  return t.startsWith('core/');
}

test('hardware models import only core, the workload types/runtime, hw/energy and their own folder', () => {
  const bad: string[] = [];
  const hw = join(SRC, 'hw');
  const models = existsSync(hw) ? readdirSync(hw).filter((n) => statSync(join(hw, n)).isDirectory()) : [];
  assert.ok(models.includes('cim'), 'the scan sees src/hw/cim');
  for (const model of models)
    for (const f of tsFiles(join(hw, model)))
      for (const s of specifiers(f)) {
        const t = target(f, s);
        if (t === null) {
          if (s.startsWith('@tensorflow/')) bad.push(`${relative(SRC, f)} imports ${s}`);
          continue;
        }
        if (!t.startsWith(`hw/${model}/`) && !allowedForHw(t)) bad.push(`${relative(SRC, f)} imports ${t}`);
      }
  assert.deepEqual(bad, []);
});

test('nothing reachable from hw/ or the runtime index loads tfjs', () => {
  const seen = new Set<string>();
  const bad: string[] = [];
  const visit = (rel: string, via: string): void => {
    if (seen.has(rel)) return;
    seen.add(rel);
    const file = join(SRC, rel);
    if (!existsSync(file)) return;
    for (const s of specifiers(file)) {
      if (s.startsWith('@tensorflow/')) bad.push(`${rel} (reached from ${via}) imports ${s}`);
      const t = target(file, s);
      if (t !== null) visit(t, via);
    }
  };
  for (const f of [...tsFiles(join(SRC, 'hw')), join(SRC, 'nn/runtime/index.ts')]) visit(relative(SRC, f), relative(SRC, f));
  assert.ok(seen.has('nn/runtime/quantize.ts'));
  assert.deepEqual(bad, []);
});

test('the scanner sees real violations', () => {
  const tmp = join(SRC, 'hw', 'cim', 'macro.ts');
  const specs = specifiers(tmp);
  assert.ok(specs.includes('../../core/rng.js'), 'static imports are found');
  assert.ok(!specifiers(join(SRC, 'nn', 'workload.ts')).includes('../core/engine.js'), 'type-only imports are skipped');
  assert.equal(target(tmp, '../systolic/array.js'), 'hw/systolic/array.ts');
  assert.equal(allowedForHw('hw/systolic/array.ts'), false);
  assert.equal(allowedForHw('nn/runtime/matmul-tf.ts'), false);
  assert.equal(allowedForHw('fl/client.ts'), false);
  assert.ok(isNodeBuiltin('node:fs') && isNodeBuiltin('fs/promises') && !isNodeBuiltin('zod'));
});
