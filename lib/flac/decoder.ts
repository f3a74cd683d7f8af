/**
 * The FLAC decoder: whole-buffer {@linkcode decodeFlac}, range decoding with a frame index or
 * SEEKTABLE ({@linkcode decodeFlacRange}), and a streaming {@linkcode FlacStreamDecoder} /
 * {@linkcode decodeFlacStream} that yields frames as bytes arrive.
 *
 * Every frame's CRC-8 and CRC-16 are checked, frame numbers must be consecutive, the sample
 * count must match STREAMINFO, and the MD5 is verified when STREAMINFO has one. Errors are
 * {@linkcode InputError}s saying where (byte offset, frame number) and what is wrong.
 * Allocation grows with the data actually decoded, never with sizes the input claims.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import type { FrameIndexEntry } from "./encoder.ts";
import type { FrameHeader } from "./frame_header.ts";
import { FrameDecoder } from "./frame_decoder.ts";
import { SampleMd5 } from "./md5.ts";
import { type FlacMetadata, parseMetadata, type StreamInfo } from "./metadata.ts";

/** Result of {@linkcode decodeFlac}. */
export interface DecodedFlac {
  /** Samples per channel. */
  channels: Int32Array[];
  /** Bits per sample of the stream. */
  bitsPerSample: number;
  /** Sample rate in Hz (0 when unspecified). */
  sampleRate: number;
  /** MD5 of the decoded samples (equal to STREAMINFO's when that is set: it was verified). */
  md5: Uint8Array;
  /** Whether STREAMINFO carried an MD5 (so it was checked). */
  md5Checked: boolean;
  /** All metadata (STREAMINFO, SEEKTABLE, comments, APPLICATION blocks). */
  metadata: FlacMetadata;
}

/** Options of the decoders. */
export interface DecodeOptions {
  /** Check the MD5 of the samples against STREAMINFO (default true). */
  verifyMd5?: boolean;
}

function metadataOf(bytes: Uint8Array): FlacMetadata {
  const m = parseMetadata(bytes);
  if ("needBytes" in m) {
    throw new InputError(
      `truncated FLAC metadata: needs ${m.needBytes} bytes, got ${bytes.length}`,
      { where: `byte ${bytes.length}` },
    );
  }
  return m.metadata;
}

/** Reads only the metadata of a FLAC stream (no frames are decoded). */
export function readFlacMetadata(bytes: Uint8Array): FlacMetadata {
  return metadataOf(bytes);
}

/** First sample of a frame, from its header. */
function frameFirstSample(h: FrameHeader, info: StreamInfo): number {
  return h.variable ? h.number : h.number * info.maxBlockSize;
}

function isTrailingId3v1(bytes: Uint8Array, pos: number): boolean {
  return bytes.length - pos === 128 && bytes[pos] === 0x54 && bytes[pos + 1] === 0x41 &&
    bytes[pos + 2] === 0x47;
}

function grow(arrays: Int32Array[], need: number): Int32Array[] {
  let cap = arrays[0].length;
  if (cap >= need) return arrays;
  while (cap < need) cap = Math.max(cap * 2, 4096);
  return arrays.map((a) => {
    const b = new Int32Array(cap);
    b.set(a);
    return b;
  });
}

/**
 * Decodes a whole FLAC stream. Throws an {@linkcode InputError} on any damage: bad CRC,
 * truncation, missing frames, wrong sample count or MD5 mismatch.
 */
export function decodeFlac(bytes: Uint8Array, options: DecodeOptions = {}): DecodedFlac {
  const metadata = metadataOf(bytes);
  const info = metadata.streamInfo;
  const nch = info.channels;
  const initial = Math.min(info.totalSamples, Math.max(1 << 16, bytes.length * 64));
  let out: Int32Array[] = Array.from({ length: nch }, () => new Int32Array(initial));
  const fd = new FrameDecoder();
  const md5 = new SampleMd5(info.bitsPerSample);
  let pos = metadata.audioOffset;
  let frame = 0;
  let samples = 0;
  while (pos < bytes.length) {
    if (isTrailingId3v1(bytes, pos)) break;
    const r = fd.decode(bytes, pos, bytes.length, info, frame);
    if (r === null) {
      throw new InputError(
        `truncated frame (the stream ends ${bytes.length - pos} bytes into it)`,
        { where: `byte ${pos}, frame ${frame}` },
      );
    }
    checkFramePosition(r.header, frame, samples, pos);
    const n = r.header.blockSize;
    out = grow(out, samples + n);
    fd.output(out, samples);
    md5.update(out, samples, n);
    samples += n;
    pos += r.length;
    frame++;
  }
  if (info.totalSamples !== 0 && samples !== info.totalSamples) {
    throw new InputError(
      `stream has ${samples} samples per channel, STREAMINFO says ${info.totalSamples}` +
        (samples < info.totalSamples ? " (truncated?)" : ""),
      { where: `byte ${pos}, frame ${frame}` },
    );
  }
  const digest = md5.digest();
  const md5Checked = info.md5.some((b) => b !== 0);
  if (md5Checked && options.verifyMd5 !== false) checkMd5(digest, info.md5);
  const channels = out.map((a) => (a.length === samples ? a : a.slice(0, samples)));
  return {
    channels,
    bitsPerSample: info.bitsPerSample,
    sampleRate: info.sampleRate,
    md5: digest,
    md5Checked,
    metadata,
  };
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function checkMd5(computed: Uint8Array, stored: Uint8Array): void {
  for (let i = 0; i < 16; i++) {
    if (computed[i] !== stored[i]) {
      throw new InputError(
        `MD5 of decoded samples ${hex(computed)} differs from STREAMINFO's ${hex(stored)}`,
      );
    }
  }
}

function checkFramePosition(
  h: FrameHeader,
  frame: number,
  samples: number,
  pos: number,
): void {
  const where = `byte ${pos}, frame ${frame}`;
  if (h.variable) {
    if (h.number !== samples) {
      throw new InputError(`frame starts at sample ${h.number}, expected ${samples}`, { where });
    }
  } else if (h.number !== frame) {
    throw new InputError(`frame number ${h.number}, expected ${frame} (frame lost?)`, { where });
  }
}

/** Options of {@linkcode decodeFlacRange}. */
export interface DecodeRangeOptions {
  /** First sample wanted (per channel, from 0). */
  firstSample: number;
  /** Last sample wanted, inclusive (clamped to the end of the stream). */
  lastSample: number;
  /**
   * Frame index from {@linkcode encodeFlacWithIndex} (byte offsets from the start of `bytes`).
   * Without it the SEEKTABLE is used if present, else frames are parsed from the start.
   */
  frames?: readonly FrameIndexEntry[];
}

/** Result of {@linkcode decodeFlacRange}. */
export interface DecodedRange {
  /** Samples `[firstSample, firstSample + length)` of each channel. */
  channels: Int32Array[];
  /** First sample returned (the requested one). */
  firstSample: number;
  /** Bits per sample of the stream. */
  bitsPerSample: number;
  /** Sample rate in Hz. */
  sampleRate: number;
  /** Frames decoded to answer. */
  framesDecoded: number;
}

/**
 * Decodes only the frames covering samples `[firstSample, lastSample]` (inclusive), starting
 * from the nearest frame found through `frames` or the SEEKTABLE. CRCs are checked; the MD5
 * (of the whole stream) is not. Returns empty channels when the range is past the end.
 */
export function decodeFlacRange(bytes: Uint8Array, options: DecodeRangeOptions): DecodedRange {
  const metadata = metadataOf(bytes);
  const info = metadata.streamInfo;
  const first = Math.max(0, Math.floor(options.firstSample));
  let last = Math.floor(options.lastSample);
  if (info.totalSamples > 0) last = Math.min(last, info.totalSamples - 1);
  let pos = metadata.audioOffset;
  let start = 0;
  const idx = options.frames;
  if (idx && idx.length > 0) {
    let lo = 0, hi = idx.length - 1, best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (idx[mid].sampleOffset <= first) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (best >= 0) {
      pos = idx[best].byteOffset;
      start = idx[best].sampleOffset;
    }
  } else if (metadata.seekTable) {
    for (const p of metadata.seekTable) {
      if (p.sampleNumber < 0 || p.sampleNumber > first) continue;
      if (p.sampleNumber >= start) {
        start = p.sampleNumber;
        pos = metadata.audioOffset + p.byteOffset;
      }
    }
  }
  const nch = info.channels;
  const want = Math.max(0, last - first + 1);
  const out = Array.from({ length: nch }, () => new Int32Array(Math.min(want, 1 << 20)));
  let result: Int32Array[] = out;
  let got = 0;
  const fd = new FrameDecoder();
  let framesDecoded = 0;
  let frameSample = start;
  while (pos < bytes.length && frameSample <= last && got < want) {
    if (isTrailingId3v1(bytes, pos)) break;
    const r = fd.decode(bytes, pos, bytes.length, info, framesDecoded);
    if (r === null) {
      throw new InputError("truncated frame", { where: `byte ${pos}` });
    }
    framesDecoded++;
    const h = r.header;
    const hs = frameFirstSample(h, info);
    if (hs !== frameSample) {
      throw new InputError(
        `frame at byte ${pos} starts at sample ${hs}, the index says ${frameSample}`,
        { where: `byte ${pos}` },
      );
    }
    const n = h.blockSize;
    const a = Math.max(first, frameSample);
    const b = Math.min(last, frameSample + n - 1);
    if (b >= a) {
      result = grow(result, got + (b - a + 1));
      fd.output(result, got, a - frameSample, b - a + 1);
      got += b - a + 1;
    }
    frameSample += n;
    pos += r.length;
  }
  return {
    channels: result.map((c) => (c.length === got ? c : c.slice(0, got))),
    firstSample: first,
    bitsPerSample: info.bitsPerSample,
    sampleRate: info.sampleRate,
    framesDecoded,
  };
}

/** One decoded frame from the streaming decoder. */
export interface DecodedFrame {
  /** Frame number (0-based, in stream order). */
  frameNumber: number;
  /** First sample of the frame (per channel). */
  sampleOffset: number;
  /** The frame's samples, one array per channel. */
  channels: Int32Array[];
  /** Byte offset of the frame in the stream. */
  byteOffset: number;
  /** Frame length in bytes. */
  byteLength: number;
}

/** Summary returned by {@linkcode FlacStreamDecoder.end}. */
export interface StreamSummary {
  /** Samples per channel decoded. */
  totalSamples: number;
  /** MD5 of the decoded samples. */
  md5: Uint8Array;
  /** Whether STREAMINFO carried an MD5 (so it was checked). */
  md5Checked: boolean;
}

/**
 * Push-based streaming decoder: feed chunks with {@linkcode push}, get the frames they complete;
 * call {@linkcode end} after the last chunk. Buffers at most one frame plus one chunk.
 */
export class FlacStreamDecoder {
  /** The metadata, once it has been read. */
  metadata?: FlacMetadata;
  #buf = new Uint8Array(1 << 16);
  #start = 0;
  #end = 0;
  #base = 0; // stream offset of #buf[0]
  #fd = new FrameDecoder();
  #md5?: SampleMd5;
  #frame = 0;
  #samples = 0;
  #maxFrameBytes = 0;
  #verify: boolean;

  /** A decoder; `options.verifyMd5` (default true) checks the MD5 at {@linkcode end}. */
  constructor(options: DecodeOptions = {}) {
    this.#verify = options.verifyMd5 !== false;
  }

  /** Adds bytes and returns every frame they complete. */
  push(chunk: Uint8Array): DecodedFrame[] {
    this.#append(chunk);
    const frames: DecodedFrame[] = [];
    if (!this.metadata) {
      const m = parseMetadata(this.#buf.subarray(this.#start, this.#end));
      if ("needBytes" in m) {
        if (m.needBytes > 64 << 20) {
          throw new InputError(`metadata of ${m.needBytes} bytes is too large`);
        }
        return frames;
      }
      this.metadata = m.metadata;
      const info = m.metadata.streamInfo;
      this.#start += m.metadata.audioOffset;
      this.#md5 = new SampleMd5(info.bitsPerSample);
      this.#maxFrameBytes = 1024 + info.channels * 5 * Math.max(info.maxBlockSize, 4096);
    }
    const info = this.metadata.streamInfo;
    for (;;) {
      if (this.#start >= this.#end) break;
      const r = this.#fd.decode(this.#buf, this.#start, this.#end, info, this.#frame, this.#base);
      if (r === null) {
        if (this.#end - this.#start > this.#maxFrameBytes) {
          throw new InputError(
            `no complete frame in ${this.#end - this.#start} bytes`,
            { where: `byte ${this.#base + this.#start}, frame ${this.#frame}` },
          );
        }
        break;
      }
      const byteOffset = this.#base + this.#start;
      checkFramePosition(r.header, this.#frame, this.#samples, byteOffset);
      const n = r.header.blockSize;
      const channels = Array.from({ length: info.channels }, () => new Int32Array(n));
      this.#fd.output(channels, 0);
      this.#md5!.update(channels, 0, n);
      frames.push({
        frameNumber: this.#frame,
        sampleOffset: this.#samples,
        channels,
        byteOffset,
        byteLength: r.length,
      });
      this.#samples += n;
      this.#frame++;
      this.#start += r.length;
    }
    return frames;
  }

  #append(chunk: Uint8Array): void {
    const live = this.#end - this.#start;
    if (this.#end + chunk.length > this.#buf.length) {
      if (live + chunk.length <= this.#buf.length && this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        let size = this.#buf.length * 2;
        while (size < live + chunk.length) size *= 2;
        const next = new Uint8Array(size);
        next.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = next;
      }
      this.#base += this.#start;
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** Checks that the stream ended cleanly (no partial frame, right sample count, MD5). */
  end(): StreamSummary {
    if (!this.metadata) throw new InputError("stream ended inside the FLAC metadata");
    const pos = this.#base + this.#start;
    const left = this.#end - this.#start;
    if (left > 0 && !isTrailingId3v1(this.#buf.subarray(0, this.#end), this.#start)) {
      // decode once more with the real end to report the precise problem
      const r = this.#fd.decode(
        this.#buf,
        this.#start,
        this.#end,
        this.metadata.streamInfo,
        this.#frame,
        this.#base,
      );
      if (r === null) {
        throw new InputError(`truncated frame (${left} bytes at the end)`, {
          where: `byte ${pos}, frame ${this.#frame}`,
        });
      }
    }
    const info = this.metadata.streamInfo;
    if (info.totalSamples !== 0 && this.#samples !== info.totalSamples) {
      throw new InputError(
        `stream has ${this.#samples} samples per channel, STREAMINFO says ${info.totalSamples}`,
        { where: `byte ${pos}, frame ${this.#frame}` },
      );
    }
    const md5 = this.#md5!.digest();
    const md5Checked = info.md5.some((b) => b !== 0);
    if (md5Checked && this.#verify) checkMd5(md5, info.md5);
    return { totalSamples: this.#samples, md5, md5Checked };
  }
}

/** An event of {@linkcode decodeFlacStream}. */
export type FlacStreamEvent =
  | { type: "metadata"; metadata: FlacMetadata }
  | { type: "frame"; frame: DecodedFrame }
  | { type: "end"; summary: StreamSummary };

/**
 * Decodes a FLAC byte stream as it arrives: yields the metadata, then each frame, then a
 * summary (after the MD5 check).
 */
export async function* decodeFlacStream(
  source: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
  options: DecodeOptions = {},
): AsyncGenerator<FlacStreamEvent> {
  const dec = new FlacStreamDecoder(options);
  let announced = false;
  for await (const chunk of source as AsyncIterable<Uint8Array>) {
    const frames = dec.push(chunk);
    if (!announced && dec.metadata) {
      announced = true;
      yield { type: "metadata", metadata: dec.metadata };
    }
    for (const frame of frames) yield { type: "frame", frame };
  }
  const summary = dec.end();
  if (!announced && dec.metadata) yield { type: "metadata", metadata: dec.metadata };
  yield { type: "end", summary };
}
