/**
 * FLAC frame headers (RFC 9639 section 9.1): sync code, blocking strategy, block size,
 * sample rate, channel assignment, sample size, coded frame/sample number, the optional
 * uncommon block size and sample rate, and the CRC-8.
 *
 * @module
 */
import { readCodedNumber, writeCodedNumber } from "./coded_number.ts";
import { crc8 } from "./crc.ts";

/** Channel assignment codes 8–10 (0–7 mean 1–8 independent channels). */
export const ChannelAssignment = {
  LEFT_SIDE: 8,
  SIDE_RIGHT: 9,
  MID_SIDE: 10,
} as const;

/** A parsed (or to-be-written) frame header. */
export interface FrameHeader {
  /** Samples per channel in this frame (1–65536). */
  blockSize: number;
  /** Sample rate in Hz from the header, or 0 when the header defers to STREAMINFO. */
  sampleRate: number;
  /** Channel assignment code, 0–10. */
  channelAssignment: number;
  /** Number of channels the assignment implies. */
  channels: number;
  /** Bits per sample from the header, or 0 when it defers to STREAMINFO. */
  bitsPerSample: number;
  /**
   * The number is a first sample number: the blocking strategy bit says variable, or the frame
   * was read with `sampleNumbered` (the old variable-blocksize convention). Else a frame number.
   */
  variable: boolean;
  /** Frame number (fixed) or first sample number (variable). */
  number: number;
  /** Header length in bytes, CRC-8 included. */
  length: number;
}

const RATE_CODES = new Map<number, number>([
  [88200, 1],
  [176400, 2],
  [192000, 3],
  [8000, 4],
  [16000, 5],
  [22050, 6],
  [24000, 7],
  [32000, 8],
  [44100, 9],
  [48000, 10],
  [96000, 11],
]);
const RATE_OF_CODE = [
  0,
  88200,
  176400,
  192000,
  8000,
  16000,
  22050,
  24000,
  32000,
  44100,
  48000,
  96000,
];
const BPS_CODES = new Map<number, number>([[8, 1], [12, 2], [16, 4], [20, 5], [24, 6], [32, 7]]);
const BPS_OF_CODE = [0, 8, 12, -1, 16, 20, 24, 32];

/** Channels implied by a channel assignment code. */
export function channelsOfAssignment(code: number): number {
  return code < 8 ? code + 1 : 2;
}

/**
 * Writes a frame header at `out[offset]` (at least 16 bytes of room) and returns its length.
 * `header.sampleRate` / `bitsPerSample` are written as codes when possible, else deferred to
 * STREAMINFO (so pass the stream's values).
 */
export function writeFrameHeader(out: Uint8Array, offset: number, header: FrameHeader): number {
  let o = offset;
  out[o++] = 0xff; // 14 bits sync code 0b11111111111110,
  out[o++] = 0xf8 | (header.variable ? 1 : 0); // 1 bit reserved (0), 1 bit blocking strategy
  const bs = header.blockSize;
  let bsCode: number;
  let bsExtra = 0; // 0, 8 or 16 bits of uncommon block size - 1
  if (bs === 192) bsCode = 1;
  else if (bs === 576 || bs === 1152 || bs === 2304 || bs === 4608) {
    bsCode = 2 + Math.log2(bs / 576);
  } else if (bs >= 256 && bs <= 32768 && (bs & (bs - 1)) === 0) bsCode = 8 + Math.log2(bs / 256);
  else if (bs <= 256) {
    bsCode = 6;
    bsExtra = 8;
  } else {
    bsCode = 7;
    bsExtra = 16;
  }
  const rate = header.sampleRate;
  let srCode = RATE_CODES.get(rate) ?? 0;
  let srExtra = 0;
  let srValue = 0;
  if (srCode === 0 && rate > 0) {
    if (rate % 1000 === 0 && rate / 1000 <= 255) {
      srCode = 12; // 8 bits: rate in kHz
      srExtra = 8;
      srValue = rate / 1000;
    } else if (rate <= 65535) {
      srCode = 13; // 16 bits: rate in Hz
      srExtra = 16;
      srValue = rate;
    } else if (rate % 10 === 0 && rate / 10 <= 65535) {
      srCode = 14; // 16 bits: rate in tens of Hz
      srExtra = 16;
      srValue = rate / 10;
    }
  }
  out[o++] = (bsCode << 4) | srCode; // 4 bits block size code, 4 bits sample rate code
  const ssCode = BPS_CODES.get(header.bitsPerSample) ?? 0;
  out[o++] = (header.channelAssignment << 4) | (ssCode << 1); // 4 bits channels, 3 bits size, 1 reserved
  o += writeCodedNumber(header.number, out, o); // coded frame or sample number
  if (bsExtra === 8) out[o++] = bs - 1; // 8 bits: block size - 1
  else if (bsExtra === 16) {
    out[o++] = (bs - 1) >>> 8; // 16 bits: block size - 1
    out[o++] = (bs - 1) & 0xff;
  }
  if (srExtra === 8) out[o++] = srValue;
  else if (srExtra === 16) {
    out[o++] = srValue >>> 8;
    out[o++] = srValue & 0xff;
  }
  out[o] = crc8(out, offset, o); // 8 bits: CRC-8 of the header
  o++;
  return o - offset;
}

/** Result of {@linkcode parseFrameHeader}: a header, "need more bytes", or an error text. */
export type FrameHeaderParse =
  | { header: FrameHeader }
  | { truncated: true }
  | { error: string };

/** Options of {@linkcode parseFrameHeader}. */
export interface ParseFrameHeaderOptions {
  /**
   * Read the coded number as a sample number even when the blocking strategy bit says fixed:
   * the old variable-blocksize convention (STREAMINFO's minimum and maximum block sizes differ,
   * every header codes its first sample's number), which libFLAC decodes too. Default false.
   */
  sampleNumbered?: boolean;
}

/**
 * Parses a frame header at `bytes[offset]`, reading no further than `end`, and checks its
 * CRC-8. Does not check it against STREAMINFO (the caller does).
 */
export function parseFrameHeader(
  bytes: Uint8Array,
  offset: number,
  end: number,
  options: ParseFrameHeaderOptions = {},
): FrameHeaderParse {
  if (offset + 4 > end) return { truncated: true };
  const b0 = bytes[offset];
  const b1 = bytes[offset + 1];
  if (b0 !== 0xff || (b1 & 0xfe) !== 0xf8) {
    return {
      error: `no frame sync code (expected FF F8/F9, got ${hex(b0)} ${hex(b1)})`,
    };
  }
  // 1 bit: blocking strategy (or the old convention: a sample number under a "fixed" bit)
  const variable = (b1 & 1) === 1 || options.sampleNumbered === true;
  const b2 = bytes[offset + 2];
  const bsCode = b2 >> 4; // 4 bits: block size code
  const srCode = b2 & 15; // 4 bits: sample rate code
  const b3 = bytes[offset + 3];
  const chCode = b3 >> 4; // 4 bits: channel assignment
  const ssCode = (b3 >> 1) & 7; // 3 bits: sample size code
  if (bsCode === 0) return { error: "reserved block size code 0" };
  if (srCode === 15) return { error: "invalid sample rate code 15" };
  if (chCode > 10) return { error: `reserved channel assignment ${chCode}` };
  if (ssCode === 3) return { error: "reserved sample size code 3" };
  if (b3 & 1) return { error: "reserved frame header bit is set" };
  let o = offset + 4;
  const num = readCodedNumber(bytes, o, end, variable ? 7 : 6);
  if (num.error) {
    return num.error.startsWith("truncated") ? { truncated: true } : { error: num.error };
  }
  o += num.length;
  let blockSize: number;
  if (bsCode === 1) blockSize = 192;
  else if (bsCode <= 5) blockSize = 576 << (bsCode - 2);
  else if (bsCode === 6) {
    if (o + 1 > end) return { truncated: true };
    blockSize = bytes[o++] + 1; // 8 bits: block size - 1
  } else if (bsCode === 7) {
    if (o + 2 > end) return { truncated: true };
    blockSize = ((bytes[o] << 8) | bytes[o + 1]) + 1; // 16 bits: block size - 1
    o += 2;
  } else blockSize = 256 << (bsCode - 8);
  let sampleRate = RATE_OF_CODE[srCode] ?? 0;
  if (srCode === 12) {
    if (o + 1 > end) return { truncated: true };
    sampleRate = bytes[o++] * 1000; // 8 bits: rate in kHz
  } else if (srCode === 13 || srCode === 14) {
    if (o + 2 > end) return { truncated: true };
    sampleRate = ((bytes[o] << 8) | bytes[o + 1]) * (srCode === 14 ? 10 : 1); // 16 bits
    o += 2;
  }
  if (o + 1 > end) return { truncated: true };
  const crc = crc8(bytes, offset, o);
  if (crc !== bytes[o]) {
    return { error: `frame header CRC-8 mismatch (computed ${hex(crc)}, stored ${hex(bytes[o])})` };
  }
  o++;
  return {
    header: {
      blockSize,
      sampleRate,
      channelAssignment: chCode,
      channels: channelsOfAssignment(chCode),
      bitsPerSample: BPS_OF_CODE[ssCode],
      variable,
      number: num.value,
      length: o - offset,
    },
  };
}

function hex(b: number): string {
  return b.toString(16).padStart(2, "0").toUpperCase();
}
