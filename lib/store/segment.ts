/**
 * One segment: the sorted samples of one series over a time range, as a standard FLAC stream.
 *
 * Channels (all at the same bit depth, independent):
 * - channel 0: timestamps, `ts[i] - ts[i-1] - stepMs` (0 for i = 0), see `timestamps.ts`;
 * - channel 1 (and 2 for `dec2`/`f64`): values, see `value_map.ts`.
 *
 * The parameters (`ts[0]`, `stepMs`, mode, scale, exceptions, seek points) live in the store
 * index entry ({@linkcode SegmentEntry}); the FLAC file holds the integer samples only, and its
 * sample rate field is 1000 (one unit = one ms, a hint for humans; ignored by the store).
 *
 * @module
 */
import { decodeChannels, encodeChannels } from "./codec.ts";
import { InputError } from "../errors.ts";
import type { ExceptionEntry, FrameEntry, SegmentEntry } from "./index_file.ts";
import { mapValues, unmapValues } from "./value_map.ts";
import { rebuildTimestamps, timestampChannel, typicalStepMs } from "./timestamps.ts";

/** Default FLAC block size of segments (samples per frame, also the seek granularity). */
export const DEFAULT_BLOCK_SIZE = 4096;

/** FLAC sample rate written into segments (a hint: one timestamp unit is 1 ms). */
export const SEGMENT_SAMPLE_RATE = 1000;

/** Bit depths segments use: those `flac -d --force-raw-format` can write (and a frame header encodes). */
const BIT_DEPTHS = [8, 16, 24, 32];

/** Samples of one series: sorted timestamps and their values (NaN bits exact). */
export interface SampleBlock {
  /** Timestamps in ms, ascending. */
  timestampsMs: Float64Array;
  /** Values, bit-exact (read NaN payloads through a DataView or word view). */
  values: Float64Array;
}

/** Options of {@linkcode encodeSegment}. */
export interface EncodeSegmentOptions {
  /** Samples per FLAC frame. Default {@linkcode DEFAULT_BLOCK_SIZE}. */
  blockSize?: number;
  /** FLAC compression level passed to the codec (0–8). Default the codec's default. */
  level?: number;
}

/** An encoded segment: its FLAC bytes and its index entry (without `file`). */
export interface EncodedSegment {
  /** The FLAC stream. */
  bytes: Uint8Array;
  /** Index entry; `file` is set by the store. */
  entry: Omit<SegmentEntry, "file">;
}

function bitsFor(channels: Int32Array[]): number {
  let min = 0;
  let max = 0;
  for (const ch of channels) {
    for (let i = 0; i < ch.length; i++) {
      const v = ch[i];
      if (v < min) min = v;
      else if (v > max) max = v;
    }
  }
  let bits = 1;
  while (max > 2 ** (bits - 1) - 1 || min < -(2 ** (bits - 1))) bits++;
  for (const b of BIT_DEPTHS) if (b >= bits) return b;
  return 32;
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

/**
 * Encodes sorted samples (timestamps ascending, gaps ≤ `MAX_GAP_MS`) as a FLAC segment.
 * `values` is only read.
 */
export function encodeSegment(
  timestampsMs: Float64Array,
  values: Float64Array,
  options: EncodeSegmentOptions = {},
): EncodedSegment {
  const count = timestampsMs.length;
  const blockSize = Math.max(16, Math.min(options.blockSize ?? DEFAULT_BLOCK_SIZE, 65535));
  const stepMs = typicalStepMs(timestampsMs);
  const tsChannel = timestampChannel(timestampsMs, stepMs);
  const mapped = mapValues(values);
  const channels = [tsChannel, ...mapped.channels];
  const bps = bitsFor(channels);
  const { bytes, frames } = encodeChannels(channels, {
    bitsPerSample: bps,
    sampleRate: SEGMENT_SAMPLE_RATE,
    blockSize,
    ...(options.level !== undefined ? { level: options.level } : {}),
  });
  const entry: Omit<SegmentEntry, "file"> = {
    minTs: timestampsMs[0],
    maxTs: timestampsMs[count - 1],
    count,
    bytes: bytes.length,
    bps,
    blockSize,
    stepMs,
    mode: mapped.mode,
    scale: mapped.scale,
  };
  if (mapped.exceptions.length) {
    const exceptions: ExceptionEntry[] = [];
    const e = mapped.exceptions;
    for (let i = 0; i < e.length; i += 3) exceptions.push([e[i], hex8(e[i + 1]) + hex8(e[i + 2])]);
    entry.exceptions = exceptions;
  }
  if (frames.length > 1) {
    entry.frames = frames.slice(1).map((f): FrameEntry => [
      f.byteOffset,
      f.sampleOffset,
      timestampsMs[f.sampleOffset],
    ]);
  }
  return { bytes, entry };
}

function exceptionWords(entry: Omit<SegmentEntry, "file">): Uint32Array {
  const list = entry.exceptions ?? [];
  const out = new Uint32Array(list.length * 3);
  for (let i = 0; i < list.length; i++) {
    out[3 * i] = list[i][0];
    out[3 * i + 1] = parseInt(list[i][1].slice(0, 8), 16);
    out[3 * i + 2] = parseInt(list[i][1].slice(8, 16), 16);
  }
  return out;
}

/** First sample index with timestamp ≥ startMs and one past the last with timestamp ≤ endMs, from a block. */
function rangeIn(ts: Float64Array, startMs: number, endMs: number): [number, number] {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] < startMs) lo = mid + 1;
    else hi = mid;
  }
  const first = lo;
  hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] <= endMs) lo = mid + 1;
    else hi = mid;
  }
  return [first, lo];
}

/** The frames (by index into [frame 0, ...entry.frames]) whose time span meets [startMs, endMs]. */
function coveringFrames(
  entry: Omit<SegmentEntry, "file">,
  startMs: number,
  endMs: number,
): { firstFrame: number; lastFrame: number } {
  const starts = [entry.minTs, ...(entry.frames ?? []).map((f) => f[2])];
  let firstFrame = 0;
  // The last frame that starts at or before startMs (earlier ones end before it).
  for (let i = 1; i < starts.length; i++) if (starts[i] <= startMs) firstFrame = i;
  // Equal timestamps may straddle a frame boundary: step back over frames starting at startMs.
  while (firstFrame > 0 && starts[firstFrame] === startMs) firstFrame--;
  let lastFrame = firstFrame;
  while (lastFrame + 1 < starts.length && starts[lastFrame + 1] <= endMs) lastFrame++;
  return { firstFrame, lastFrame };
}

/**
 * Decodes the samples of a segment with timestamps in [startMs, endMs], decoding only the
 * frames that cover the range. `bytes` is the whole segment file.
 */
export function decodeSegment(
  bytes: Uint8Array,
  entry: Omit<SegmentEntry, "file">,
  startMs = -Infinity,
  endMs = Infinity,
  where = "segment",
): SampleBlock {
  if (endMs < entry.minTs || startMs > entry.maxTs || entry.count === 0) {
    return { timestampsMs: new Float64Array(0), values: new Float64Array(0) };
  }
  const { firstFrame, lastFrame } = coveringFrames(entry, startMs, endMs);
  const frameCount = 1 + (entry.frames?.length ?? 0);
  const firstSample = firstFrame === 0 ? 0 : entry.frames![firstFrame - 1][1];
  const endSample = lastFrame + 1 < frameCount ? entry.frames![lastFrame][1] : entry.count;
  const firstTs = firstFrame === 0 ? entry.minTs : entry.frames![firstFrame - 1][2];
  let channels: Int32Array[];
  let channelStart: number;
  try {
    const whole = firstFrame === 0 && lastFrame === frameCount - 1;
    const seek = (entry.frames ?? []).map((f) => ({ sampleOffset: f[1], byteOffset: f[0] }));
    const r = decodeChannels(
      bytes,
      whole ? undefined : { firstSample, lastSample: endSample - 1 },
      seek,
    );
    channels = r.channels;
    channelStart = r.firstSample;
  } catch (err) {
    throw new InputError(`cannot decode segment: ${(err as Error).message}`, { where, cause: err });
  }
  const expectedChannels = entry.mode === "dec" ? 2 : 3;
  if (channels.length !== expectedChannels) {
    throw new InputError(
      `segment has ${channels.length} channels, its index entry (mode ${entry.mode}) needs ${expectedChannels}`,
      { where },
    );
  }
  const n = endSample - firstSample;
  const ts = new Float64Array(n);
  rebuildTimestamps(channels[0], firstSample - channelStart, firstTs, entry.stepMs, ts);
  const [from, to] = rangeIn(ts, startMs, endMs);
  const values = new Float64Array(to - from);
  unmapValues(entry.mode, entry.scale, channels.slice(1), exceptionWords(entry), values, {
    from: firstSample + from,
    channelStart,
  });
  return { timestampsMs: ts.subarray(from, to), values };
}
