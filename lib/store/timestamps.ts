/**
 * The timestamp channel of a segment: `ts[i] - ts[i-1] - stepMs` with `ts[0]` and `stepMs` in
 * the index. Regular intervals give an all-zero channel (a FLAC CONSTANT subframe: a few bytes
 * per frame); jitter and gaps stay exact.
 *
 * @module
 */

/** Largest gap between two samples of one segment, in ms (the channel is 32-bit; segments are cut at larger gaps). */
export const MAX_GAP_MS = 2 ** 30;

/** The most frequent interval of sorted timestamps (0 for fewer than two samples). */
export function typicalStepMs(timestampsMs: Float64Array): number {
  const n = timestampsMs.length;
  if (n < 2) return 0;
  const counts = new Map<number, number>();
  let best = 0;
  let bestCount = 0;
  // Sampling every interval is exact; a cap keeps pathological inputs cheap.
  const stride = Math.max(1, Math.floor(n / 65536));
  for (let i = 1; i < n; i += stride) {
    const d = timestampsMs[i] - timestampsMs[i - 1];
    const c = (counts.get(d) ?? 0) + 1;
    counts.set(d, c);
    if (c > bestCount) {
      bestCount = c;
      best = d;
    }
  }
  return best;
}

/**
 * Writes the timestamp channel of sorted timestamps whose gaps are all ≤ {@linkcode MAX_GAP_MS}
 * into `out` from position `at`.
 */
export function writeTimestampChannel(
  timestampsMs: Float64Array,
  stepMs: number,
  out: Int32Array,
  at: number,
): void {
  const n = timestampsMs.length;
  out[at] = 0; // a range's first sample
  for (let i = 1; i < n; i++) out[at + i] = timestampsMs[i] - timestampsMs[i - 1] - stepMs;
}

/**
 * Rebuilds timestamps from a decoded channel: `out[0] = firstTimestampMs`, then cumulative
 * sums. `channelStart` is the position in `channel` of `out[0]`.
 */
export function rebuildTimestamps(
  channel: Int32Array,
  channelStart: number,
  firstTimestampMs: number,
  stepMs: number,
  out: Float64Array,
): void {
  if (out.length === 0) return;
  let t = firstTimestampMs;
  out[0] = t;
  for (let i = 1; i < out.length; i++) {
    t += channel[channelStart + i] + stepMs;
    out[i] = t;
  }
}
