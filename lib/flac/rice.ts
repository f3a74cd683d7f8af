/**
 * Rice coding of residuals (RFC 9639 section 9.2.7): choice of the partition order and of each
 * partition's parameter (or an escape with raw bits), cost estimates, and writing.
 *
 * @module
 */
import type { BitWriter } from "./bit_writer.ts";

/** Highest partition order the encoder considers (the format allows 15). */
export const MAX_PARTITION_ORDER = 8;

/** A chosen residual coding: method, partition order and per-partition parameters. */
export class RicePlan {
  /** Partition order (2^order partitions). */
  order = 0;
  /** 0: 4-bit parameters; 1: 5-bit parameters. */
  method = 0;
  /** Rice parameter of each partition, or -1 for an escaped (raw) partition. */
  params: Int32Array = new Int32Array(1 << MAX_PARTITION_ORDER);
  /** Raw bits per residual of escaped partitions. */
  rawBits: Int32Array = new Int32Array(1 << MAX_PARTITION_ORDER);
  /** Estimated size in bits of the whole residual section. */
  bits = 0;

  /** Copies another plan into this one. */
  copyFrom(o: RicePlan): void {
    this.order = o.order;
    this.method = o.method;
    const n = 1 << o.order;
    this.params.set(o.params.subarray(0, n));
    this.rawBits.set(o.rawBits.subarray(0, n));
    this.bits = o.bits;
  }
}

/** Reusable work buffers for {@linkcode planRice}. */
export class RiceScratch {
  /** Sum of folded residuals per partition, per level. */
  sums: Float64Array = new Float64Array(2 << MAX_PARTITION_ORDER);
  /** OR of folded residuals per partition. */
  ors: Int32Array = new Int32Array(2 << MAX_PARTITION_ORDER);
  /** OR of r ^ (r >> 31) per partition (magnitude bits for escapes). */
  mags: Int32Array = new Int32Array(2 << MAX_PARTITION_ORDER);
  /** Candidate plan. */
  tmp: RicePlan = new RicePlan();
}

const LN2 = Math.LN2;

/** Estimated Rice bits for `count` folded values summing to `sum`, parameter `k`. */
function riceCost(sum: number, count: number, k: number): number {
  if (k === 0) return count + sum;
  const q = sum * 2 ** -k - count * 0.5 * (1 - 2 ** -k);
  return count * (k + 1) + (q > 0 ? q : 0);
}

/**
 * Chooses the partition order (≤ `maxOrder`) and parameters for residuals `res[predOrder, n)`.
 * Writes the plan into `plan` and returns its estimated size in bits.
 */
export function planRice(
  res: Int32Array,
  n: number,
  predOrder: number,
  maxOrder: number,
  scratch: RiceScratch,
  plan: RicePlan,
): number {
  let pmax = Math.min(maxOrder, MAX_PARTITION_ORDER);
  while (pmax > 0 && ((n & ((1 << pmax) - 1)) !== 0 || (n >> pmax) <= predOrder)) pmax--;
  const parts = 1 << pmax;
  const psize = n >> pmax;
  const sums = scratch.sums;
  const ors = scratch.ors;
  const mags = scratch.mags;
  // level pmax occupies [parts, 2*parts) in a heap-like layout: partition p of order o is at 2^o + p
  for (let p = 0; p < parts; p++) {
    const s = p === 0 ? predOrder : p * psize;
    const e = (p + 1) * psize;
    let sum = 0, or = 0, mag = 0;
    for (let i = s; i < e; i++) {
      const r = res[i];
      const u = (r << 1) ^ (r >> 31);
      sum += u >>> 0;
      or |= u;
      mag |= r ^ (r >> 31);
    }
    sums[parts + p] = sum;
    ors[parts + p] = or;
    mags[parts + p] = mag;
  }
  for (let o = pmax - 1; o >= 0; o--) {
    const base = 1 << o;
    for (let p = 0; p < base; p++) {
      const a = 2 * (base + p);
      sums[base + p] = sums[a] + sums[a + 1];
      ors[base + p] = ors[a] | ors[a + 1];
      mags[base + p] = mags[a] | mags[a + 1];
    }
  }
  let bestBits = Infinity;
  const tmp = scratch.tmp;
  for (let o = pmax; o >= 0; o--) {
    const base = 1 << o;
    const size = n >> o;
    let total = 0;
    let maxK = 0;
    for (let p = 0; p < base; p++) {
      const count = p === 0 ? size - predOrder : size;
      const sum = sums[base + p];
      // raw (escape) width: bits of the largest two's complement value, 0 when all zero
      const width = ors[base + p] === 0 ? 0 : 33 - Math.clz32(mags[base + p]);
      const escBits = width <= 31 ? 5 + width * count : Infinity;
      let k = 0;
      let cost = count + sum;
      if (count > 0 && sum > 0) {
        const mean = sum / count;
        let k0 = mean > 1 ? Math.floor(Math.log(mean * LN2) / LN2) : 0;
        if (k0 < 0) k0 = 0;
        if (k0 > 30) k0 = 30;
        k = k0;
        cost = riceCost(sum, count, k0);
        if (k0 > 0) {
          const c = riceCost(sum, count, k0 - 1);
          if (c < cost) {
            cost = c;
            k = k0 - 1;
          }
        }
        if (k0 < 30) {
          const c = riceCost(sum, count, k0 + 1);
          if (c < cost) {
            cost = c;
            k = k0 + 1;
          }
        }
      }
      if (escBits < cost) {
        tmp.params[p] = -1;
        tmp.rawBits[p] = width;
        total += escBits;
      } else {
        tmp.params[p] = k;
        total += cost;
        if (k > maxK) maxK = k;
      }
    }
    const method = maxK > 14 ? 1 : 0;
    total += 6 + base * (method === 1 ? 5 : 4); // 2 bits method, 4 bits order, params
    if (total < bestBits) {
      bestBits = total;
      tmp.order = o;
      tmp.method = method;
      tmp.bits = total;
      plan.copyFrom(tmp);
    }
  }
  return bestBits;
}

/** Writes the residual section for `res[predOrder, n)` following `plan`. */
export function writeResidual(
  w: BitWriter,
  res: Int32Array,
  n: number,
  predOrder: number,
  plan: RicePlan,
): void {
  w.writeSmall(plan.method, 2); // 2 bits: coding method (0: 4-bit params, 1: 5-bit params)
  w.writeSmall(plan.order, 4); // 4 bits: partition order
  const parts = 1 << plan.order;
  const size = n >> plan.order;
  const pbits = plan.method === 1 ? 5 : 4;
  const escape = (1 << pbits) - 1;
  for (let p = 0; p < parts; p++) {
    const s = p === 0 ? predOrder : p * size;
    const e = (p + 1) * size;
    const k = plan.params[p];
    if (k < 0) {
      const width = plan.rawBits[p];
      w.writeSmall(escape, pbits); // Rice parameter: all ones = escape
      w.writeSmall(width, 5); // 5 bits: raw bits per residual
      if (width > 0) { for (let i = s; i < e; i++) w.writeSigned(res[i], width); // raw residuals
       }
    } else {
      w.writeSmall(k, pbits); // 4 or 5 bits: Rice parameter
      w.writeRice(res, s, e, k); // Rice codes
    }
  }
}
