/**
 * Model weights as they travel in federated learning: a list of Float32Arrays (one per tfjs weight,
 * in `model.getWeights()` order), stored by reference. Jobs carry a key, never the numbers.
 *
 * Binary format (little-endian): "AFLW" magic, u32 count, u32 length[count], then the float32 data.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, NotFoundError } from '../core/errors.js';
import { writeFileAtomic } from '../core/fsx.js';

export type Weights = Float32Array[];

const MAGIC = 0x574c4641; // "AFLW"

export function encodeWeights(w: Weights): Uint8Array {
  const header = 8 + 4 * w.length;
  const total = header + 4 * w.reduce((a, t) => a + t.length, 0);
  const buf = new Uint8Array(total);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, w.length, true);
  let off = header;
  w.forEach((t, i) => {
    dv.setUint32(8 + 4 * i, t.length, true);
    buf.set(new Uint8Array(t.buffer, t.byteOffset, t.byteLength), off);
    off += t.byteLength;
  });
  return buf;
}

export function decodeWeights(bytes: Uint8Array): Weights {
  if (bytes.byteLength < 8) throw new DataError('weights blob is truncated: re-run the round that wrote it');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) throw new DataError('weights blob has a bad magic number: it was not written by accelab fl');
  const count = dv.getUint32(4, true);
  let off = 8 + 4 * count;
  const out: Weights = [];
  for (let i = 0; i < count; i++) {
    const len = dv.getUint32(8 + 4 * i, true);
    if (off + 4 * len > bytes.byteLength) throw new DataError('weights blob is truncated: re-run the round that wrote it');
    // Copy so the result is aligned and owns its memory.
    const t = new Float32Array(len);
    new Uint8Array(t.buffer).set(bytes.subarray(off, off + 4 * len));
    out.push(t);
    off += 4 * len;
  }
  return out;
}

export function cloneWeights(w: Weights): Weights {
  return w.map((t) => new Float32Array(t));
}

/** True when both lists have the same shapes and bit-identical values. */
export function weightsEqual(a: Weights, b: Weights): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.length !== y.length) return false;
    const xi = new Uint32Array(x.buffer, x.byteOffset, x.length);
    const yi = new Uint32Array(y.buffer, y.byteOffset, y.length);
    for (let j = 0; j < xi.length; j++) if (xi[j] !== yi[j]) return false;
  }
  return true;
}

/** Where weights are kept. JSON-serializable so a job can name its store. */
export type StoreSpec = { kind: 'memory' } | { kind: 'file'; dir: string } | { kind: 'redis'; url: string };

export interface WeightStore {
  put(key: string, w: Weights): Promise<void>;
  get(key: string): Promise<Weights>;
  delete(key: string): Promise<void>;
  /** Deletes every key that starts with `prefix` (e.g. those of a killed run); returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  close(): Promise<void>;
}

const memory = new Map<string, Uint8Array>();

class MemoryStore implements WeightStore {
  async put(key: string, w: Weights): Promise<void> {
    memory.set(key, encodeWeights(w));
  }
  async get(key: string): Promise<Weights> {
    const b = memory.get(key);
    if (!b) throw new NotFoundError(`weights '${key}' are not in the in-process store`);
    return decodeWeights(b);
  }
  async delete(key: string): Promise<void> {
    memory.delete(key);
  }
  async deletePrefix(prefix: string): Promise<number> {
    const keys = [...memory.keys()].filter((k) => k.startsWith(prefix));
    for (const k of keys) memory.delete(k);
    return keys.length;
  }
  async close(): Promise<void> {}
}

class FileStore implements WeightStore {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }
  private static fileName(key: string): string {
    return key.replace(/[^A-Za-z0-9._-]/g, '_');
  }
  private path(key: string): string {
    return join(this.dir, `${FileStore.fileName(key)}.aflw`);
  }
  async put(key: string, w: Weights): Promise<void> {
    writeFileAtomic(this.path(key), encodeWeights(w));
  }
  async get(key: string): Promise<Weights> {
    const p = this.path(key);
    if (!existsSync(p)) throw new NotFoundError(`weights file ${p} does not exist`);
    const b = readFileSync(p);
    return decodeWeights(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  }
  async delete(key: string): Promise<void> {
    rmSync(this.path(key), { force: true });
  }
  async deletePrefix(prefix: string): Promise<number> {
    const start = FileStore.fileName(prefix);
    const files = existsSync(this.dir) ? readdirSync(this.dir).filter((f) => f.startsWith(start) && f.endsWith('.aflw')) : [];
    for (const f of files) rmSync(join(this.dir, f), { force: true });
    return files.length;
  }
  async close(): Promise<void> {}
}

interface RedisLike {
  set(key: string, value: Buffer, mode: 'EX', seconds: number): Promise<unknown>;
  getBuffer(key: string): Promise<Buffer | null>;
  del(...keys: string[]): Promise<number>;
  scan(cursor: string, match: 'MATCH', pattern: string, count: 'COUNT', n: number): Promise<[string, string[]]>;
  quit(): Promise<unknown>;
}

class RedisStore implements WeightStore {
  constructor(
    private readonly client: RedisLike,
    private readonly ttlSeconds = 24 * 3600,
  ) {}
  async put(key: string, w: Weights): Promise<void> {
    const b = encodeWeights(w);
    await this.client.set(key, Buffer.from(b.buffer, b.byteOffset, b.byteLength), 'EX', this.ttlSeconds);
  }
  async get(key: string): Promise<Weights> {
    const b = await this.client.getBuffer(key);
    if (!b) throw new NotFoundError(`weights '${key}' are not in Redis (expired, or written to another Redis)`);
    return decodeWeights(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  }
  async delete(key: string): Promise<void> {
    await this.client.del(key);
  }
  async deletePrefix(prefix: string): Promise<number> {
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    let n = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length) n += await this.client.del(...keys);
    } while (cursor !== '0');
    return n;
  }
  async close(): Promise<void> {
    await this.client.quit();
  }
}

export async function openStore(spec: StoreSpec): Promise<WeightStore> {
  if (spec.kind === 'memory') return new MemoryStore();
  if (spec.kind === 'file') return new FileStore(spec.dir);
  const { Redis } = await import('ioredis');
  const client = new Redis(spec.url, { maxRetriesPerRequest: 3, lazyConnect: false });
  return new RedisStore(client as unknown as RedisLike);
}
