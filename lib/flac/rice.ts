/**
 * Rice coding of residuals (RFC 9639 section 9.2.7): choice of the partition order and of each
 * partition's parameter (or an escape with raw bits), cost estimates, and writing.
 *
 * @module
 */
import type { BitWriter } from "./bit_writer.ts";

/** Highest partition order the encoder considers (the format allows 15). */
export const MAX_PARTITION_ORDER = 12;

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
  /** An upper bound on the size in bits (for reserving output space). */
  boundBits = 0;

  /** Copies another plan into this one. */
  copyFrom(o: RicePlan): void {
    this.order = o.order;
    this.method = o.method;
    const n = 1 << o.order;
    this.params.set(o.params.subarray(0, n));
    this.rawBits.set(o.rawBits.subarray(0, n));
    this.bits = o.bits;
    this.boundBits = o.boundBits;
  }
}

/** Reusable work buffers for {@linkcode planRice}. */
export class RiceScratch {
  /** Sum of folded residuals per partition, per level. */
  sums: Float64Array = new Float64Array(2 << MAX_PARTITION_ORDER);
  /** OR of folded residuals per partition. */
  ors: Int32Array = new Int32Array(2 << MAX_PARTITION_ORDER);
  /** Candidate plan. */
  tmp: RicePlan = new RicePlan();
}

const LN2 = Math.LN2;
const POW2_NEG = Float64Array.from({ length: 33 }, (_, k) => 2 ** -k);

/** Estimated Rice bits for `count` folded values summing to `sum`, parameter `k`. */
function riceCost(sum: number, count: number, k: number): number {
  if (k === 0) return count + sum;
  const f = POW2_NEG[k];
  const q = sum * f - count * 0.5 * (1 - f);
  return count * (k + 1) + (q > 0 ? q : 0);
}

/** Coarser partition orders tried after the cost stopped improving. */
const EARLY_STOP = 2;

/** Highest usable partition order for `n` samples and predictor order `predOrder`. */
export function maxPartitionOrderFor(n: number, predOrder: number, maxOrder: number): number {
  let pmax = Math.min(maxOrder, MAX_PARTITION_ORDER);
  while (pmax > 0 && ((n & ((1 << pmax) - 1)) !== 0 || (n >> pmax) <= predOrder)) pmax--;
  return pmax;
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
  const pmax = maxPartitionOrderFor(n, predOrder, maxOrder);
  const parts = 1 << pmax;
  const psize = n >> pmax;
  const sums = scratch.sums;
  const ors = scratch.ors;
  // level pmax occupies [parts, 2*parts) in a heap-like layout: partition p of order o is at 2^o + p
  for (let p = 0; p < parts; p++) {
    const s = p === 0 ? predOrder : p * psize;
    const e = (p + 1) * psize;
    let sum = 0, or = 0;
    for (let i = s; i < e; i++) {
      const r = res[i];
      const u = (r << 1) ^ (r >> 31); // zig-zag fold
      sum += u >>> 0;
      or |= u;
    }
    sums[parts + p] = sum;
    ors[parts + p] = or;
  }
  return planFromSums(n, predOrder, pmax, sums, ors, scratch.tmp, plan);
}

/**
 * The partition search of {@linkcode planRice}, given the sums and ORs of folded residuals of
 * each partition at order `pmax` (at indices [2^pmax, 2^(pmax+1)) of `sums` / `ors`).
 */
export function planFromSums(
  n: number,
  predOrder: number,
  pmax: number,
  sums: Float64Array,
  ors: Int32Array,
  tmp: RicePlan,
  plan: RicePlan,
): number {
  for (let o = pmax - 1; o >= 0; o--) {
    const base = 1 << o;
    for (let p = 0; p < base; p++) {
      const a = 2 * (base + p);
      sums[base + p] = sums[a] + sums[a + 1];
      ors[base + p] = ors[a] | ors[a + 1];
    }
  }
  // from coarse to fine: fine levels cost the most to evaluate and rarely win, so stop once
  // two successive refinements did not help (the cost is close to unimodal in the order)
  let bestBits = Infinity;
  let worse = 0;
  for (let o = 0; o <= pmax; o++) {
    const base = 1 << o;
    const size = n >> o;
    const invSize = 1 / size;
    let total = 0;
    let bound = 0;
    let maxK = 0;
    for (let p = 0; p < base; p++) {
      const count = p === 0 ? size - predOrder : size;
      const sum = sums[base + p];
      // raw (escape) width: folded values below 2^b are exactly the b-bit signed values
      const width = 32 - Math.clz32(ors[base + p]);
      const escBits = width <= 31 ? 5 + width * count : Infinity;
      let k = 0;
      let cost = count + sum;
      if (sum > 0 && count > 0) {
        // cost(k) is convex with its real minimum at log2(mean · ln 2): try floor and ceil
        const m = sum * (p === 0 ? 1 / count : invSize) * LN2;
        const k0 = m < 2 ? 0 : m >= 1073741824 ? 30 : 31 - Math.clz32(m);
        cost = riceCost(sum, count, k0);
        k = k0;
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
        bound += escBits;
      } else {
        tmp.params[p] = k;
        total += cost;
        // Σ floor(u / 2^k) ≤ sum / 2^k: an exact bound on the unary parts
        bound += count * (k + 1) + sum * POW2_NEG[k];
        if (k > maxK) maxK = k;
      }
    }
    const method = maxK > 14 ? 1 : 0;
    const overhead = 6 + base * (method === 1 ? 5 : 4); // 2 bits method, 4 bits order, params
    total += overhead;
    if (total < bestBits) {
      bestBits = total;
      tmp.order = o;
      tmp.method = method;
      tmp.bits = total;
      tmp.boundBits = bound + overhead;
      plan.copyFrom(tmp);
      worse = 0;
    } else if (++worse >= EARLY_STOP) break;
  }
  return bestBits;
}

/** Partition order used to compare FIXED orders in {@linkcode bestFixedOrder}. */
export const FIXED_SELECT_PARTITION_ORDER = 5;

/** Work buffers of {@linkcode bestFixedOrder}. */
export class FixedScratch {
  /** Per FIXED order: partition sums of folded residuals. */
  sums: Float64Array[] = Array.from(
    { length: 5 },
    () => new Float64Array(2 << MAX_PARTITION_ORDER),
  );
  /** Per FIXED order: partition ORs of folded residuals. */
  ors: Int32Array[] = Array.from({ length: 5 }, () => new Int32Array(2 << MAX_PARTITION_ORDER));
  /** Scratch plans. */
  tmp: RicePlan = new RicePlan();
  plan: RicePlan = new RicePlan();
}

/**
 * Finds the FIXED order (0–4) whose residual codes smallest, computing all five residuals in a
 * single pass (partition sums only). Needs n > 4 and samples of at most 27 bits (so no residual
 * can leave int32). Returns the order; `out[order]` receives each order's estimated bits.
 */
export function bestFixedOrder(
  x: Int32Array,
  n: number,
  maxPartitionOrder: number,
  scratch: FixedScratch,
  out: Float64Array,
): number {
  // choosing among orders needs only a coarse partition search; the caller plans exactly
  const pmax = maxPartitionOrderFor(
    n,
    4,
    Math.min(maxPartitionOrder, FIXED_SELECT_PARTITION_ORDER),
  );
  const parts = 1 << pmax;
  const psize = n >> pmax;
  const [S0, S1, S2, S3, S4] = scratch.sums;
  const [O0, O1, O2, O3, O4] = scratch.ors;
  // samples before index 4 belong to lower orders only (all in partition 0)
  let h0 = 0, h1 = 0, h2 = 0, h3 = 0, g0 = 0, g1 = 0, g2 = 0, g3 = 0;
  for (let i = 0; i < 4; i++) {
    const e0 = x[i];
    const u0 = (e0 << 1) ^ (e0 >> 31);
    h0 += u0 >>> 0;
    g0 |= u0;
    if (i >= 1) {
      const e1 = e0 - x[i - 1];
      const u1 = (e1 << 1) ^ (e1 >> 31);
      h1 += u1 >>> 0;
      g1 |= u1;
    }
    if (i >= 2) {
      const e2 = e0 - 2 * x[i - 1] + x[i - 2];
      const u2 = (e2 << 1) ^ (e2 >> 31);
      h2 += u2 >>> 0;
      g2 |= u2;
    }
    if (i >= 3) {
      const e3 = e0 - 3 * x[i - 1] + 3 * x[i - 2] - x[i - 3];
      const u3 = (e3 << 1) ^ (e3 >> 31);
      h3 += u3 >>> 0;
      g3 |= u3;
    }
  }
  let p1 = x[3];
  let d1 = x[3] - x[2];
  let d2 = d1 - (x[2] - x[1]);
  let d3 = d2 - ((x[2] - x[1]) - (x[1] - x[0]));
  for (let p = 0; p < parts; p++) {
    const s = p === 0 ? 4 : p * psize;
    const e = (p + 1) * psize;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, o0 = 0, o1 = 0, o2 = 0, o3 = 0, o4 = 0;
    for (let i = s; i < e; i++) {
      const e0 = x[i];
      const e1 = e0 - p1;
      const e2 = e1 - d1;
      const e3 = e2 - d2;
      const e4 = e3 - d3;
      p1 = e0;
      d1 = e1;
      d2 = e2;
      d3 = e3;
      const u0 = (e0 << 1) ^ (e0 >> 31);
      const u1 = (e1 << 1) ^ (e1 >> 31);
      const u2 = (e2 << 1) ^ (e2 >> 31);
      const u3 = (e3 << 1) ^ (e3 >> 31);
      const u4 = (e4 << 1) ^ (e4 >> 31);
      s0 += u0 >>> 0;
      s1 += u1 >>> 0;
      s2 += u2 >>> 0;
      s3 += u3 >>> 0;
      s4 += u4 >>> 0;
      o0 |= u0;
      o1 |= u1;
      o2 |= u2;
      o3 |= u3;
      o4 |= u4;
    }
    if (p === 0) {
      s0 += h0;
      s1 += h1;
      s2 += h2;
      s3 += h3;
      o0 |= g0;
      o1 |= g1;
      o2 |= g2;
      o3 |= g3;
    }
    S0[parts + p] = s0;
    S1[parts + p] = s1;
    S2[parts + p] = s2;
    S3[parts + p] = s3;
    S4[parts + p] = s4;
    O0[parts + p] = o0;
    O1[parts + p] = o1;
    O2[parts + p] = o2;
    O3[parts + p] = o3;
    O4[parts + p] = o4;
  }
  let best = 0;
  for (let o = 0; o <= 4; o++) {
    out[o] = planFromSums(n, o, pmax, scratch.sums[o], scratch.ors[o], scratch.tmp, scratch.plan);
    if (out[o] < out[best]) best = o;
  }
  return best;
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
  w.ensure(Math.ceil(plan.boundBits / 8) + 64);
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
      w.writeRiceReserved(res, s, e, k); // Rice codes (space reserved above)
    }
  }
}
