/**
 * Subframe analysis and writing (RFC 9639 section 9.2): CONSTANT, VERBATIM, FIXED orders 0–4
 * and LPC orders 1–32, with wasted-bits detection. `analyse` picks the smallest estimated
 * encoding, `write` emits it.
 *
 * @module
 */
import type { BitWriter } from "./bit_writer.ts";
import {
  ACF_PAD,
  autocorrelation,
  fixedAbsSums,
  fixedResidual,
  levinsonDurbin,
  lpcResidual,
  makeWindow,
  quantizeCoefs,
  type WindowSpec,
} from "./lpc.ts";
import {
  bestFixedOrder,
  FixedScratch,
  planRice,
  RicePlan,
  RiceScratch,
  writeResidual,
} from "./rice.ts";

/** How hard the encoder searches; see `LEVELS` in encoder.ts. */
export interface EncoderTuning {
  /** Highest LPC order tried (0: FIXED only), at most 32. */
  maxLpcOrder: number;
  /** Apodization windows tried for LPC. */
  windows: WindowSpec[];
  /** Highest Rice partition order tried (≤ 8). */
  maxPartitionOrder: number;
  /** Try every FIXED order exactly instead of the one with the smallest |residual| sum. */
  fixedExhaustive: boolean;
  /** How many LPC orders (best estimates first) are tried exactly per window. */
  lpcCandidates: number;
  /** Also try coefficient precisions around the default. */
  precisionSearch: boolean;
  /** Try the four stereo decorrelations for 2 channels. */
  stereo: boolean;
}

/** Subframe type chosen by {@linkcode SubframeEncoder.analyse}. */
export const SubframeKind = { CONSTANT: 0, VERBATIM: 1, FIXED: 2, LPC: 3 } as const;

/** Default quantised-coefficient precision for a block size (as libFLAC chooses it). */
export function defaultPrecision(blockSize: number): number {
  if (blockSize <= 192) return 7;
  if (blockSize <= 384) return 8;
  if (blockSize <= 576) return 9;
  if (blockSize <= 1152) return 10;
  if (blockSize <= 2304) return 11;
  if (blockSize <= 4608) return 12;
  return 13;
}

/** Analyses one channel of one block and writes the chosen subframe. Buffers are reused. */
export class SubframeEncoder {
  /** Chosen kind (a {@linkcode SubframeKind}). */
  kind = 0;
  /** Estimated size in bits of the chosen subframe. */
  bits = 0;
  /** Predictor order (FIXED or LPC). */
  order = 0;
  /** Wasted bits (trailing zero bits common to every sample). */
  wasted = 0;
  /** Bits per sample of the subframe after removing wasted bits. */
  sbps = 0;
  /** Value of a CONSTANT subframe. */
  constantValue = 0;
  /** LPC coefficient precision in bits. */
  precision = 0;
  /** LPC right shift. */
  shift = 0;
  /** Quantised LPC coefficients of the chosen predictor. */
  coefs: Int32Array = new Int32Array(32);

  #sig: Int32Array;
  #shifted: Int32Array;
  #res: Int32Array;
  #best: Int32Array;
  #plan = new RicePlan();
  #tmpPlan = new RicePlan();
  #scratch = new RiceScratch();
  #q = new Int32Array(32);
  #acf = new Float64Array(33);
  #lp: Float64Array[] = Array.from({ length: 32 }, (_, i) => new Float64Array(i + 1));
  #err = new Float64Array(33);
  #win: Float64Array;
  #sums = new Float64Array(5);
  #fixed = new FixedScratch();
  #n = 0;
  #tuning: EncoderTuning;

  /** An encoder for blocks of up to `maxBlockSize` samples with the given search effort. */
  constructor(maxBlockSize: number, tuning: EncoderTuning) {
    this.#shifted = new Int32Array(maxBlockSize);
    this.#sig = this.#shifted;
    this.#res = new Int32Array(maxBlockSize);
    this.#best = new Int32Array(maxBlockSize);
    this.#win = new Float64Array(maxBlockSize + ACF_PAD);
    this.#tuning = tuning;
  }

  /**
   * Chooses the encoding of `x[0, n)` at `bps` bits per sample (the side channel passes one
   * more bit than the stream). Returns the estimated size in bits. `x` must stay unchanged
   * until {@linkcode write}.
   */
  analyse(x: Int32Array, n: number, bps: number): number {
    this.#n = n;
    const x0 = x[0];
    let or = 0;
    let constant = true;
    for (let i = 0; i < n; i++) {
      const v = x[i];
      or |= v;
      if (v !== x0) constant = false;
    }
    if (constant) {
      this.kind = SubframeKind.CONSTANT;
      this.constantValue = x0;
      this.sbps = bps;
      this.wasted = 0;
      this.bits = 8 + bps;
      return this.bits;
    }
    // wasted bits: trailing zeros common to all samples
    let wasted = 0;
    if ((or & 1) === 0) {
      wasted = 31 - Math.clz32(or & -or);
      if (wasted >= bps) wasted = bps - 1;
    }
    this.wasted = wasted;
    const sbps = bps - wasted;
    this.sbps = sbps;
    let sig = x;
    if (wasted > 0) {
      sig = this.#shifted;
      for (let i = 0; i < n; i++) sig[i] = x[i] >> wasted;
    }
    this.#sig = sig;
    const header = 8 + wasted; // pad bit, 6 type bits, wasted flag, unary wasted count
    // VERBATIM
    this.kind = SubframeKind.VERBATIM;
    this.bits = header + n * sbps;
    this.order = 0;
    const t = this.#tuning;
    // FIXED
    if (n > 4) {
      let orders: number[];
      if (t.fixedExhaustive && sbps <= 27) {
        orders = [bestFixedOrder(sig, n, t.maxPartitionOrder, this.#fixed, this.#sums)];
      } else if (t.fixedExhaustive) orders = [0, 1, 2, 3, 4];
      else {
        fixedAbsSums(sig, n, this.#sums);
        let bo = 0;
        for (let o = 1; o <= 4; o++) if (this.#sums[o] < this.#sums[bo]) bo = o;
        orders = [bo];
      }
      for (const o of orders) {
        if (!fixedResidual(sig, n, o, this.#res)) continue;
        const rb = planRice(this.#res, n, o, t.maxPartitionOrder, this.#scratch, this.#tmpPlan);
        const bits = header + o * sbps + rb;
        if (bits < this.bits) this.#accept(SubframeKind.FIXED, o, bits);
      }
    } else if (fixedResidual(sig, n, 0, this.#res)) {
      const rb = planRice(this.#res, n, 0, 0, this.#scratch, this.#tmpPlan);
      if (header + rb < this.bits) this.#accept(SubframeKind.FIXED, 0, header + rb);
    }
    // LPC
    const maxOrder = Math.min(t.maxLpcOrder, n - 1, 32);
    if (maxOrder > 0 && n > 32) this.#tryLpc(sig, n, sbps, header, maxOrder);
    return this.bits;
  }

  #accept(kind: number, order: number, bits: number): void {
    this.kind = kind;
    this.order = order;
    this.bits = bits;
    this.#plan.copyFrom(this.#tmpPlan);
    const b = this.#best;
    this.#best = this.#res;
    this.#res = b;
  }

  #tryLpc(sig: Int32Array, n: number, sbps: number, header: number, maxOrder: number): void {
    const t = this.#tuning;
    const acf = this.#acf;
    const err = this.#err;
    const basePrecision = Math.min(15, defaultPrecision(n));
    const precisions = t.precisionSearch
      ? [basePrecision, Math.min(15, basePrecision + 2), 15].filter((p, i, a) => a.indexOf(p) === i)
      : [basePrecision];
    const est = new Float64Array(maxOrder + 1);
    for (const spec of t.windows) {
      const w = makeWindow(spec, n);
      autocorrelation(sig, n, w, maxOrder, acf, this.#win);
      if (!(acf[0] > 0)) continue;
      const top = levinsonDurbin(acf, maxOrder, this.#lp, err);
      if (top < 1) continue;
      // estimated bits per order: residual entropy plus coefficient and warm-up cost
      const scale = 0.5 / n;
      for (let m = 1; m <= top; m++) {
        const e = err[m] * scale;
        const bps = e > 0 ? Math.max(0, 0.5 * Math.log2(e)) : 0;
        est[m] = bps * (n - m) + m * (sbps + basePrecision);
      }
      const cands: number[] = [];
      for (let c = 0; c < t.lpcCandidates; c++) {
        let bm = -1;
        for (let m = 1; m <= top; m++) {
          if (cands.includes(m)) continue;
          if (bm < 0 || est[m] < est[bm]) bm = m;
        }
        if (bm < 0) break;
        cands.push(bm);
      }
      for (const m of cands) {
        for (const prec of precisions) {
          const shift = quantizeCoefs(this.#lp[m - 1], m, prec, this.#q);
          if (shift < 0) continue;
          if (!lpcResidual(sig, n, this.#q, m, shift, this.#res)) continue;
          const rb = planRice(this.#res, n, m, t.maxPartitionOrder, this.#scratch, this.#tmpPlan);
          const bits = header + m * sbps + 9 + m * prec + rb;
          if (bits < this.bits) {
            this.#accept(SubframeKind.LPC, m, bits);
            this.precision = prec;
            this.shift = shift;
            this.coefs.set(this.#q.subarray(0, m));
          }
        }
      }
    }
  }

  /** Writes the subframe chosen by the last {@linkcode analyse}. */
  write(w: BitWriter): void {
    const n = this.#n;
    const sbps = this.sbps;
    w.ensure(16 + ((n * (sbps + 1)) >> 3));
    w.writeSmall(0, 1); // 1 bit: zero padding
    switch (this.kind) {
      case SubframeKind.CONSTANT:
        w.writeSmall(0, 6); // 6 bits: type CONSTANT
        w.writeSmall(0, 1); // 1 bit: no wasted bits
        w.writeSigned(this.constantValue, sbps); // the value
        return;
      case SubframeKind.VERBATIM:
        w.writeSmall(1, 6); // 6 bits: type VERBATIM
        break;
      case SubframeKind.FIXED:
        w.writeSmall(8 + this.order, 6); // 6 bits: type FIXED, order
        break;
      default:
        w.writeSmall(32 + this.order - 1, 6); // 6 bits: type LPC, order - 1
    }
    if (this.wasted > 0) {
      w.writeSmall(1, 1); // 1 bit: wasted bits flag
      w.writeUnary(this.wasted - 1); // unary: wasted bits - 1
    } else w.writeSmall(0, 1); // 1 bit: no wasted bits
    const sig = this.#sig;
    if (this.kind === SubframeKind.VERBATIM) {
      for (let i = 0; i < n; i++) w.writeSigned(sig[i], sbps); // unencoded samples
      return;
    }
    const order = this.order;
    for (let i = 0; i < order; i++) w.writeSigned(sig[i], sbps); // warm-up samples
    if (this.kind === SubframeKind.LPC) {
      w.writeSmall(this.precision - 1, 4); // 4 bits: coefficient precision - 1
      w.writeSigned(this.shift, 5); // 5 bits: prediction right shift
      for (let j = 0; j < order; j++) w.writeSigned(this.coefs[j], this.precision); // coefficients
    }
    writeResidual(w, this.#best, n, order, this.#plan);
  }
}
