/**
 * Reader for the CIFAR-10 "binary version": the official `cifar-10-binary.tar.gz` (read as a stream,
 * nothing is written to disk) or its extracted `cifar-10-batches-bin/` folder, with any number of
 * training batches `data_batch_<k>.bin` (the project's subset has only batch 1).
 *
 * A record is 1 label byte + 3,072 pixel bytes: the red plane (32×32, row-major), then green, then
 * blue. Records are converted to HWC order (R,G,B interleaved per pixel) as they stream in.
 */
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { DataError } from '../core/errors.js';
import type { Dataset, Split } from './types.js';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
export const CIFAR_RECORD = 3073;
const PIXELS = 1024;

/** Streams CIFAR records (any chunking) into a preallocated HWC split of `capacity` records. */
export class CifarDecoder {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  count = 0;
  private readonly rec = new Uint8Array(CIFAR_RECORD);
  private fill = 0;
  private bytes = 0;

  constructor(
    private readonly file: string,
    private readonly capacity: number,
    private readonly numClasses = 10,
  ) {
    this.images = new Uint8Array(capacity * 3 * PIXELS);
    this.labels = new Uint8Array(capacity);
  }

  push(chunk: Uint8Array): void {
    let off = 0;
    this.bytes += chunk.length;
    while (off < chunk.length && this.count < this.capacity) {
      if (this.fill === 0 && chunk.length - off >= CIFAR_RECORD) {
        this.emit(chunk, off);
        off += CIFAR_RECORD;
        continue;
      }
      const n = Math.min(CIFAR_RECORD - this.fill, chunk.length - off);
      this.rec.set(chunk.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      if (this.fill === CIFAR_RECORD) {
        this.emit(this.rec, 0);
        this.fill = 0;
      }
    }
  }

  private emit(src: Uint8Array, off: number): void {
    const label = src[off];
    if (label >= this.numClasses) {
      throw new DataError(`${this.file}: bad label value ${label} in record ${this.count} (labels must be 0..${this.numClasses - 1})`);
    }
    const i = this.count++;
    this.labels[i] = label;
    const out = this.images;
    const base = i * 3 * PIXELS;
    const r = off + 1;
    const g = r + PIXELS;
    const b = g + PIXELS;
    for (let p = 0; p < PIXELS; p++) {
      const o = base + 3 * p;
      out[o] = src[r + p];
      out[o + 1] = src[g + p];
      out[o + 2] = src[b + p];
    }
  }

  /** Checks that exactly the announced bytes arrived; returns the split. */
  finish(expectedBytes: number, partial: boolean): Split {
    if (!partial) {
      if (this.bytes < expectedBytes || (this.fill !== 0 && this.count < this.capacity)) {
        throw new DataError(`${this.file}: truncated: ${this.bytes} bytes, expected ${expectedBytes}`);
      }
    }
    return { images: this.images.subarray(0, this.count * 3 * PIXELS), labels: this.labels.subarray(0, this.count), count: this.count };
  }
}

function recordsIn(file: string, size: number): number {
  if (size === 0 || size % CIFAR_RECORD !== 0) {
    throw new DataError(`${file}: size mismatch: ${size} bytes is not a whole number of ${CIFAR_RECORD}-byte CIFAR-10 records (truncated or not a CIFAR-10 binary batch)`);
  }
  return size / CIFAR_RECORD;
}

function batchOrder(name: string): number {
  const m = /^data_batch_(\d+)\.bin$/.exec(name);
  return m ? Number(m[1]) : -1;
}

function concatSplits(parts: Split[]): Split {
  if (parts.length === 1) return parts[0];
  const count = parts.reduce((a, p) => a + p.count, 0);
  const images = new Uint8Array(count * 3 * PIXELS);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const p of parts) {
    images.set(p.images, n * 3 * PIXELS);
    labels.set(p.labels, n);
    n += p.count;
  }
  return { images, labels, count };
}

export interface CifarReadOptions {
  trainLimit?: number;
  testLimit?: number;
  name?: string;
}

function parseMeta(text: string | undefined): string[] {
  if (!text) return CIFAR10_CLASSES.slice();
  const names = text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return names.length === 10 ? names : CIFAR10_CLASSES.slice();
}

function assemble(name: string, source: string, train: Split[], test: Split | null, meta: string | undefined): Dataset {
  if (train.length === 0) throw new DataError(`${source}: no training batch (data_batch_1.bin ...) found in the CIFAR-10 binary layout`);
  if (!test) throw new DataError(`${source}: test_batch.bin is missing from the CIFAR-10 binary layout`);
  return { name, train: concatSplits(train), test, shape: [32, 32, 3], numClasses: 10, classNames: parseMeta(meta), source };
}

/** Reads an extracted `cifar-10-batches-bin/` folder. */
export function readCifarFolder(dir: string, opts: CifarReadOptions = {}): Dataset {
  if (!existsSync(dir)) throw new DataError(`${dir}: folder not found`);
  const names = readdirSync(dir);
  const batches = names.filter((n) => batchOrder(n) >= 0).sort((a, b) => batchOrder(a) - batchOrder(b));
  let trainLeft = opts.trainLimit ?? Number.POSITIVE_INFINITY;
  const train: Split[] = [];
  for (const b of batches) {
    if (trainLeft <= 0) break;
    const path = join(dir, b);
    const records = recordsIn(path, statSync(path).size);
    const take = Math.min(records, trainLeft);
    const dec = new CifarDecoder(path, take);
    dec.push(readFileSync(path));
    train.push(dec.finish(records * CIFAR_RECORD, take < records));
    trainLeft -= take;
  }
  let test: Split | null = null;
  const testPath = join(dir, 'test_batch.bin');
  if (existsSync(testPath)) {
    const records = recordsIn(testPath, statSync(testPath).size);
    const take = Math.min(records, opts.testLimit ?? records);
    const dec = new CifarDecoder(testPath, take);
    dec.push(readFileSync(testPath));
    test = dec.finish(records * CIFAR_RECORD, take < records);
  }
  const metaPath = join(dir, 'batches.meta.txt');
  const meta = existsSync(metaPath) ? readFileSync(metaPath, 'utf8') : undefined;
  return assemble(opts.name ?? 'cifar10', dir, train, test, meta);
}

/** Reads the official `cifar-10-binary.tar.gz` (or a tar.gz in the same layout) by streaming it. */
export async function readCifarArchive(path: string, opts: CifarReadOptions = {}): Promise<Dataset> {
  if (!existsSync(path)) throw new DataError(`${path}: file not found`);
  const trainParts = new Map<number, Split>();
  let test: Split | null = null;
  let meta: string | undefined;
  let trainLeft = opts.trainLimit ?? Number.POSITIVE_INFINITY;
  let failure: Error | null = null;

  const onEntry = (entry: ReadEntry): void => {
    const name = basename(entry.path);
    const order = batchOrder(name);
    const where = `${path}: ${entry.path}`;
    try {
      if (entry.type !== 'File' && entry.type !== 'OldFile') {
        entry.resume();
        return;
      }
      if (name === 'batches.meta.txt') {
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => {
          meta = Buffer.concat(chunks).toString('utf8');
        });
        return;
      }
      if (order < 0 && name !== 'test_batch.bin') {
        entry.resume();
        return;
      }
      const records = recordsIn(where, entry.size);
      const limit = order >= 0 ? trainLeft : (opts.testLimit ?? records);
      const take = Math.max(0, Math.min(records, limit));
      if (take === 0) {
        entry.resume();
        return;
      }
      if (order >= 0) trainLeft -= take;
      const dec = new CifarDecoder(where, take);
      entry.on('data', (c: Buffer) => {
        if (failure) return;
        try {
          dec.push(c);
        } catch (e) {
          failure = e as Error;
        }
      });
      entry.on('end', () => {
        if (failure) return;
        try {
          const s = dec.finish(records * CIFAR_RECORD, take < records);
          if (order >= 0) trainParts.set(order, s);
          else test = s;
        } catch (e) {
          failure = e as Error;
        }
      });
    } catch (e) {
      failure = failure ?? (e as Error);
      entry.resume();
    }
  };

  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({ strict: true, onReadEntry: onEntry });
    const src = createReadStream(path, { highWaterMark: 1 << 20 });
    const fail = (e: Error): void => {
      src.destroy();
      const text = `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`;
      const msg = /unexpected end|Z_BUF_ERROR|TAR_BAD_ARCHIVE|truncated/i.test(text)
        ? 'truncated or damaged archive (download it again)'
        : /TAR_/.test(e.message)
          ? `damaged or not a tar archive (${e.message})`
          : e.message;
      reject(e instanceof DataError ? e : new DataError(`${path}: ${msg}`));
    };
    src.on('error', fail);
    parser.on('error', fail);
    parser.on('end', () => resolve());
    src.pipe(parser as unknown as NodeJS.WritableStream);
  });
  if (failure) throw failure;
  const train = [...trainParts.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
  return assemble(opts.name ?? 'cifar10', path, train, test, meta);
}
