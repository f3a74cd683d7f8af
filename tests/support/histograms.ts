/**
 * Native histograms for tests: an integer one with both bucket sides, and a float one with
 * custom bounds and a stale sum.
 *
 * @module
 */
import { emptyHistogram, type NativeHistogram } from "../../lib/model/histogram.ts";
import { STALE_NAN_HEX } from "../../lib/model/value.ts";

/** An integer histogram with both bucket sides, a StaleNaN-free sum and a reset hint. */
export function integerHistogram(timestampMs: number): NativeHistogram {
  return {
    ...emptyHistogram(timestampMs),
    count: { value: 12 },
    sum: { value: 18.4 },
    schema: 1,
    zeroThreshold: { value: 0.001 },
    zeroCount: { value: 2 },
    negativeSpans: [0, 2],
    negativeDeltas: [1, 1],
    positiveSpans: [0, 2, 1, 2],
    positiveDeltas: [1, 1, -1, 0],
    resetHint: 2,
  };
}

/** A float histogram with custom bounds (schema -53) and a stale sum. */
export function floatCustomHistogram(timestampMs: number): NativeHistogram {
  const h = emptyHistogram(timestampMs);
  h.isFloat = true;
  h.count = { value: 7.5 };
  h.sum = { value: NaN, nanBits: STALE_NAN_HEX };
  h.schema = -53;
  h.zeroCount = { value: -0 };
  h.positiveSpans = [0, 3];
  h.positiveCounts = new Float64Array([1.5, 2, 4]);
  h.customValues = new Float64Array([0.1, 0.5, 1]);
  h.resetHint = 3;
  return h;
}

/**
 * A counter histogram series of `n` samples 1 s apart from `startMs`: schema 2, the default zero
 * threshold (2^-128), both bucket sides; a new bucket appears at n/3 (a layout change), the
 * counters reset at 2n/3, and the last sample is a stale marker.
 */
export function histogramSeries(startMs: number, n: number): NativeHistogram[] {
  const out: NativeHistogram[] = [];
  let base = 0;
  for (let i = 0; i < n; i++) {
    if (i === Math.floor((2 * n) / 3)) base = i; // counter reset
    const k = i - base + 1;
    const wide = i >= Math.floor(n / 3);
    const pos = wide ? [k, 3 * k, 2 * k, k + (i % 3)] : [k, 3 * k, 2 * k];
    const neg = [k % 5, 2 * k];
    const h = emptyHistogram(startMs + i * 1000 + (i % 7 === 3 ? 17 : 0));
    h.schema = 2;
    h.zeroThreshold = { value: 2 ** -128 };
    h.zeroCount = { value: k };
    h.positiveSpans = wide ? [-2, 3, 2, 1] : [-2, 3];
    h.negativeSpans = [1, 2];
    h.positiveDeltas = pos.map((v, j) => v - (j ? pos[j - 1] : 0));
    h.negativeDeltas = neg.map((v, j) => v - (j ? neg[j - 1] : 0));
    const count = k + pos.reduce((a, b) => a + b, 0) + neg.reduce((a, b) => a + b, 0);
    h.count = { value: count };
    h.sum = { value: count * 0.37 + (i % 11) / 8 };
    h.resetHint = i === Math.floor((2 * n) / 3) ? 1 : 0;
    out.push(h);
  }
  out[n - 1].sum = { value: NaN, nanBits: STALE_NAN_HEX };
  return out;
}
