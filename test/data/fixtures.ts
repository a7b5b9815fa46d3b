/** Small fixtures written in the official formats (IDX, CIFAR-10 binary), for the data tests. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { create as tarCreate } from 'tar';

export function tempDir(prefix = 'accelab-data-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** IDX bytes: magic 0x000008<nd>, big-endian dims, then `data`. */
export function idxBytes(dims: number[], data: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  const dv = new DataView(head.buffer);
  head[2] = 0x08;
  head[3] = dims.length;
  for (const [i, d] of dims.entries()) dv.setUint32(4 + 4 * i, d, false);
  const out = new Uint8Array(head.length + data.length);
  out.set(head, 0);
  out.set(data, head.length);
  return out;
}

/** Deterministic image bytes: pixel value = (i*7 + p*3) mod 256 for image i, pixel p. */
export function patternImages(n: number, size: number): Uint8Array {
  const a = new Uint8Array(n * size);
  for (let i = 0; i < n; i++) for (let p = 0; p < size; p++) a[i * size + p] = (i * 7 + p * 3) & 255;
  return a;
}

export function patternLabels(n: number, numClasses = 10): Uint8Array {
  const l = new Uint8Array(n);
  for (let i = 0; i < n; i++) l[i] = (i * 3) % numClasses;
  return l;
}

export interface IdxFixtureOptions {
  train?: number;
  test?: number;
  gzip?: boolean;
  h?: number;
  w?: number;
  /** Post-processing of a file's bytes before writing, by file name. */
  mutate?: Record<string, (b: Uint8Array) => Uint8Array>;
}

export const IDX_NAMES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
};

/** Writes a Fashion-MNIST-shaped IDX data set (4 files) into `dir`. */
export function writeIdxDataset(dir: string, o: IdxFixtureOptions = {}): void {
  mkdirSync(dir, { recursive: true });
  const h = o.h ?? 28;
  const w = o.w ?? 28;
  const gz = o.gzip ?? true;
  const files: [string, Uint8Array][] = [
    [IDX_NAMES.trainImages, idxBytes([o.train ?? 50, h, w], patternImages(o.train ?? 50, h * w))],
    [IDX_NAMES.trainLabels, idxBytes([o.train ?? 50], patternLabels(o.train ?? 50))],
    [IDX_NAMES.testImages, idxBytes([o.test ?? 20, h, w], patternImages(o.test ?? 20, h * w))],
    [IDX_NAMES.testLabels, idxBytes([o.test ?? 20], patternLabels(o.test ?? 20))],
  ];
  for (const [name, bytes] of files) {
    const mut = o.mutate?.[name] ?? ((b: Uint8Array) => b);
    const content = mut(gz ? gzipSync(bytes) : bytes);
    writeFileSync(join(dir, gz ? name : name.replace(/\.gz$/, '')), content);
  }
}

/** CIFAR-10 binary records (planar R, G, B) of global images start..start+n-1; label (id*3) mod 10, HWC pixel (p, ch) = cifarPixel(id, p, ch). */
export function cifarRecords(n: number, start = 0): Uint8Array {
  const out = new Uint8Array(n * 3073);
  for (let i = 0; i < n; i++) {
    const id = start + i;
    const r = i * 3073;
    out[r] = cifarLabel(id);
    for (let ch = 0; ch < 3; ch++) for (let p = 0; p < 1024; p++) out[r + 1 + ch * 1024 + p] = cifarPixel(id, p, ch);
  }
  return out;
}

export function cifarLabel(id: number): number {
  return (id * 3) % 10;
}

export function cifarPixel(id: number, p: number, ch: number): number {
  return (id * 11 + p * 5 + ch * 101) & 255;
}

export const CIFAR_TEST_START = 100000;

/** Writes `root/cifar-10-batches-bin/` with `batches` training batches of `perBatch` records (global ids 0..) and a test batch. */
export function writeCifarFolder(root: string, o: { batches?: number; perBatch?: number; test?: number; mutate?: Record<string, (b: Uint8Array) => Uint8Array> } = {}): string {
  const dir = join(root, 'cifar-10-batches-bin');
  mkdirSync(dir, { recursive: true });
  const per = o.perBatch ?? 20;
  const nb = o.batches ?? 2;
  const keep = (b: Uint8Array): Uint8Array => b;
  for (let b = 1; b <= nb; b++) {
    const name = `data_batch_${b}.bin`;
    writeFileSync(join(dir, name), (o.mutate?.[name] ?? keep)(cifarRecords(per, (b - 1) * per)));
  }
  writeFileSync(join(dir, 'test_batch.bin'), (o.mutate?.['test_batch.bin'] ?? keep)(cifarRecords(o.test ?? 10, CIFAR_TEST_START)));
  writeFileSync(join(dir, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
  return dir;
}

/** Packs `root/cifar-10-batches-bin` into `<out>` (gzip tar), as the official archive is laid out. */
export async function packCifarArchive(root: string, out: string): Promise<void> {
  await tarCreate({ gzip: true, file: out, cwd: root, portable: true }, ['cifar-10-batches-bin']);
}
