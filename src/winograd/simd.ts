/**
 * A tiny WebAssembly SIMD kernel for the Winograd transforms (no toolchain: the module's bytes are
 * assembled below; 3 sections of real code). It computes, for byte offsets into one shared memory,
 *   d[0:n] = Σ_e val[e] · s[base + idx[e]·stride : … + n]      (n a multiple of 4)
 * with f32x4 multiply-adds, where the sparse row (idx i32, val f32 pairs) also lives in the memory.
 * This is `combine` of fast.ts; the plain TypeScript `combine` is its reference twin.
 */

// prettier-ignore
const CODE: number[] = [
  // locals: 4 × i32 (e, s, i, end), 1 × v128 (v)
  0x02, 0x04, 0x7f, 0x01, 0x7b,
  // end = n << 2
  0x20, 0x05, 0x41, 0x02, 0x74, 0x21, 0x09,
  // s = base + load_i32(row) * stride
  0x20, 0x03, 0x20, 0x01, 0x28, 0x02, 0x00, 0x20, 0x04, 0x6c, 0x6a, 0x21, 0x07,
  // v = splat(load_f32(row + 4))
  0x20, 0x01, 0x2a, 0x02, 0x04, 0xfd, 0x13, 0x21, 0x0a,
  // i = 0
  0x41, 0x00, 0x21, 0x08,
  // loop: d[i] = s[i] * v
  0x03, 0x40, 0x20, 0x00, 0x20, 0x08, 0x6a, 0x20, 0x07, 0x20, 0x08, 0x6a, 0xfd, 0x00, 0x00, 0x00, 0x20, 0x0a, 0xfd, 0xe6, 0x01, 0xfd, 0x0b, 0x00, 0x00, 0x20, 0x08, 0x41, 0x10,
  0x6a, 0x22, 0x08, 0x20, 0x09, 0x49, 0x0d, 0x00, 0x0b,
  // e = 1
  0x41, 0x01, 0x21, 0x06, 0x02, 0x40, 0x20, 0x06, 0x20, 0x02, 0x4f, 0x0d, 0x00, 0x03, 0x40,
  // s = base + load_i32(row + (e << 3)) * stride
  0x20, 0x03, 0x20, 0x01, 0x20, 0x06, 0x41, 0x03, 0x74, 0x6a, 0x28, 0x02, 0x00, 0x20, 0x04, 0x6c, 0x6a, 0x21, 0x07,
  // v = splat(load_f32(row + (e << 3) + 4))
  0x20, 0x01, 0x20, 0x06, 0x41, 0x03, 0x74, 0x6a, 0x2a, 0x02, 0x04, 0xfd, 0x13, 0x21, 0x0a, 0x41, 0x00, 0x21, 0x08,
  // loop: d[i] += s[i] * v
  0x03, 0x40, 0x20, 0x00, 0x20, 0x08, 0x6a, 0x20, 0x00, 0x20, 0x08, 0x6a, 0xfd, 0x00, 0x00, 0x00, 0x20, 0x07, 0x20, 0x08, 0x6a, 0xfd, 0x00, 0x00, 0x00, 0x20, 0x0a, 0xfd, 0xe6,
  0x01, 0xfd, 0xe4, 0x01, 0xfd, 0x0b, 0x00, 0x00, 0x20, 0x08, 0x41, 0x10, 0x6a, 0x22, 0x08, 0x20, 0x09, 0x49, 0x0d, 0x00, 0x0b,
  // e += 1; continue while e < nnz
  0x20, 0x06, 0x41, 0x01, 0x6a, 0x22, 0x06, 0x20, 0x02, 0x49, 0x0d, 0x00, 0x0b, 0x0b, 0x0b,
];

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

function moduleBytes(): Uint8Array {
  const name = (s: string) => [...leb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
  const body = [...leb(CODE.length), ...CODE];
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [0x01, 0x60, 0x06, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x00]),
    ...section(2, [0x01, ...name('env'), ...name('memory'), 0x02, 0x00, 0x01]),
    ...section(3, [0x01, 0x00]),
    ...section(7, [0x01, ...name('combine'), 0x00, 0x00]),
    ...section(10, [0x01, ...body]),
  ]);
}

/** The few WebAssembly APIs used here (the project's TypeScript lib has no DOM/WebAssembly types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Memory: new (d: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

export interface SimdKernel {
  memory: WasmMemory;
  /** byte offsets; n floats (multiple of 4, ≥ 4) */
  combine(d: number, row: number, nnz: number, base: number, stride: number, n: number): void;
}

let kernel: SimdKernel | null | undefined;

/** The SIMD kernel, or null when WebAssembly SIMD is not available (the TypeScript path is used then). */
export function simdKernel(): SimdKernel | null {
  if (kernel !== undefined) return kernel;
  try {
    const bytes = moduleBytes();
    const WebAssembly = wasmApi;
    if (!WebAssembly?.validate(bytes)) {
      kernel = null;
      return kernel;
    }
    const memory = new WebAssembly.Memory({ initial: 1 });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    kernel = { memory, combine: inst.exports.combine as SimdKernel['combine'] };
  } catch {
    kernel = null;
  }
  return kernel;
}

/** Carves Float32Array views out of the kernel's memory (growing it first); invalidates earlier views. */
export function arena(k: SimdKernel, sizes: readonly number[]): Float32Array[] {
  const bytes = sizes.reduce((a, n) => a + Math.ceil(n / 4) * 16, 0) + 16;
  const have = k.memory.buffer.byteLength;
  if (bytes > have) k.memory.grow(Math.ceil((bytes - have) / 65536));
  const out: Float32Array[] = [];
  let off = 0;
  for (const n of sizes) {
    out.push(new Float32Array(k.memory.buffer, off, n));
    off += Math.ceil(n / 4) * 16;
  }
  return out;
}
