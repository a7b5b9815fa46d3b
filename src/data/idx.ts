/**
 * Reader for the IDX format of MNIST and Fashion-MNIST (unsigned-byte arrays only), gzipped or raw.
 *
 * Layout: magic (2 zero bytes, type code 0x08 = ubyte, number of dimensions), then one big-endian
 * uint32 per dimension, then the bytes in row-major order. The file is streamed: the header is read
 * first and the output is allocated once at its exact size, so memory is the data plus one chunk.
 * Every defect becomes a one-line `DataError` naming the file: wrong magic, truncation, trailing
 * bytes, a damaged gzip stream.
 */
import { createReadStream, existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { pipeline, type Readable } from 'node:stream';
import { DataError } from '../core/errors.js';

export interface IdxArray {
  /** Dimensions from the header, e.g. [60000, 28, 28]; dims[0] is the full count in the file. */
  dims: number[];
  /** The first `min(dims[0], maxItems)` items, row-major. */
  data: Uint8Array;
  /** Items read (≤ dims[0]). */
  items: number;
}

export interface ReadIdxOptions {
  /** Expected number of dimensions (3 for images, 1 for labels). */
  expectDims?: number;
  /** Read only the first `maxItems` items (the rest of the file is not checked). */
  maxItems?: number;
}

/** True when the file starts with the gzip magic bytes. */
export function isGzipFile(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(2);
    const n = readSync(fd, b, 0, 2, 0);
    return n === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** A byte stream of the file, gunzipped when it is gzip. */
export function openMaybeGzip(path: string): Readable {
  const src = createReadStream(path, { highWaterMark: 256 << 10 });
  if (!isGzipFile(path)) return src;
  const gunzip = createGunzip({ chunkSize: 256 << 10 });
  pipeline(src, gunzip, () => {});
  return gunzip;
}

/** Parses an IDX header (magic + dims) from the start of `head`; returns null if more bytes are needed. */
export function parseIdxHeader(head: Uint8Array, file: string, expectDims?: number): { dims: number[]; headerBytes: number } | null {
  if (head.length < 4) return null;
  if (head[0] !== 0 || head[1] !== 0) {
    const magic = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
    throw new DataError(`${file}: wrong magic number 0x${magic.toString(16).padStart(8, '0')} (not an IDX file; expected 0x0000080${expectDims ?? 'N'})`);
  }
  if (head[2] !== 0x08) {
    throw new DataError(`${file}: IDX element type 0x${head[2].toString(16).padStart(2, '0')} is not supported (expected 0x08, unsigned byte)`);
  }
  const nd = head[3];
  if (nd < 1 || nd > 4 || (expectDims !== undefined && nd !== expectDims)) {
    const magic = (0x0800 | nd).toString(16).padStart(8, '0');
    throw new DataError(
      `${file}: wrong magic number 0x${magic}: expected 0x0000080${expectDims ?? '1-4'} (${expectDims === 1 ? 'a label file' : expectDims === 3 ? 'an image file' : `${expectDims} dimensions`})`,
    );
  }
  const headerBytes = 4 + 4 * nd;
  if (head.length < headerBytes) return null;
  const dims: number[] = [];
  const dv = new DataView(head.buffer, head.byteOffset, headerBytes);
  for (let i = 0; i < nd; i++) dims.push(dv.getUint32(4 + 4 * i, false));
  return { dims, headerBytes };
}

/** Reads an IDX file (`.gz` or raw). */
export async function readIdx(path: string, opts: ReadIdxOptions = {}): Promise<IdxArray> {
  if (!existsSync(path)) throw new DataError(`${path}: file not found`);
  if (statSync(path).size === 0) throw new DataError(`${path}: file is empty (truncated download?)`);
  const stream = openMaybeGzip(path);
  let head: Uint8Array = new Uint8Array(0);
  let header: { dims: number[]; headerBytes: number } | null = null;
  let data: Uint8Array | null = null;
  let want = 0;
  let total = 0;
  let got = 0;
  let extra = 0;
  let items = 0;
  let stoppedEarly = false;
  const take = (chunk: Uint8Array): void => {
    if (!data) return;
    const n = Math.max(0, Math.min(chunk.length, want - got));
    if (n > 0) data.set(chunk.subarray(0, n), got);
    got += n;
    extra += chunk.length - n;
  };
  try {
    for await (const raw of stream) {
      let chunk = raw as Uint8Array;
      if (!header) {
        const merged = new Uint8Array(head.length + chunk.length);
        merged.set(head, 0);
        merged.set(chunk, head.length);
        header = parseIdxHeader(merged, path, opts.expectDims);
        if (!header) {
          head = merged;
          continue;
        }
        const itemSize = header.dims.slice(1).reduce((a, b) => a * b, 1);
        total = header.dims[0] * itemSize;
        items = Math.min(header.dims[0], opts.maxItems ?? header.dims[0]);
        want = items * itemSize;
        data = new Uint8Array(want);
        chunk = merged.subarray(header.headerBytes);
      }
      take(chunk);
      if (got === want && want < total) {
        // Only a prefix was asked for: the rest of the file is not read.
        stoppedEarly = true;
        break;
      }
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message)) {
      throw new DataError(`${path}: truncated gzip stream (the file was cut short; download it again)`);
    }
    throw new DataError(`${path}: damaged gzip stream (${err.message})`);
  } finally {
    stream.destroy();
  }
  if (!header || !data) {
    throw new DataError(`${path}: truncated: the file ends inside the IDX header`);
  }
  if (!stoppedEarly) {
    if (got < want) {
      throw new DataError(`${path}: truncated: header promises ${header.dims.join('×')} = ${total} data bytes but the file holds ${got}`);
    }
    if (extra > 0) {
      throw new DataError(`${path}: size mismatch: ${extra} bytes after the ${header.dims.join('×')} data (expected exactly ${total} data bytes)`);
    }
  }
  return { dims: header.dims, data, items };
}
