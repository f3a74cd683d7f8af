/**
 * Segment files: standard FLAC streams holding the sorted samples of one or more series, one
 * series range after the other ("packed": short series share a file instead of paying a FLAC
 * header, a directory entry and an index entry each).
 *
 * Channels (all at the same bit depth, independent):
 * - channel 0: timestamps, `ts[i] - ts[i-1] - stepMs` within a range (0 for a range's first
 *   sample), see `timestamps.ts`;
 * - channel 1 (and 2 when any range of the file is `dec2`/`f64`): values, see `value_map.ts`.
 *   `dec` ranges in a 3-channel file leave channel 2 at 0; they are laid out first, so whole
 *   frames of zeros become FLAC CONSTANT subframes.
 *
 * The parameters of each range (`at`, `ts[0]`, `stepMs`, mode, scale, exceptions, seek
 * timestamps) and of each file (frame byte offsets) live in the store index; the FLAC file holds
 * the integer samples only, and its sample rate field is 1000 (one unit = one ms, a hint for
 * humans; ignored by the store).
 *
 * @module
 */
import { hexOfWords } from "../model/value.ts";
import { decodeFlac, decodeFlacRange, encodeFlacWithIndex } from "../flac/mod.ts";
import { InputError } from "../errors.ts";
import type { ExceptionEntry, FileEntry, RangeEntry } from "./index_file.ts";
import {
  type MappedValues,
  mapValues,
  oneValueNumerator,
  oneValueScale,
  unmapValues,
} from "./value_map.ts";
import { rebuildTimestamps, typicalStepMs, writeTimestampChannel } from "./timestamps.ts";

/** Block size {@linkcode encodePack} uses when none is given (the store picks 512 or 1024 per file). */
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

/** Options of {@linkcode encodePack}. */
export interface EncodePackOptions {
  /** Samples per FLAC frame. Default {@linkcode DEFAULT_BLOCK_SIZE}. */
  blockSize?: number;
  /** FLAC compression level passed to the codec (0–8). Default the codec's default. */
  level?: number;
}

/** An encoded segment file: its FLAC bytes, its file entry and one range entry per input block. */
export interface EncodedPack {
  /** The FLAC stream. */
  bytes: Uint8Array;
  /** File entry; `file` is set by the store. */
  file: Omit<FileEntry, "file">;
  /** Range entries in the order of the input blocks; `file` is set by the store. */
  ranges: Omit<RangeEntry, "file">[];
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

function clampBlockSize(blockSize: number | undefined): number {
  return Math.max(16, Math.min(blockSize ?? DEFAULT_BLOCK_SIZE, 65535));
}

/**
 * Encodes blocks of sorted samples (each: timestamps ascending, gaps ≤ `MAX_GAP_MS`, at least
 * one sample) as one FLAC file, each block a range. Blocks whose values need one channel come
 * first, in input order, then the others. `blocks` are only read.
 */
export function encodePack(blocks: SampleBlock[], options: EncodePackOptions = {}): EncodedPack {
  const blockSize = clampBlockSize(options.blockSize);
  const n = blocks.length;
  // A block of one value a decimal scale captures (a scrape of many series: most blocks) gets
  // its scale and numerator here, in typed arrays; the others their `MappedValues` (a million
  // of those, each with a channel array, were most of the garbage of packing a million series).
  const mapped = new Array<MappedValues | undefined>(n);
  const oneScale = new Int8Array(n);
  const oneNumerator = new Float64Array(n);
  const channelsOf = new Uint8Array(n);
  const steps = new Float64Array(n);
  let valueChannels = 1;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const b = blocks[i];
    if (b.timestampsMs.length === 0) throw new RangeError("encodePack: empty block");
    const k = b.values.length === 1 ? oneValueScale(b.values[0]) : -1;
    if (k >= 0) {
      oneScale[i] = k;
      oneNumerator[i] = oneValueNumerator(b.values[0], k);
      channelsOf[i] = 1;
    } else {
      const m = mapValues(b.values);
      mapped[i] = m;
      channelsOf[i] = m.channels.length;
      valueChannels = Math.max(valueChannels, m.channels.length);
    }
    steps[i] = typicalStepMs(b.timestampsMs);
    total += b.timestampsMs.length;
  }
  // Blocks of one value channel first, then the others, each in input order (a stable
  // partition: sorting a million indexes with a comparator took half a second).
  const layout = new Int32Array(n);
  let front = 0;
  for (let i = 0; i < n; i++) if (channelsOf[i] === 1) layout[front++] = i;
  for (let i = 0; i < n; i++) if (channelsOf[i] !== 1) layout[front++] = i;
  const channels = Array.from({ length: 1 + valueChannels }, () => new Int32Array(total));
  const starts = new Array<number>(blocks.length);
  let at = 0;
  // No array per block (a commit of a million one-sample series packs a million blocks).
  const tsChannel = channels[0];
  for (const i of layout) {
    starts[i] = at;
    const ts = blocks[i].timestampsMs;
    writeTimestampChannel(ts, steps[i], tsChannel, at);
    const m = mapped[i];
    if (!m) channels[1][at] = oneNumerator[i];
    else {
      for (let c = 0; c < m.channels.length; c++) {
        const ch = m.channels[c];
        if (ch.length === 1) channels[1 + c][at] = ch[0];
        else channels[1 + c].set(ch, at);
      }
    }
    at += ts.length;
  }
  const bps = bitsFor(channels);
  const { bytes, frames } = encodeFlacWithIndex(channels, {
    bitsPerSample: bps,
    sampleRate: SEGMENT_SAMPLE_RATE,
    blockSize,
    ...(options.level !== undefined ? { level: options.level } : {}),
  });
  frames.forEach((f, i) => {
    if (f.sampleOffset !== i * blockSize) {
      throw new Error(`encoder wrote frame ${i} at sample ${f.sampleOffset}, not ${i * blockSize}`);
    }
  });
  const ranges = blocks.map((b, i): Omit<RangeEntry, "file"> => {
    const ts = b.timestampsMs;
    const count = ts.length;
    const m = mapped[i];
    // `file` is a field of the literal (the store sets it): a property added later would take
    // a properties array of its own, for each of a million ranges.
    const range: Omit<RangeEntry, "file"> & { file: string } = {
      at: starts[i],
      count,
      minTs: ts[0],
      maxTs: ts[count - 1],
      stepMs: steps[i],
      mode: m ? m.mode : "dec",
      scale: m ? m.scale : oneScale[i],
      file: "",
    };
    if (m?.exceptions.length) {
      const exceptions: ExceptionEntry[] = [];
      const e = m.exceptions;
      for (let j = 0; j < e.length; j += 3) {
        exceptions.push([e[j], hexOfWords(e[j + 1], e[j + 2])]);
      }
      range.exceptions = exceptions;
    }
    const first = firstBoundary(starts[i], blockSize);
    if (first < count) {
      const seek: number[] = [];
      for (let p = first; p < count; p += blockSize) seek.push(ts[p]);
      range.seek = seek;
    }
    return range;
  });
  return {
    bytes,
    file: {
      bytes: bytes.length,
      count: total,
      channels: 1 + valueChannels,
      bps,
      blockSize,
      frames: frames.map((f) => f.byteOffset),
    },
    ranges,
  };
}

/** Position, relative to a range starting at file sample `at`, of the first frame start after it. */
function firstBoundary(at: number, blockSize: number): number {
  return (Math.floor(at / blockSize) + 1) * blockSize - at;
}

/** The samples of a range to decode for a time window: `[first, end)` relative to the range. */
export interface RangeSpan {
  /** First sample to decode (a frame start or the range's start). */
  first: number;
  /** One past the last sample to decode. */
  end: number;
  /** Timestamp of sample `first`. */
  firstTs: number;
}

/**
 * The part of a range whose frames can hold timestamps in `[startMs, endMs]`, or `undefined`
 * when the range cannot. Uses the seek timestamps, so only covering frames get decoded.
 */
export function rangeSpan(
  range: Omit<RangeEntry, "file">,
  blockSize: number,
  startMs: number,
  endMs: number,
): RangeSpan | undefined {
  if (endMs < range.minTs || startMs > range.maxTs || range.count === 0) return undefined;
  const seek = range.seek ?? [];
  const b0 = firstBoundary(range.at, blockSize);
  const pos = (piece: number) => (piece === 0 ? 0 : b0 + (piece - 1) * blockSize);
  const startTs = (piece: number) => (piece === 0 ? range.minTs : seek[piece - 1]);
  const pieces = 1 + seek.length;
  let firstPiece = 0;
  // The last piece starting at or before startMs (earlier ones end before it).
  for (let i = 1; i < pieces; i++) if (startTs(i) <= startMs) firstPiece = i;
  // Equal timestamps may straddle a frame boundary: step back over pieces starting at startMs.
  while (firstPiece > 0 && startTs(firstPiece) === startMs) firstPiece--;
  let lastPiece = firstPiece;
  while (lastPiece + 1 < pieces && startTs(lastPiece + 1) <= endMs) lastPiece++;
  return {
    first: pos(firstPiece),
    end: lastPiece + 1 < pieces ? pos(lastPiece + 1) : range.count,
    firstTs: startTs(firstPiece),
  };
}

/** The bytes of a file a span needs: frames `[firstFrame, endFrame)` at `[byteStart, byteEnd)`. */
export interface ByteSpan {
  /** First frame to read. */
  firstFrame: number;
  /** Last frame to read. */
  lastFrame: number;
  /** Byte offset of that frame. */
  byteStart: number;
  /** One past the last byte to read. */
  byteEnd: number;
  /** Whether this is every frame of the file. */
  whole: boolean;
}

/** Which frames (and bytes) of `file` hold samples `[at + span.first, at + span.end)`. */
export function byteSpan(file: Omit<FileEntry, "file">, at: number, span: RangeSpan): ByteSpan {
  const b = file.blockSize;
  const firstFrame = Math.floor((at + span.first) / b);
  const lastFrame = Math.floor((at + span.end - 1) / b);
  const byteEnd = lastFrame + 1 < file.frames.length ? file.frames[lastFrame + 1] : file.bytes;
  return {
    firstFrame,
    lastFrame,
    byteStart: file.frames[firstFrame],
    byteEnd,
    whole: firstFrame === 0 && byteEnd === file.bytes,
  };
}

const NO_EXCEPTION_WORDS = new Uint32Array(0);

function exceptionWords(range: Omit<RangeEntry, "file">): Uint32Array {
  const list = range.exceptions ?? [];
  if (!list.length) return NO_EXCEPTION_WORDS;
  const out = new Uint32Array(list.length * 3);
  for (let i = 0; i < list.length; i++) {
    out[3 * i] = list[i][0];
    out[3 * i + 1] = parseInt(list[i][1].slice(0, 8), 16);
    out[3 * i + 2] = parseInt(list[i][1].slice(8, 16), 16);
  }
  return out;
}

/** First sample index with timestamp ≥ startMs and one past the last with timestamp ≤ endMs. */
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

/** Decoded frames of a file: every channel from file sample `firstSample` on. */
export interface DecodedFrames {
  /** The channels. */
  channels: Int32Array[];
  /** File sample of element 0 of each channel. */
  firstSample: number;
}

/**
 * Decodes the whole frames of a byte span. `bytes` holds either the whole file
 * (`bytes.length === file.bytes`; when the span is the whole file its MD5 is checked too), or
 * the FLAC header (`file.frames[0]` bytes) followed by the span's bytes.
 */
export function decodeFrames(
  bytes: Uint8Array,
  file: Omit<FileEntry, "file">,
  span: ByteSpan,
  where = "segment",
): DecodedFrames {
  try {
    if (span.whole && bytes.length === file.bytes) {
      return { channels: decodeFlac(bytes).channels, firstSample: 0 };
    }
    const firstSample = span.firstFrame * file.blockSize;
    const lastSample = Math.min(file.count, (span.lastFrame + 1) * file.blockSize) - 1;
    const frames = [{
      sampleOffset: firstSample,
      byteOffset: bytes.length === file.bytes ? span.byteStart : file.frames[0],
      sampleCount: 0,
      byteLength: 0,
    }];
    const { channels } = decodeFlacRange(bytes, { firstSample, lastSample, frames });
    const n = lastSample - firstSample + 1;
    if (channels.length !== file.channels || channels[0].length !== n) {
      throw new Error(
        `decoded ${channels.length} channels of ${
          channels[0]?.length ?? 0
        } samples, the index says ${file.channels} of ${n}`,
      );
    }
    return { channels, firstSample };
  } catch (err) {
    throw new InputError(`cannot decode segment: ${(err as Error).message}`, { where, cause: err });
  }
}

/**
 * The samples of a range with timestamps in `[startMs, endMs]`, from decoded frames that cover
 * `span` (see {@linkcode rangeSpan}).
 */
export function rangeSamples(
  decoded: DecodedFrames,
  range: Omit<RangeEntry, "file">,
  span: RangeSpan,
  startMs = -Infinity,
  endMs = Infinity,
  where = "segment",
): SampleBlock {
  const chs = decoded.channels;
  const need = range.mode === "dec" ? 2 : 3;
  if (chs.length < need) {
    throw new InputError(
      `segment has ${chs.length} channels, its range (mode ${range.mode}) needs ${need}`,
      { where },
    );
  }
  // Range-relative index of element 0 of the decoded channels.
  const channelStart = decoded.firstSample - range.at;
  if (span.first < channelStart || span.end - channelStart > chs[0].length) {
    throw new InputError(`decoded frames do not cover the range`, { where });
  }
  const n = span.end - span.first;
  const ts = new Float64Array(n);
  rebuildTimestamps(chs[0], span.first - channelStart, span.firstTs, range.stepMs, ts);
  const [from, to] = rangeIn(ts, startMs, endMs);
  const values = new Float64Array(to - from);
  unmapValues(range.mode, range.scale, chs.slice(1, need), exceptionWords(range), values, {
    from: span.first + from,
    channelStart,
  });
  // The whole array when nothing is cut (a view of a small array costs it a buffer of its own).
  return { timestampsMs: from === 0 && to === n ? ts : ts.subarray(from, to), values };
}
