/**
 * Bit accounting and compression rates. Every stored bit is counted:
 * - values: the weight (or subword) bits of every packed slot, empty slots and tile padding included;
 * - index: the multiplexer select of every slot (⌈log2 fan-in⌉ bits), plus, with `shiftSelect`
 *   'stored' (default), the shift select of a subword slot (⌈log2 subwordsPerWeight⌉ bits); with
 *   'implied' it is not stored, because the select over a group's subword columns already names the
 *   subword (its shift follows from the stored column order);
 * - blocks: the width w(t, p) of every block of the tight format (⌈log2(groupSize + 1)⌉ bits each;
 *   ⌈log2(k + 1)⌉ for the budgeted format with k slots per group);
 * - permutation: the row order (rows·⌈log2 rows⌉ bits) and column order (cols·⌈log2 cols⌉ bits) of
 *   the tight format, or the member list of each combined column of column combining; an identity
 *   order costs nothing.
 * Compression rate = dense bits / packed bits, dense bits = rows·cols·weightBits (the unpadded
 * weight matrix). `rate` counts every bit; `rateNoIndex` counts only the value bits.
 */
import type { ColumnCombined } from './column-combine.js';
import type { TightPacked } from './tight.js';

export interface PackedBits {
  values: number;
  index: number;
  blocks: number;
  permutation: number;
  total: number;
}

export interface PackRate {
  /** Packed slots (PE weight registers). */
  slots: number;
  bits: PackedBits;
  denseBits: number;
  /** Dense bits / all packed bits. */
  rate: number;
  /** Dense bits / packed value bits. */
  rateNoIndex: number;
}

export function log2Ceil(n: number): number {
  return n <= 1 ? 0 : Math.ceil(Math.log2(n));
}

function isIdentity(p: Int32Array): boolean {
  for (let i = 0; i < p.length; i++) if (p[i] !== i) return false;
  return true;
}

function rate(slots: number, bits: Omit<PackedBits, 'total'>, denseBits: number): PackRate {
  const total = bits.values + bits.index + bits.blocks + bits.permutation;
  return { slots, bits: { ...bits, total }, denseBits, rate: denseBits / total, rateNoIndex: denseBits / bits.values };
}

export interface TightBitsOptions {
  /** Bits of the dense weight matrix per weight. */
  weightBits: number;
  /** Bits stored per slot value (weightBits for words, subwordBits + 1 for sign-magnitude subwords). */
  valueBits: number;
  /** Subwords per weight when the packed columns are subword columns (1 for words). */
  subwordsPerWeight: number;
  /** Largest block width the format allows (the budgeted format's slotsPerGroup). Default groupSize. */
  maxWidth?: number;
  /** Subword slots: whether the shift select is stored in the index ('stored', default) or implied by the select. */
  shiftSelect?: ShiftSelect;
}

export const SHIFT_SELECTS = ['stored', 'implied'] as const;
export type ShiftSelect = (typeof SHIFT_SELECTS)[number];

/** Index bits of a subword slot's shift select. */
export function shiftSelectBits(subwordsPerWeight: number, shiftSelect: ShiftSelect = 'stored'): number {
  return shiftSelect === 'stored' ? log2Ceil(subwordsPerWeight) : 0;
}

/** Bits and rates of a tight-packed matrix (its `cols` are subword columns when subwordsPerWeight > 1). */
export function tightRate(pk: TightPacked, o: TightBitsOptions): PackRate {
  const slots = pk.values.length;
  const denseBits = pk.rows * (pk.cols / o.subwordsPerWeight) * o.weightBits;
  return rate(
    slots,
    {
      values: slots * o.valueBits,
      index: slots * (log2Ceil(pk.groupSize) + shiftSelectBits(o.subwordsPerWeight, o.shiftSelect)),
      blocks: pk.numTiles * pk.numGroups * log2Ceil((o.maxWidth ?? pk.groupSize) + 1),
      permutation: (isIdentity(pk.rowOrder) ? 0 : pk.rows * log2Ceil(pk.rows)) + (isIdentity(pk.colOrder) ? 0 : pk.cols * log2Ceil(pk.cols)),
    },
    denseBits,
  );
}

/** Bits and rates of a column-combined matrix on tiles of `tileRows` output channels. */
export function columnCombinedRate(cc: Pick<ColumnCombined, 'rows' | 'cols' | 'groups' | 'maxColumns'>, tileRows: number, weightBits: number): PackRate {
  const slots = Math.ceil(cc.rows / tileRows) * tileRows * cc.groups.length;
  const listed = cc.groups.reduce((s, g) => s + g.length, 0);
  return rate(
    slots,
    {
      values: slots * weightBits,
      index: slots * log2Ceil(cc.maxColumns),
      blocks: 0,
      permutation: listed * log2Ceil(cc.cols),
    },
    cc.rows * cc.cols * weightBits,
  );
}
