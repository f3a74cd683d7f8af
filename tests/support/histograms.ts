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
