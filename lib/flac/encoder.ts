/**
 * The FLAC encoder: a streaming {@linkcode FlacEncoder} fed with blocks of per-channel
 * samples, and the whole-buffer {@linkcode encodeFlac} / {@linkcode encodeFlacWithIndex}.
 *
 * Streams use a fixed block size (the last block may be shorter). Two channels try the four
 * stereo decorrelations (independent, left/side, side/right, mid/side) when the side channel
 * fits in 32 bits, i.e. for up to 31 bits per sample; 32-bit stereo is coded independently.
 *
 * @module
 */
import { concatBytes } from "../bytes.ts";
import { InputError } from "../errors.ts";
import { BitWriter } from "./bit_writer.ts";
import { crc16 } from "./crc.ts";
import { ChannelAssignment, writeFrameHeader } from "./frame_header.ts";
import { SampleMd5 } from "./md5.ts";
import {
  type ApplicationBlock,
  BlockType,
  type SeekPoint,
  type StreamInfo,
  writeBlockHeader,
  writeSeekTable,
  writeStreamInfo,
  writeVorbisComment,
} from "./metadata.ts";
import { MAX_PARTITION_ORDER } from "./rice.ts";
import { type EncoderTuning, SubframeEncoder } from "./subframe_encoder.ts";

/** Default block size: 4096 samples (suits series of seconds-apart samples; 16–65535 allowed). */
export const DEFAULT_BLOCK_SIZE = 4096;
/** Default compression level (0 fastest … 8 smallest). */
export const DEFAULT_LEVEL = 5;
/** Vendor string written in VORBIS_COMMENT blocks. */
export const VENDOR = "wattwave flac";

const T = (p: number) => ({ kind: "tukey" as const, p });

/** Search effort of each level 0–8. */
export const LEVELS: readonly EncoderTuning[] = [
  /* 0 */ tuning(0, [], 4, false, false),
  /* 1 */ tuning(0, [], 6, false, true),
  /* 2 */ tuning(0, [], 8, true, true),
  /* 3 */ tuning(4, [T(0.5)], 8, true, true),
  /* 4 */ tuning(6, [T(0.5)], 8, true, true),
  /* 5 */ tuning(8, [T(0.5)], 8, true, true),
  /* 6 */ tuning(8, [T(0.5)], 10, true, true),
  /* 7 */ tuning(12, [T(0.5)], 8, true, true),
  /* 8 */ tuning(12, [T(0.5)], 10, true, true),
];

function tuning(
  maxLpcOrder: number,
  windows: EncoderTuning["windows"],
  maxPartitionOrder: number,
  fixedExhaustive: boolean,
  stereo: boolean,
): EncoderTuning {
  return {
    maxLpcOrder,
    windows,
    maxPartitionOrder,
    fixedExhaustive,
    lpcCandidates: 1,
    precisionSearch: false,
    stereo,
  };
}

/** Options of {@linkcode FlacEncoder}. */
export interface FlacEncoderOptions {
  /** Number of channels, 1–8. */
  channels: number;
  /** Bits per sample, 4–32. Every sample must fit in this many bits, signed. */
  bitsPerSample: number;
  /** Sample rate in Hz, 0–1048575. Default 0 (allowed for non-audio data). */
  sampleRate?: number;
  /** Samples per block, 16–65535. Default {@linkcode DEFAULT_BLOCK_SIZE}. */
  blockSize?: number;
  /** Compression level 0–8. Default {@linkcode DEFAULT_LEVEL}. */
  level?: number;
  /** Total samples per channel, when known in advance (needed for a SEEKTABLE). */
  totalSamples?: number;
  /** Write a SEEKTABLE with a point at least every this many samples (needs `totalSamples`). Default 0: none. */
  seekPointInterval?: number;
  /** VORBIS_COMMENT fields; a VORBIS_COMMENT block is written only when given. */
  comments?: [string, string][] | Record<string, string>;
  /** Vendor string of the VORBIS_COMMENT block. Default {@linkcode VENDOR}. */
  vendor?: string;
  /** APPLICATION blocks to write. */
  applications?: ApplicationBlock[];
  /** Bytes of PADDING to reserve for later metadata edits. Default 0. */
  padding?: number;
  /**
   * Overrides of the level's search settings, e.g. `{ maxLpcOrder: 32, precisionSearch: true }`
   * (LPC orders up to 32, partition orders up to 12). Default: none.
   */
  tuning?: Partial<EncoderTuning>;
}

/** Where one frame is: its first sample, its sample count, and its byte range in the stream. */
export interface FrameIndexEntry {
  /** First sample (per channel) of the frame. */
  sampleOffset: number;
  /** Samples per channel in the frame. */
  sampleCount: number;
  /** Byte offset of the frame header from the start of the FLAC stream ("fLaC" is byte 0). */
  byteOffset: number;
  /** Length of the frame in bytes. */
  byteLength: number;
}

/** Result of {@linkcode FlacEncoder.finish}. */
export interface FlacEncoderResult {
  /** Frame bytes not yet returned by `write` (the last, short block). */
  tail: Uint8Array;
  /** The final header (marker + metadata): same length as {@linkcode FlacEncoder.header}; rewrite it at byte 0. */
  header: Uint8Array;
  /** The final STREAMINFO. */
  streamInfo: StreamInfo;
  /** Index of every frame. */
  frames: FrameIndexEntry[];
}

function fail(message: string): never {
  throw new RangeError(message);
}

function checkInt(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    fail(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  }
}

/**
 * Streaming FLAC encoder. Call {@linkcode header} once, then {@linkcode write} with blocks of
 * per-channel samples of any length (bytes of finished frames come back), then
 * {@linkcode finish}, whose `header` replaces the first bytes with the final STREAMINFO
 * (sizes, total samples, MD5) and SEEKTABLE. Memory is bounded by the block size.
 *
 * @example
 * ```ts
 * const enc = new FlacEncoder({ channels: 1, bitsPerSample: 16 });
 * const parts = [enc.header(), enc.write([new Int32Array([1, 2, 3])])];
 * const done = enc.finish();
 * parts.push(done.tail);
 * parts[0] = done.header;
 * ```
 */
export class FlacEncoder {
  /** Channels, bits per sample, sample rate and block size in use. */
  readonly channels: number;
  readonly bitsPerSample: number;
  readonly sampleRate: number;
  readonly blockSize: number;
  readonly level: number;
  #tuning: EncoderTuning;
  #block: Int32Array[];
  #fill = 0;
  #samples = 0;
  #frameNumber = 0;
  #bytes = 0;
  #minFrame = Infinity;
  #maxFrame = 0;
  #md5: SampleMd5;
  #frames: FrameIndexEntry[] = [];
  #slots: SubframeEncoder[];
  #side: Int32Array;
  #mid: Int32Array;
  #frame = new BitWriter(1 << 16);
  #out = new BitWriter(1 << 16);
  #headerBytes?: Uint8Array;
  #seekPoints = 0;
  #audioOffset = 0;
  #options: FlacEncoderOptions;
  #lo: number;
  #hi: number;
  #finished = false;

  /** Validates `options` (RangeError when out of range) and prepares the buffers. */
  constructor(options: FlacEncoderOptions) {
    this.#options = options;
    const channels = options.channels;
    const bps = options.bitsPerSample;
    const sampleRate = options.sampleRate ?? 0;
    const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
    const level = options.level ?? DEFAULT_LEVEL;
    checkInt("channels", channels, 1, 8);
    checkInt("bitsPerSample", bps, 4, 32);
    checkInt("sampleRate", sampleRate, 0, 1048575);
    checkInt("blockSize", blockSize, 16, 65535);
    checkInt("level", level, 0, 8);
    if (options.totalSamples !== undefined) {
      checkInt("totalSamples", options.totalSamples, 0, 2 ** 36 - 1);
    }
    const interval = options.seekPointInterval ?? 0;
    checkInt("seekPointInterval", interval, 0, Number.MAX_SAFE_INTEGER);
    if (interval > 0) {
      if (options.totalSamples === undefined) fail("seekPointInterval needs totalSamples");
      this.#seekPoints = Math.ceil(options.totalSamples / interval);
    }
    this.channels = channels;
    this.bitsPerSample = bps;
    this.sampleRate = sampleRate;
    this.blockSize = blockSize;
    this.level = level;
    this.#tuning = { ...LEVELS[level], ...options.tuning };
    checkInt("tuning.maxLpcOrder", this.#tuning.maxLpcOrder, 0, 32);
    checkInt("tuning.maxPartitionOrder", this.#tuning.maxPartitionOrder, 0, MAX_PARTITION_ORDER);
    checkInt("tuning.lpcCandidates", this.#tuning.lpcCandidates, 1, 32);
    if (this.#tuning.maxLpcOrder > 0 && this.#tuning.windows.length === 0) {
      this.#tuning.windows = [{ kind: "tukey", p: 0.5 }];
    }
    this.#block = Array.from({ length: channels }, () => new Int32Array(blockSize));
    const nslots = channels === 2 ? 4 : channels;
    this.#slots = Array.from(
      { length: nslots },
      () => new SubframeEncoder(blockSize, this.#tuning),
    );
    this.#side = new Int32Array(channels === 2 ? blockSize : 0);
    this.#mid = new Int32Array(channels === 2 ? blockSize : 0);
    this.#md5 = new SampleMd5(bps);
    this.#lo = -(2 ** (bps - 1));
    this.#hi = 2 ** (bps - 1) - 1;
  }

  #streamInfo(md5: Uint8Array): StreamInfo {
    return {
      minBlockSize: this.blockSize,
      maxBlockSize: this.blockSize,
      minFrameSize: this.#maxFrame === 0 ? 0 : this.#minFrame,
      maxFrameSize: this.#maxFrame,
      sampleRate: this.sampleRate,
      channels: this.channels,
      bitsPerSample: this.bitsPerSample,
      totalSamples: this.#samples,
      md5,
    };
  }

  #buildHeader(info: StreamInfo, points: SeekPoint[]): Uint8Array {
    const o = this.#options;
    const blocks: [number, Uint8Array][] = [[BlockType.STREAMINFO, writeStreamInfo(info)]];
    if (this.#seekPoints > 0) blocks.push([BlockType.SEEKTABLE, writeSeekTable(points)]);
    if (o.comments) {
      const list = Array.isArray(o.comments) ? o.comments : Object.entries(o.comments);
      blocks.push([BlockType.VORBIS_COMMENT, writeVorbisComment(o.vendor ?? VENDOR, list)]);
    }
    for (const app of o.applications ?? []) {
      if (app.id.length !== 4) fail(`APPLICATION id must be 4 characters, got "${app.id}"`);
      const body = new Uint8Array(4 + app.data.length);
      for (let i = 0; i < 4; i++) body[i] = app.id.charCodeAt(i) & 0xff; // 32 bits: application id
      body.set(app.data, 4); // application data
      blocks.push([BlockType.APPLICATION, body]);
    }
    if ((o.padding ?? 0) > 0) blocks.push([BlockType.PADDING, new Uint8Array(o.padding!)]);
    const parts: Uint8Array[] = [new Uint8Array([0x66, 0x4c, 0x61, 0x43])]; // "fLaC"
    blocks.forEach(([type, body], i) => {
      parts.push(writeBlockHeader(i === blocks.length - 1, type, body.length), body);
    });
    return concatBytes(parts);
  }

  /** The stream marker and metadata with a provisional STREAMINFO (call once, first). */
  header(): Uint8Array {
    if (!this.#headerBytes) {
      const placeholders: SeekPoint[] = Array.from(
        { length: this.#seekPoints },
        () => ({ sampleNumber: -1, byteOffset: 0, frameSamples: 0 }),
      );
      this.#headerBytes = this.#buildHeader(this.#streamInfo(new Uint8Array(16)), placeholders);
      this.#audioOffset = this.#headerBytes.length;
      this.#bytes = this.#audioOffset;
    }
    return this.#headerBytes;
  }

  /**
   * Adds samples: `channels[c]` holds the next samples of channel c (all the same length).
   * Returns the bytes of the frames completed by this call (possibly empty).
   * Throws an {@linkcode InputError} when a sample does not fit in `bitsPerSample` bits.
   */
  write(channels: Int32Array[]): Uint8Array {
    if (this.#finished) fail("write after finish");
    this.header();
    if (channels.length !== this.channels) {
      fail(`expected ${this.channels} channels, got ${channels.length}`);
    }
    const n = channels[0].length;
    for (const c of channels) {
      if (c.length !== n) fail(`channels have different lengths (${n} and ${c.length})`);
    }
    this.#out.reset();
    let off = 0;
    while (off < n) {
      const take = Math.min(n - off, this.blockSize - this.#fill);
      for (let c = 0; c < this.channels; c++) {
        const src = channels[c];
        if (this.bitsPerSample < 32) {
          const lo = this.#lo, hi = this.#hi;
          for (let i = off; i < off + take; i++) {
            const v = src[i];
            if (v < lo || v > hi) {
              throw new InputError(
                `sample ${v} does not fit in ${this.bitsPerSample} bits (allowed ${lo}..${hi})`,
                { where: `channel ${c}, sample ${this.#samples + this.#fill + i - off}` },
              );
            }
          }
        }
        this.#block[c].set(src.subarray(off, off + take), this.#fill);
      }
      this.#fill += take;
      off += take;
      if (this.#fill === this.blockSize) this.#flushBlock();
    }
    return this.#out.bytes().slice();
  }

  #flushBlock(): void {
    const n = this.#fill;
    if (n === 0) return;
    this.#md5.update(this.#block, 0, n);
    const frame = this.#frame;
    frame.reset();
    this.#encodeFrame(n, frame);
    const bytes = frame.bytes();
    this.#out.writeBytes(bytes);
    this.#frames.push({
      sampleOffset: this.#samples,
      sampleCount: n,
      byteOffset: this.#bytes,
      byteLength: bytes.length,
    });
    this.#bytes += bytes.length;
    if (bytes.length < this.#minFrame) this.#minFrame = bytes.length;
    if (bytes.length > this.#maxFrame) this.#maxFrame = bytes.length;
    this.#samples += n;
    this.#frameNumber++;
    this.#fill = 0;
  }

  #encodeFrame(n: number, w: BitWriter): void {
    const bps = this.bitsPerSample;
    const slots = this.#slots;
    const block = this.#block;
    let assignment = this.channels - 1;
    let order: SubframeEncoder[];
    if (this.channels === 2 && this.#tuning.stereo && bps <= 31) {
      const l = block[0], r = block[1], side = this.#side, mid = this.#mid;
      for (let i = 0; i < n; i++) {
        const a = l[i], b = r[i];
        side[i] = a - b;
        mid[i] = (a + b) >> 1;
      }
      const bl = slots[0].analyse(l, n, bps);
      const br = slots[1].analyse(r, n, bps);
      const bs = slots[2].analyse(side, n, bps + 1);
      const bm = slots[3].analyse(mid, n, bps);
      let best = bl + br;
      order = [slots[0], slots[1]];
      if (bl + bs < best) {
        best = bl + bs;
        assignment = ChannelAssignment.LEFT_SIDE;
        order = [slots[0], slots[2]];
      }
      if (bs + br < best) {
        best = bs + br;
        assignment = ChannelAssignment.SIDE_RIGHT;
        order = [slots[2], slots[1]];
      }
      if (bm + bs < best) {
        assignment = ChannelAssignment.MID_SIDE;
        order = [slots[3], slots[2]];
      }
    } else {
      for (let c = 0; c < this.channels; c++) slots[c].analyse(block[c], n, bps);
      order = slots.slice(0, this.channels);
    }
    if (this.#frameNumber > 0x7fffffff) fail("too many frames for a fixed block size stream");
    w.ensure(32);
    w.pos = writeFrameHeader(w.buf, 0, {
      blockSize: n,
      sampleRate: this.sampleRate,
      channelAssignment: assignment,
      channels: this.channels,
      bitsPerSample: bps,
      variable: false,
      number: this.#frameNumber,
      length: 0,
    });
    for (const s of order) s.write(w);
    w.alignToByte(); // zero padding to a byte boundary
    const crc = crc16(w.buf, 0, w.pos);
    w.writeSmall(crc, 16); // 16 bits: CRC-16 of the frame
  }

  /**
   * Encodes the last (short) block and returns it with the final header. The encoder cannot be
   * used afterwards.
   */
  finish(): FlacEncoderResult {
    if (this.#finished) fail("finish called twice");
    this.header();
    this.#out.reset();
    this.#flushBlock();
    this.#finished = true;
    const tail = this.#out.bytes().slice();
    const info = this.#streamInfo(this.#md5.digest());
    const points: SeekPoint[] = [];
    if (this.#seekPoints > 0) {
      const interval = this.#options.seekPointInterval!;
      let next = 0;
      for (const f of this.#frames) {
        if (points.length >= this.#seekPoints) break;
        if (f.sampleOffset + f.sampleCount > next) {
          points.push({
            sampleNumber: f.sampleOffset,
            byteOffset: f.byteOffset - this.#audioOffset,
            frameSamples: f.sampleCount,
          });
          next = (Math.floor(f.sampleOffset / interval) + 1) * interval;
          while (next < f.sampleOffset + f.sampleCount) next += interval;
        }
      }
      while (points.length < this.#seekPoints) {
        points.push({ sampleNumber: -1, byteOffset: 0, frameSamples: 0 });
      }
    }
    const header = this.#buildHeader(info, points);
    return { tail, header, streamInfo: info, frames: this.#frames };
  }
}

/** Options of {@linkcode encodeFlac}: the stream's format and the encoder's choices. */
export type EncodeFlacOptions = Omit<FlacEncoderOptions, "channels" | "totalSamples">;

/** Result of {@linkcode encodeFlacWithIndex}. */
export interface EncodedFlac {
  /** The complete FLAC stream. */
  bytes: Uint8Array;
  /** Every frame's sample range and byte range (byte offsets from the start of `bytes`). */
  frames: FrameIndexEntry[];
  /** The STREAMINFO written. */
  streamInfo: StreamInfo;
}

/**
 * Encodes whole channels into a FLAC stream and returns the bytes with an index of every
 * frame (for {@linkcode decodeFlacRange}).
 */
export function encodeFlacWithIndex(
  channels: Int32Array[],
  options: EncodeFlacOptions,
): EncodedFlac {
  if (channels.length < 1) fail("at least one channel is needed");
  const enc = new FlacEncoder({
    ...options,
    channels: channels.length,
    totalSamples: channels[0].length,
  });
  const head = enc.header();
  const body = enc.write(channels);
  const done = enc.finish();
  const bytes = new Uint8Array(head.length + body.length + done.tail.length);
  bytes.set(done.header, 0);
  bytes.set(body, head.length);
  bytes.set(done.tail, head.length + body.length);
  return { bytes, frames: done.frames, streamInfo: done.streamInfo };
}

/**
 * Encodes whole channels (`channels[c][i]` = sample i of channel c; 1–8 channels of equal
 * length) into a complete FLAC stream. `sampleRate` defaults to 0, `blockSize` to 4096,
 * `level` to 5.
 */
export function encodeFlac(channels: Int32Array[], options: EncodeFlacOptions): Uint8Array {
  return encodeFlacWithIndex(channels, options).bytes;
}
