/**
 * Bad input, table-driven: every command with bad flags, values, paths and files. Each case must end
 * with exit code 2 (bad input), exactly one line on stderr starting with `error: `, no stack trace,
 * nothing on stdout, no file left in its working folder, and no change to the shared fixtures (an
 * existing run folder, a file, …). Most cases fail while parsing or checking, before any work, so the
 * whole table runs in well under a minute; each case has a time limit, so a hang fails instead of
 * stalling CI.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import type { Command } from 'commander';

const MAIN = resolve('dist/src/cli/main.js');
const CASE_TIMEOUT_MS = 60_000;
const CONCURRENCY = 2;

const root = mkdtempSync(join(tmpdir(), 'accelab-bad-input-'));
/** Read-only fixtures shared by the cases; their bytes are checked before and after. */
const fx = {
  dir: join(root, 'fixtures'),
  file: '',
  run: '',
  emptyDir: '',
  garbageRun: '',
  kindlessRun: '',
  trained: '',
  garbageConfig: '',
  listConfig: '',
  badFieldConfig: '',
  badSpeed: '',
  yamlConfig: '',
  garbageCkpt: '',
  snRun: '',
  garbageSnRun: '',
};
/** A TCP port on which nothing listens (for Redis URLs). */
let deadPort = 1;

function snapshot(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) {
        m.set(`${relative(fx.dir, p)}/`, 'dir');
        walk(p);
      } else m.set(relative(fx.dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return m;
}

function cli(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((res) => {
    const childEnv: Record<string, string | undefined> = { ...process.env, ACCELAB_BACKEND: 'wasm', ...env };
    delete childEnv.ACCELAB_DEBUG;
    const child = spawn(process.execPath, [MAIN, ...args], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, CASE_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr, timedOut });
    });
  });
}

interface Case {
  /** Command path and arguments; `@name` is replaced by a fixture path, `@port` by a dead port. */
  args: string[];
  /** Expected exit code (default 2). */
  code?: number;
  /** stderr must match. */
  match?: RegExp;
  env?: Record<string, string>;
}

const expand = (a: string): string =>
  a.replace(/@(\w+)/g, (_, k: string) => {
    if (k === 'port') return String(deadPort);
    const v = (fx as Record<string, string>)[k];
    if (v === undefined) throw new Error(`unknown fixture @${k}`);
    return v;
  });

// ------------------------------------------------------------------ the table

const OUT_COMMANDS = [
  'train',
  'eval @run',
  'tour',
  'fl run',
  'fl compare',
  'fl consistency',
  'winograd table',
  'winograd error',
  'winograd run',
  'winograd train-filters',
  'cim characterize',
  'cim infer',
  'cim cost',
];
const SEED_COMMANDS = ['train', 'tour', 'fl run', 'winograd error', 'winograd run', 'winograd train-filters', 'cim characterize', 'cim infer', 'data info synthetic-gray'];
const BACKEND_COMMANDS = ['doctor', 'train', 'eval @run', 'tour', 'fl run', 'fl compare', 'fl consistency', 'fl worker', 'winograd train-filters', 'cim infer'];
const DATA_DIR_COMMANDS = ['train', 'eval @run', 'tour', 'winograd train-filters', 'cim infer', 'data list', 'data info fashion-mnist'];
const CONFIG_COMMANDS = [
  'train',
  'fl run',
  'fl compare',
  'fl consistency',
  'winograd table',
  'winograd error',
  'winograd run',
  'winograd train-filters',
  'cim characterize',
  'cim infer',
  'cim cost',
];
const LIMIT_COMMANDS = ['train', 'tour', 'fl run', 'fl compare', 'fl consistency', 'winograd train-filters', 'data info synthetic-gray'];
const DATASET_COMMANDS = ['train', 'eval @run', 'fl run', 'fl compare', 'fl consistency', 'winograd train-filters'];
const MODEL_COMMANDS = ['train', 'fl run', 'fl compare', 'cim infer'];
const CHECKPOINT_COMMANDS = ['winograd error', 'winograd run', 'cim infer'];
const ALL_COMMANDS = [
  'doctor',
  'data list',
  'data fetch mnist',
  'data info synthetic-gray',
  'train',
  'eval @run',
  'report @run',
  'tour',
  'fl run',
  'fl compare',
  'fl consistency',
  'fl worker',
  'fl clean',
  'winograd table',
  'winograd error',
  'winograd transforms',
  'winograd run',
  'winograd train-filters',
  'cim characterize',
  'cim infer',
  'cim cost',
  'systolic run',
  'systolic sweep',
  'sparsenn train',
  'sparsenn simulate',
  'compress pack',
  'compress run',
  'compress prune',
  'rram run',
  'rram sweep',
];

const split = (s: string): string[] => s.split(' ');
const cases: Case[] = [];
const add = (cmd: string, extra: string[], o: Omit<Case, 'args'> = {}): void => {
  cases.push({ args: [...split(cmd), ...extra], ...o });
};

/** Each command gets `n` of the bad values, rotating, so every value is tried on several commands. */
function rotate(commands: string[], values: string[][], n: number, o: Omit<Case, 'args'>): void {
  commands.forEach((c, i) => {
    for (let j = 0; j < Math.min(n, values.length); j++) add(c, values[(i + j) % values.length], o);
  });
}

// Generated: every command gets the kinds of shared bad input that apply to it, rotating through the
// bad values so that each value is tried on several commands (each case costs one CLI start).
for (const c of ALL_COMMANDS) add(c, ['--no-such-flag'], { match: /unknown option/ });
const OUT_BAD: [string, RegExp][] = [
  ['@file', /--out .*(file|not a folder)/],
  ['/proc/accelab-bad-input/x', /--out \/proc/],
  ['@run', /--out .*already holds files.*--overwrite/],
];
OUT_COMMANDS.forEach((c, i) => {
  for (const j of [0, 1]) add(c, ['--out', OUT_BAD[(i + j) % 3][0]], { match: OUT_BAD[(i + j) % 3][1] });
});
rotate(
  SEED_COMMANDS.slice(0, 6),
  [
    ['--seed', '-1'],
    ['--seed', '1.5'],
    ['--seed', 'abc'],
  ],
  1,
  { match: /--seed/ },
);
rotate(
  BACKEND_COMMANDS.filter((_, i) => i % 2 === 0),
  [['--backend', 'cuda']],
  1,
  { match: /--backend/ },
);
for (const c of DATA_DIR_COMMANDS.slice(2, 6)) add(c, ['--data-dir', '/nonexistent/accelab'], { match: /--data-dir .*does not exist/ });
rotate(DATA_DIR_COMMANDS.slice(0, 2), [['--data-dir', '@file']], 1, { match: /--data-dir .*(file|not a folder)/ });
const CONFIG_BAD: [string, RegExp][] = [
  ['@emptyDir', /config file .* is a folder/],
  ['/nonexistent/accelab.json', /config file .* does not exist/],
  ['@garbageConfig', /not valid JSON/],
  ['@listConfig', /must hold an object/],
  ['@badFieldConfig', /field '/],
];
CONFIG_COMMANDS.forEach((c, i) => {
  add(c, ['--config', CONFIG_BAD[i % 5][0]], { match: CONFIG_BAD[i % 5][1] });
});
for (const c of CONFIG_COMMANDS.filter((_, i) => i % 5 !== 4 && i % 2 === 1)) add(c, ['--config', '@badFieldConfig'], { match: /field '/ });
rotate(
  LIMIT_COMMANDS,
  [
    ['--train-limit', '0'],
    ['--train-limit', '-5'],
    ['--train-limit', '2.5'],
    ['--train-limit', 'ten'],
    ['--train-limit', ''],
    ['--test-limit', '0'],
  ],
  1,
  { match: /--t(rain|est)-limit/ },
);
for (const c of DATASET_COMMANDS.filter((_, i) => i % 2 === 0)) add(c, ['--dataset', 'imagenet'], { match: /--dataset/ });
for (const c of MODEL_COMMANDS.filter((_, i) => i % 2 === 1)) add(c, ['--model', 'resnet99'], { match: /--model/ });
const CHECKPOINT_BAD: [string, RegExp][] = [
  ['/nonexistent/run', /--checkpoint .*does not exist/],
  ['@file', /--checkpoint .*is a file/],
  ['@emptyDir', /--checkpoint .*holds no checkpoint/],
];
CHECKPOINT_COMMANDS.forEach((c, i) => {
  add(c, ['--checkpoint', CHECKPOINT_BAD[i][0]], { match: CHECKPOINT_BAD[i][1] });
});

// The systolic, sparsenn, compress and rram commands: every kind of shared bad input, rotating over
// the commands, each command given what it needs to get as far as the bad value (a network, a checkpoint).
const STUDY_OUT = [
  'systolic run --model lenet5',
  'systolic sweep --model lenet5',
  'sparsenn train',
  'sparsenn simulate --checkpoint @snRun',
  'compress pack',
  'compress run',
  'rram run --checkpoint @trained',
  'rram sweep --checkpoint @trained',
];
STUDY_OUT.forEach((c, i) => {
  for (const j of [0, 1]) add(c, ['--out', OUT_BAD[(i + j) % 3][0]], { match: OUT_BAD[(i + j) % 3][1] });
});
rotate(
  ['systolic sweep --model lenet5', 'sparsenn train', 'compress pack', 'compress run', 'rram run --checkpoint @trained', 'rram sweep --checkpoint @trained'],
  [
    ['--seed', '-1'],
    ['--seed', '1.5'],
    ['--seed', 'abc'],
  ],
  1,
  { match: /--seed/ },
);
for (const c of ['sparsenn simulate', 'compress run']) add(c, ['--backend', 'cuda'], { match: /--backend/ });
rotate(
  ['sparsenn train', 'sparsenn simulate --checkpoint @snRun', 'rram run --checkpoint @trained', 'rram sweep --checkpoint @trained'],
  [
    ['--data-dir', '/nonexistent/accelab'],
    ['--data-dir', '@file'],
  ],
  1,
  { match: /--data-dir .*(does not exist|file|not a folder)/ },
);
// (systolic's --config also takes a SCALE-Sim .cfg: a folder or another file is read as one)
STUDY_OUT.forEach((c, i) => {
  const [cfg, match] = c.startsWith('systolic') || i % 5 !== 0 ? CONFIG_BAD[1 + (i % 4)] : CONFIG_BAD[0];
  add(c, ['--config', cfg], { match });
});
add('systolic run --model lenet5', ['--config', '@file'], { match: /is neither a \[section\] nor a 'key: value' line/ });
add('systolic sweep --model lenet5', ['--config', '@emptyDir'], { match: /--config: cannot read/ });
const STUDY_CHECKPOINT = ['systolic run', 'systolic sweep', 'compress pack', 'compress run', 'rram run', 'rram sweep'];
const CHECKPOINT_BAD_ALL: [string, RegExp][] = [...CHECKPOINT_BAD, ['@garbageCkpt', /model\.json: not valid JSON/]];
STUDY_CHECKPOINT.forEach((c, i) => {
  add(c, ['--checkpoint', CHECKPOINT_BAD_ALL[i % 4][0]], { match: CHECKPOINT_BAD_ALL[i % 4][1] });
});
add('systolic sweep', ['--model', 'resnet99'], { match: /--model/ });
add('rram sweep --checkpoint @trained', ['--dataset', 'imagenet'], { match: /--dataset/ });
const studyCase = (cmd: string, args: string[], match: RegExp): Case => ({ args: [...split(cmd), ...args], match });
const numberCases: [string, string, string][] = [
  // [command, flag, bad value]: out of range, not whole, not a number, not a known choice, a bad list
  ['systolic run --model lenet5', '--node', '1'],
  ['systolic run --model lenet5', '--input-shape', '28x28'],
  ['systolic run --model lenet5', '--mode', 'fast'],
  ['systolic sweep --model lenet5', '--arrays', '8x0'],
  ['systolic sweep --model lenet5', '--dataflows', 'os,xx'],
  ['systolic sweep --model lenet5', '--sram-kb', '0'],
  ['systolic sweep --model lenet5', '--workers', '65'],
  ['sparsenn train', '--model', 'resnet20'],
  ['sparsenn train', '--pretrain-epochs', '0'],
  ['sparsenn train', '--epochs', 'two'],
  ['sparsenn train', '--method', 'none'],
  ['sparsenn train', '--overhead-budget', '2'],
  ['sparsenn train', '--rank', '1.5'],
  ['sparsenn train', '--ranks', 'fc1:3'],
  ['sparsenn train', '--predictor-bias', 'nope'],
  ['sparsenn train', '--l1', '-1'],
  ['sparsenn train', '--rank-sweep', '0,1'],
  ['sparsenn train', '--train-limit', '50'],
  ['sparsenn train', '--test-limit', '5'],
  ['sparsenn simulate --checkpoint @snRun', '--pes', '5000'],
  ['sparsenn simulate --checkpoint @snRun', '--test-limit', '0'],
  ['sparsenn simulate --checkpoint @snRun', '--schedule', 'nope'],
  ['sparsenn simulate --checkpoint @snRun', '--v-mapping', 'nope'],
  ['sparsenn simulate --checkpoint @snRun', '--noc-words-per-cycle', '0'],
  ['sparsenn simulate --checkpoint @snRun', '--fifo-depth', '1.5'],
  ['sparsenn simulate --checkpoint @snRun', '--row-placement', 'random'],
  ['sparsenn simulate --checkpoint @snRun', '--pe-sweep', '16,x'],
  ['sparsenn simulate --checkpoint @snRun', '--baseline-network', 'dense'],
  ['compress pack', '--synthetic', '0x4'],
  ['compress pack --synthetic 64x64', '--sparsity', '1.5'],
  ['compress pack', '--network', 'resnet'],
  ['compress pack', '--array', '32'],
  ['compress pack', '--group-size', '2000'],
  ['compress run', '--subword-fraction', 'x'],
  ['compress run', '--search', 'random'],
  ['compress run', '--workers', '0'],
  ['rram run --checkpoint @trained', '--termination', 'sometimes'],
  ['rram run --checkpoint @trained', '--budget', '101'],
  ['rram run --checkpoint @trained', '--test-limit', '1.5'],
  ['rram run --checkpoint @trained', '--held-out', '5'],
  ['rram run --checkpoint @trained', '--calibration-metric', 'nope'],
  ['rram run --checkpoint @trained', '--workers', '0'],
  ['rram run --checkpoint @trained', '--rows', '1'],
  ['rram run --checkpoint @trained', '--bits-per-cell', '9'],
  ['rram run --checkpoint @trained', '--encoding', 'nope'],
  ['rram run --checkpoint @trained', '--adc-bits', '0'],
  ['rram run --checkpoint @trained', '--bound', 'nope'],
  ['rram sweep --checkpoint @trained', '--bit-order', 'nope'],
  ['rram sweep --checkpoint @trained', '--granularity', 'nope'],
  ['rram sweep --checkpoint @trained', '--group-size', '0'],
  ['rram sweep --checkpoint @trained', '--estimate', 'nope'],
  ['rram sweep --checkpoint @trained', '--column-timing', 'nope'],
  ['rram sweep --checkpoint @trained', '--pipeline', 'nope'],
  ['rram sweep --checkpoint @trained', '--conductance-spread', '3'],
  ['rram sweep --checkpoint @trained', '--stuck-at-zero', '1.5'],
  ['rram sweep --checkpoint @trained', '--adc-noise', 'x'],
  ['rram sweep --checkpoint @trained', '--read-ns', '0'],
  ['rram run --checkpoint @trained', '--held-out-from', 'validation'],
  ['rram run --checkpoint @trained', '--weight-bits', '1'],
  ['rram sweep --checkpoint @trained', '--activation-bits', '17'],
  ['rram run --checkpoint @trained', '--calibration-search', 'exhaustive'],
  ['rram sweep --checkpoint @trained', '--theta-grid', '0,x'],
  ['rram sweep --checkpoint @trained', '--budgets', '200'],
  ['rram sweep --checkpoint @trained', '--budgets', '0,,1'],
  ['systolic sweep --model lenet5', '--arrays', '8x8,'],
  ['rram sweep --checkpoint @trained', '--spreads', ''],
];
for (const [cmd, flag, value] of numberCases) cases.push(studyCase(cmd, [flag, value], new RegExp(flag)));
cases.push(
  { args: ['systolic', 'run', '--model', 'lenet5', '--topology', 'x.csv'], match: /give one of --topology, --model and --checkpoint/ },
  { args: ['systolic', 'run', '--topology', '/nonexistent/t.csv'], match: /--topology .*does not exist/ },
  { args: ['systolic', 'run', '--topology', '@file'], match: /no layers/ },
  { args: ['systolic', 'sweep'], match: /give --topology/ },
  { args: ['sparsenn', 'simulate'], match: /give --checkpoint/ },
  { args: ['sparsenn', 'simulate', '--checkpoint', '@file'], match: /--checkpoint .*is a file/ },
  { args: ['sparsenn', 'simulate', '--checkpoint', '@trained'], match: /not a sparsenn training run/ },
  { args: ['sparsenn', 'simulate', '--checkpoint', '@garbageSnRun'], match: /predictors\.json is not valid JSON/ },
  { args: ['sparsenn', 'train', '--config', '@yamlConfig'], match: /sparsenn train config .*field '/ },
  { args: ['compress', 'pack', '--synthetic', '8x8', '--network', 'alexnet'], match: /give one of --synthetic, --network and --checkpoint/ },
  { args: ['compress', 'pack', '--keep-density'], match: /--keep-density: only with --network/ },
  { args: ['compress', 'pack', '--network', 'alexnet', '--layers', 'conv9'], match: /layer 'conv9' is not one of/ },
  { args: ['rram', 'sweep'], match: /--checkpoint is required/ },
  { args: ['compress', 'prune', '--epochs', 'x'], match: /--epochs/ },
  { args: ['compress', 'prune', '--checkpoint', '/nonexistent/run'], match: /--checkpoint .*does not exist/ },
  { args: ['compress', 'pack', '--budget-objective', 'l3'], match: /--budget-objective/ },
  { args: ['compress', 'pack', '--budget-slots', '0'], match: /--budget-slots/ },
  { args: ['rram', 'run', '--checkpoint', '@trained', '--config', '@yamlConfig'], match: /rram run config .*field '/ },
  { args: ['rram', 'run', '--checkpoint', '@trained', '--termination', 'adaptive', '--theta-grid', '0.5,1'], match: /field 'thetaGrid': must start at 0/ },
  { args: ['rram', 'run', '--checkpoint', '@trained', '--termination', 'adaptive', '--held-out-from', 'test', '--held-out', '60000'], match: /--held-out or --test-limit/ },
);

// Hand-written: the cases found by hand, and more.
const more: Case[] = [
  // numbers: type, range, integer-ness
  { args: ['train', '--epochs', 'zero'], match: /--epochs/ },
  { args: ['train', '--batch', '-1'], match: /--batch/ },
  { args: ['train', '--batch-size', '0'], match: /--batch-size/ },
  { args: ['train', '--lr', '0'], match: /--lr/ },
  { args: ['train', '--lr', 'NaN'], match: /--lr/ },
  { args: ['train', '--momentum', '1.5'], match: /--momentum/ },
  { args: ['train', '--optimizer', 'rmsprop'], match: /--optimizer/ },
  { args: ['train', 'extra-argument'], match: /too many arguments|unknown command/ },
  { args: ['fl', 'run', '--optimizer', 'momentum'], match: /--optimizer/ },
  { args: ['fl', 'run', '--clients', '0'], match: /--clients/ },
  { args: ['fl', 'run', '--fraction', '1.5'], match: /--fraction/ },
  { args: ['fl', 'run', '--method', 'fedprox'], match: /--method/ },
  { args: ['fl', 'run', '--executor', 'gpu'], match: /--executor/ },
  { args: ['fl', 'run', '--workers', '0'], match: /--workers/ },
  { args: ['fl', 'run', '--method', 'pkd', '--expert-model', 'resnet99'], match: /--expert-model/ },
  { args: ['fl', 'run', '--method', 'pkd', '--rounds', '5', '--warmup-rounds', '5', '--dataset', 'fl-blobs', '--model', 'fl-mlp'], match: /warm-up rounds/ },
  { args: ['fl', 'run', '--dataset', 'fl-blobs', '--model', 'fl-mlp', '--clients', '500', '--train-limit', '100'], match: /clients cannot share/ },
  { args: ['fl', 'run', '--resume'], match: /--resume needs --out/ },
  { args: ['fl', 'run', '--resume', '--out', '@emptyDir'], match: /--resume: no checkpoint/ },
  { args: ['fl', 'run', '--dataset', 'fl-blobs', '--model', 'fl-mlp', '--executor', 'bullmq', '--redis', 'redis://127.0.0.1:@port', '--out', 'fl-out'], match: /no Redis answers/ },
  { args: ['fl', 'run', '--dataset', 'fl-blobs', '--model', 'fl-mlp', '--executor', 'bullmq', '--redis', 'http://x', '--out', 'fl-out'], match: /not a Redis URL/ },
  { args: ['fl', 'run', '--dataset', 'fl-blobs', '--model', 'fl-mlp', '--config', '@yamlConfig'], match: /fl config: field 'clients'/ },
  { args: ['fl', 'compare', '--seed', '3'], match: /unknown option '--seed'/ },
  { args: ['fl', 'compare', '--seeds', '1,x'], match: /--seeds/ },
  { args: ['fl', 'compare', '--variants', 'not json'], match: /--variants must be JSON/ },
  { args: ['fl', 'compare', '--variants', '[{"pkd":{}}]'], match: /variants must be/ },
  { args: ['fl', 'compare', '--variants', '[{"name":"a","pkd":{"lambda":-1}}]'], match: /lambda/ },
  { args: ['fl', 'consistency', '--models', 'nope'], match: /--models/ },
  { args: ['fl', 'consistency', '--model', 'cnn-small'], match: /unknown option '--model'/ },
  { args: ['fl', 'worker', '--redis', 'redis://127.0.0.1:@port'], match: /no Redis answers/ },
  { args: ['fl', 'worker'], match: /needs --redis/, env: { ACCELAB_REDIS_URL: '' } },
  { args: ['fl', 'clean', '--redis', 'redis://127.0.0.1:@port'], match: /no Redis answers/ },
  // paths and files
  { args: ['report', '@run', '--out', '@file'], match: /--out/ },
  { args: ['train', '--out', '@file/x'], match: /--out .*is a file/ },
  { args: ['cim', 'cost', '--out', '@file/x/y'], match: /--out .*is a file/ },
  { args: ['train', '--json', '--seed', '-1'], match: /--seed/ },
  { args: ['report', '@garbageRun'], match: /result\.json is not valid JSON/ },
  { args: ['report', '@kindlessRun'], match: /no accelab result/ },
  { args: ['report', '/nonexistent/run'], match: /result\.json does not exist/ },
  { args: ['report'], match: /missing required argument/ },
  { args: ['eval', '/nonexistent/run'], match: /does not exist/ },
  { args: ['eval', '@emptyDir'], match: /not a training run folder/ },
  { args: ['eval', '@trained', '--dataset', 'synthetic-rgb', '--test-limit', '20'], match: /expects 28×28×1 images/ },
  { args: ['train', '--config', '@file'], match: /config|YAML|object/ },
  { args: ['data', 'info', 'nope'], match: /not known/ },
  { args: ['data', 'info', 'synthetic-gray', '--limit', '5'], match: /unknown option '--limit'/ },
  { args: ['data', 'fetch', 'synthetic-gray'], match: /not known/ },
  { args: ['data', 'fetch', 'mnist', '--data-dir', '/proc/accelab-bad-input'], match: /--data-dir/ },
  { args: ['data', 'fetch', 'mnist', '--base-url', 'ftp:/x'], match: /--base-url/ },
  { args: ['tour', '--only', 'nope'], match: /--only/ },
  { args: ['tour', '--only', 'train,'], match: /--only/ },
  { args: ['nope'], match: /unknown command/ },
  // Winograd
  { args: ['winograd', 'table', '--kernels', '5..3'], match: /empty range/ },
  { args: ['winograd', 'table', '--kernels', '40'], match: /kernels/ },
  { args: ['winograd', 'table', '--m', '0'], match: /--m/ },
  { args: ['winograd', 'error', '--formats', 'float8'], match: /--formats/ },
  { args: ['winograd', 'error', '--kernels', '1'], match: /kernels/ },
  { args: ['winograd', 'error', '--checkpoint', '@trained'], match: /no square Conv2D kernels/ },
  { args: ['winograd', 'transforms', '--points', 'a,b'], match: /--points/ },
  { args: ['winograd', 'transforms', '--points', '0,1'], match: /interpolation points/ },
  { args: ['winograd', 'transforms', '--m', '2', '--points', '0,0,1'], match: /repeated/ },
  { args: ['winograd', 'transforms', '--nested', '9', '--r', '3'], match: /--nested/ },
  { args: ['winograd', 'run', '--speed', '/nonexistent/w.json'], match: /--speed .*does not exist/ },
  { args: ['winograd', 'run', '--speed', '@badSpeed'], match: /--speed .*not a winograd benchmark record/ },
  { args: ['winograd', 'run', '--speed', '@file'], match: /not valid JSON/ },
  { args: ['winograd', 'train-filters', '--kernel', '2'], match: /--kernel/ },
  // CIM
  { args: ['cim', 'infer', '--boost', '3'], match: /--boost/ },
  { args: ['cim', 'characterize', '--boost', 'auto'], match: /--boost/ },
  { args: ['cim', 'characterize', '--folding', 'nope'], match: /--folding/ },
  { args: ['cim', 'cost', '--node', '1'], match: /--node/ },
  { args: ['cim', 'infer', '--noise-levels', '1,x'], match: /--noise-levels/ },
  { args: ['cim', 'infer', '--test-limit', '5'], match: /--test-limit/ },
  { args: ['cim', 'infer', '--checkpoint', '@trained', '--model', 'cnn-small'], match: /does not match the checkpoint's model mlp-300-100/ },
  { args: ['cim', 'infer', '--checkpoint', '@trained', '--test-offset', '99999', '--test-limit', '50'], match: /testOffset 99999 is past the last/ },
  { args: ['cim', 'infer', '--max-boost', '3'], match: /power of two/ },
  { args: ['systolic', 'run', '--seed', 'x'], match: /--seed/ },
  { args: ['systolic', 'run'], match: /give --topology/ },
  { args: ['rram', 'run'], match: /--checkpoint is required/ },
  { args: ['rram', 'run', '--checkpoint', 'x', '--termination', 'sometimes'], match: /--termination .*'sometimes' is invalid/ },
  { args: ['rram', 'sweep', '--checkpoint', 'x', '--budgets', 'a,b'], match: /--budgets must be comma-separated/ },
];
cases.push(...more);

// ------------------------------------------------------------------ fixtures

before(async () => {
  mkdirSync(fx.dir, { recursive: true });
  fx.file = join(fx.dir, 'a-file.txt');
  writeFileSync(fx.file, 'not a folder\n');
  fx.run = join(fx.dir, 'earlier-run');
  mkdirSync(fx.run);
  writeFileSync(join(fx.run, 'config.json'), '{"seed": 1}\n');
  writeFileSync(join(fx.run, 'result.json'), '{"kind": "train"}\n');
  fx.emptyDir = join(fx.dir, 'empty');
  mkdirSync(fx.emptyDir);
  fx.garbageRun = join(fx.dir, 'garbage-run');
  mkdirSync(fx.garbageRun);
  writeFileSync(join(fx.garbageRun, 'result.json'), '{ "kind": "train", oops\n');
  fx.kindlessRun = join(fx.dir, 'kindless-run');
  mkdirSync(fx.kindlessRun);
  writeFileSync(join(fx.kindlessRun, 'result.json'), '[1, 2, 3]\n');
  fx.garbageConfig = join(fx.dir, 'garbage.json');
  writeFileSync(fx.garbageConfig, '{ "epochs": \n');
  fx.listConfig = join(fx.dir, 'list.json');
  writeFileSync(fx.listConfig, '[1, 2]\n');
  fx.badFieldConfig = join(fx.dir, 'bad-field.json');
  writeFileSync(fx.badFieldConfig, '{"noSuchOption": 1}\n');
  fx.yamlConfig = join(fx.dir, 'fl.yaml');
  writeFileSync(fx.yamlConfig, 'clients: -3\n');
  fx.badSpeed = join(fx.dir, 'speed.json');
  writeFileSync(fx.badSpeed, '{"name": "winograd", "result": {"rows": "fast"}}\n');
  // A real (tiny) training run, for checkpoint consistency cases.
  fx.trained = join(fx.dir, 'trained');
  const r = await cli(
    ['train', '--dataset', 'synthetic-gray', '--model', 'mlp-300-100', '--epochs', '1', '--train-limit', '200', '--test-limit', '50', '--out', fx.trained, '--json'],
    root,
  );
  assert.equal(r.code, 0, `fixture training run failed: ${r.stderr}`);
  // A checkpoint whose model.json is garbage; a folder shaped like a sparsenn training run (its files
  // are only looked at, never loaded, by the cases), and one whose predictors.json is garbage.
  fx.garbageCkpt = join(fx.dir, 'garbage-ckpt');
  mkdirSync(fx.garbageCkpt);
  writeFileSync(join(fx.garbageCkpt, 'model.json'), '{"modelTopology": \n');
  fx.snRun = join(fx.dir, 'sparsenn-run');
  cpSync(join(fx.trained, 'checkpoint'), join(fx.snRun, 'checkpoint'), { recursive: true });
  writeFileSync(join(fx.snRun, 'predictors.json'), '{"predictors": []}\n');
  fx.garbageSnRun = join(fx.dir, 'garbage-sparsenn-run');
  cpSync(join(fx.trained, 'checkpoint'), join(fx.garbageSnRun, 'checkpoint'), { recursive: true });
  writeFileSync(join(fx.garbageSnRun, 'predictors.json'), '{"predictors": [\n');
  // A port with nothing listening: bind, read the port, close.
  deadPort = await new Promise<number>((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 1;
      s.close(() => res(port));
    });
  });
});

after(() => rmSync(root, { recursive: true, force: true }));

// ------------------------------------------------------------------ the tests

test('every leaf command of the CLI has bad-input cases in the table', async () => {
  const { Command } = await import('commander');
  const { registerCommands } = await import('../../src/cli/commands/index.js');
  const program = new Command();
  registerCommands(program);
  const leaves: string[] = [];
  const walk = (c: Command, path: string[]) => {
    if (c.commands.length === 0) leaves.push(path.join(' '));
    for (const s of c.commands) walk(s, [...path, s.name()]);
  };
  for (const c of program.commands) walk(c, [c.name()]);
  const covered = new Set(
    cases.map((c) =>
      c.args
        .filter((a) => !a.startsWith('-') && !a.startsWith('@'))
        .slice(0, 2)
        .join(' '),
    ),
  );
  const missing = leaves.filter((l) => ![...covered].some((c) => c === l || c.startsWith(`${l} `) || l === c.split(' ')[0]));
  assert.deepEqual(missing, [], `add bad-input cases for: ${missing.join(', ')}`);
});

test(`bad input: ${cases.length} cases, each one line on stderr and exit 2, nothing written`, { timeout: 45 * 60_000 }, async () => {
  const before = snapshot(fx.dir);
  const failures: string[] = [];
  let next = 0;
  let passed = 0;
  const runOne = async (i: number) => {
    const c = cases[i];
    const args = c.args.map(expand);
    const cwd = join(root, `case-${i}`);
    mkdirSync(cwd);
    const r = await cli(args, cwd, c.env);
    const label = `accelab ${args.map((a) => (a === '' ? "''" : a)).join(' ')}`;
    const problems: string[] = [];
    if (r.timedOut) problems.push(`no exit within ${CASE_TIMEOUT_MS / 1000} s (a hang)`);
    if (r.code !== (c.code ?? 2)) problems.push(`exit code ${r.code} (signal ${r.signal}), expected ${c.code ?? 2}`);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    if (lines.length !== 1) problems.push(`${lines.length} lines on stderr, expected 1`);
    if (!/^error: \S/.test(lines[0] ?? '')) problems.push('stderr does not start with "error: "');
    if (/\n\s+at /.test(r.stderr) || /\bat .*\.js:\d+/.test(r.stderr)) problems.push('stack trace on stderr');
    if (c.match && !c.match.test(r.stderr)) problems.push(`stderr does not match ${c.match}`);
    if (r.stdout !== '') problems.push(`stdout not empty: ${r.stdout.slice(0, 120)}`);
    const left = readdirSync(cwd);
    if (left.length) problems.push(`left files behind: ${left.join(', ')}`);
    if (problems.length) failures.push(`${label}\n    ${problems.join('\n    ')}\n    stderr: ${r.stderr.trim().slice(0, 400)}`);
    else passed++;
  };
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < cases.length) await runOne(next++);
    }),
  );
  const afterSnap = snapshot(fx.dir);
  const changed = [...new Set([...before.keys(), ...afterSnap.keys()])].filter((k) => before.get(k) !== afterSnap.get(k));
  assert.deepEqual(changed, [], 'fixtures (existing runs and files) must not change');
  assert.equal(failures.length, 0, `${failures.length} of ${cases.length} cases failed (${passed} passed):\n${failures.join('\n')}`);
});
