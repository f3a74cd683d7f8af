/**
 * FLAC metadata blocks (RFC 9639 section 8): the block header, STREAMINFO, SEEKTABLE,
 * VORBIS_COMMENT, APPLICATION and PADDING, read and written. Other block types are skipped
 * when reading. Every length is checked against the input.
 *
 * @module
 */
import { concatBytes } from "../bytes.ts";
import { InputError } from "../errors.ts";

/** Metadata block type numbers (RFC 9639 section 8.1). */
export const BlockType = {
  STREAMINFO: 0,
  PADDING: 1,
  APPLICATION: 2,
  SEEKTABLE: 3,
  VORBIS_COMMENT: 4,
  CUESHEET: 5,
  PICTURE: 6,
} as const;

/** The STREAMINFO block. */
export interface StreamInfo {
  /** Minimum block size in samples (excluding the last block), 16–65535. */
  minBlockSize: number;
  /** Maximum block size in samples, 16–65535. */
  maxBlockSize: number;
  /** Minimum frame size in bytes, 0 when unknown. */
  minFrameSize: number;
  /** Maximum frame size in bytes, 0 when unknown. */
  maxFrameSize: number;
  /** Sample rate in Hz; 0 for non-audio data. */
  sampleRate: number;
  /** Number of channels, 1–8. */
  channels: number;
  /** Bits per sample, 4–32. */
  bitsPerSample: number;
  /** Total samples per channel, 0 when unknown. */
  totalSamples: number;
  /** MD5 of the samples (16 bytes, all zero when unknown). */
  md5: Uint8Array;
}

/** One SEEKTABLE point. `sampleNumber` is -1 for a placeholder. */
export interface SeekPoint {
  /** First sample of the target frame, or -1 for a placeholder point. */
  sampleNumber: number;
  /** Byte offset of the target frame header from the first frame header. */
  byteOffset: number;
  /** Samples in the target frame. */
  frameSamples: number;
}

/** An APPLICATION block: a 4-byte registered id and opaque data. */
export interface ApplicationBlock {
  /** The application id as 4 ASCII characters (for example "wwv1"). */
  id: string;
  /** The block's data after the id. */
  data: Uint8Array;
}

/** Everything the metadata section said. */
export interface FlacMetadata {
  /** The STREAMINFO block. */
  streamInfo: StreamInfo;
  /** SEEKTABLE points, when the stream has a SEEKTABLE. */
  seekTable?: SeekPoint[];
  /** VORBIS_COMMENT vendor string, when present. */
  vendor?: string;
  /** VORBIS_COMMENT fields in order, as [name, value] (names as written). */
  comments: [string, string][];
  /** APPLICATION blocks in order. */
  applications: ApplicationBlock[];
  /** Byte offset of the first frame (the end of the metadata). */
  audioOffset: number;
}

const TWO32 = 4294967296;
const utf8Decoder = new TextDecoder("utf-8", { fatal: false });
const utf8Encoder = new TextEncoder();

function fail(message: string, offset: number): never {
  throw new InputError(message, { where: `byte ${offset}` });
}

/** Skips an ID3v2 tag at `offset` if there is one and returns the offset after it. */
function skipId3v2(bytes: Uint8Array, offset: number): number {
  if (
    bytes.length >= offset + 10 && bytes[offset] === 0x49 && bytes[offset + 1] === 0x44 &&
    bytes[offset + 2] === 0x33
  ) {
    // 4 × 7-bit "syncsafe" size after 6 bytes of id, version and flags
    const size = (bytes[offset + 6] & 0x7f) * 2097152 + (bytes[offset + 7] & 0x7f) * 16384 +
      (bytes[offset + 8] & 0x7f) * 128 + (bytes[offset + 9] & 0x7f);
    const footer = (bytes[offset + 5] & 0x10) ? 10 : 0;
    return offset + 10 + size + footer;
  }
  return offset;
}

/** Parses a 34-byte STREAMINFO body at `bytes[o]`. */
export function parseStreamInfo(bytes: Uint8Array, o: number): StreamInfo {
  const v = new DataView(bytes.buffer, bytes.byteOffset + o, 34);
  const minBlockSize = v.getUint16(0); // 16 bits: minimum block size
  const maxBlockSize = v.getUint16(2); // 16 bits: maximum block size
  const minFrameSize = (v.getUint16(4) << 8) | v.getUint8(6); // 24 bits: minimum frame size
  const maxFrameSize = (v.getUint16(7) << 8) | v.getUint8(9); // 24 bits: maximum frame size
  const w = v.getUint32(10);
  const sampleRate = w >>> 12; // 20 bits: sample rate
  const channels = ((w >>> 9) & 7) + 1; // 3 bits: channels - 1
  const bitsPerSample = ((w >>> 4) & 31) + 1; // 5 bits: bits per sample - 1
  const totalSamples = (w & 15) * TWO32 + v.getUint32(14); // 36 bits: total samples
  const md5 = bytes.slice(o + 18, o + 34); // 128 bits: MD5 of the samples
  if (minBlockSize < 16) fail(`STREAMINFO minimum block size ${minBlockSize} is below 16`, o);
  if (maxBlockSize < minBlockSize) {
    fail(`STREAMINFO maximum block size ${maxBlockSize} is below minimum ${minBlockSize}`, o);
  }
  if (bitsPerSample < 4) fail(`STREAMINFO bits per sample ${bitsPerSample} is below 4`, o);
  return {
    minBlockSize,
    maxBlockSize,
    minFrameSize,
    maxFrameSize,
    sampleRate,
    channels,
    bitsPerSample,
    totalSamples,
    md5,
  };
}

/** Writes a 34-byte STREAMINFO body. */
export function writeStreamInfo(info: StreamInfo): Uint8Array {
  const out = new Uint8Array(34);
  const v = new DataView(out.buffer);
  v.setUint16(0, info.minBlockSize); // 16 bits: minimum block size
  v.setUint16(2, info.maxBlockSize); // 16 bits: maximum block size
  v.setUint16(4, info.minFrameSize >>> 8); // 24 bits: minimum frame size
  v.setUint8(6, info.minFrameSize & 0xff);
  v.setUint16(7, info.maxFrameSize >>> 8); // 24 bits: maximum frame size
  v.setUint8(9, info.maxFrameSize & 0xff);
  const hi = Math.floor(info.totalSamples / TWO32);
  // 20 bits sample rate, 3 bits channels-1, 5 bits bps-1, top 4 bits of total samples
  v.setUint32(
    10,
    ((info.sampleRate << 12) | ((info.channels - 1) << 9) | ((info.bitsPerSample - 1) << 4) |
      hi) >>> 0,
  );
  v.setUint32(14, info.totalSamples - hi * TWO32); // low 32 bits of total samples
  out.set(info.md5.subarray(0, 16), 18); // 128 bits: MD5
  return out;
}

/** Writes a metadata block header: 1 bit last-block flag, 7 bits type, 24 bits length. */
export function writeBlockHeader(isLast: boolean, type: number, length: number): Uint8Array {
  if (length > 0xffffff) throw new RangeError(`metadata block of ${length} bytes (max 16 MiB)`);
  return new Uint8Array([
    (isLast ? 0x80 : 0) | type,
    length >>> 16,
    (length >>> 8) & 0xff,
    length & 0xff,
  ]);
}

/** Writes a SEEKTABLE body: 18 bytes per point (64-bit sample, 64-bit offset, 16-bit count). */
export function writeSeekTable(points: SeekPoint[]): Uint8Array {
  const out = new Uint8Array(points.length * 18);
  const v = new DataView(out.buffer);
  points.forEach((p, i) => {
    const o = i * 18;
    if (p.sampleNumber < 0) {
      // placeholder: sample number all ones
      v.setUint32(o, 0xffffffff);
      v.setUint32(o + 4, 0xffffffff);
      return;
    }
    const sh = Math.floor(p.sampleNumber / TWO32);
    v.setUint32(o, sh); // 64 bits: sample number
    v.setUint32(o + 4, p.sampleNumber - sh * TWO32);
    const bh = Math.floor(p.byteOffset / TWO32);
    v.setUint32(o + 8, bh); // 64 bits: byte offset from the first frame
    v.setUint32(o + 12, p.byteOffset - bh * TWO32);
    v.setUint16(o + 16, p.frameSamples); // 16 bits: samples in the frame
  });
  return out;
}

function parseSeekTable(bytes: Uint8Array, o: number, length: number): SeekPoint[] {
  if (length % 18 !== 0) fail(`SEEKTABLE length ${length} is not a multiple of 18`, o);
  const v = new DataView(bytes.buffer, bytes.byteOffset + o, length);
  const points: SeekPoint[] = [];
  for (let p = 0; p < length; p += 18) {
    const sh = v.getUint32(p);
    const sl = v.getUint32(p + 4);
    if (sh === 0xffffffff && sl === 0xffffffff) {
      points.push({ sampleNumber: -1, byteOffset: 0, frameSamples: 0 });
      continue;
    }
    const bh = v.getUint32(p + 8);
    if (sh >= 2 ** 21 || bh >= 2 ** 21) continue; // beyond 2^53: unusable, ignore the point
    points.push({
      sampleNumber: sh * TWO32 + sl,
      byteOffset: bh * TWO32 + v.getUint32(p + 12),
      frameSamples: v.getUint16(p + 16),
    });
  }
  return points;
}

/** Writes a VORBIS_COMMENT body (little-endian lengths, UTF-8 strings). */
export function writeVorbisComment(vendor: string, comments: [string, string][]): Uint8Array {
  const parts: Uint8Array[] = [];
  const u32 = (n: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, true);
    parts.push(b);
  };
  const v = utf8Encoder.encode(vendor);
  u32(v.length); // 32 bits LE: vendor string length
  parts.push(v); // vendor string
  u32(comments.length); // 32 bits LE: number of fields
  for (const [name, value] of comments) {
    if (name.includes("=") || !/^[\x20-\x7d]*$/.test(name)) {
      throw new RangeError(`invalid VORBIS_COMMENT field name ${JSON.stringify(name)}`);
    }
    const f = utf8Encoder.encode(`${name}=${value}`);
    u32(f.length); // 32 bits LE: field length
    parts.push(f); // NAME=value
  }
  return concatBytes(parts);
}

function parseVorbisComment(
  bytes: Uint8Array,
  o: number,
  length: number,
): { vendor: string; comments: [string, string][] } {
  const v = new DataView(bytes.buffer, bytes.byteOffset + o, length);
  let p = 0;
  const need = (n: number) => {
    if (p + n > length) fail("VORBIS_COMMENT field runs past the end of its block", o + p);
  };
  need(4);
  const vendorLen = v.getUint32(p, true);
  p += 4;
  need(vendorLen);
  const vendor = utf8Decoder.decode(bytes.subarray(o + p, o + p + vendorLen));
  p += vendorLen;
  need(4);
  const count = v.getUint32(p, true);
  p += 4;
  if (count > (length - p) / 4) fail(`VORBIS_COMMENT claims ${count} fields`, o + p - 4);
  const comments: [string, string][] = [];
  for (let i = 0; i < count; i++) {
    need(4);
    const len = v.getUint32(p, true);
    p += 4;
    need(len);
    const text = utf8Decoder.decode(bytes.subarray(o + p, o + p + len));
    p += len;
    const eq = text.indexOf("=");
    comments.push(eq < 0 ? [text, ""] : [text.slice(0, eq), text.slice(eq + 1)]);
  }
  return { vendor, comments };
}

/** Whether `bytes` begins with a FLAC stream marker (optionally after an ID3v2 tag). */
export function isFlac(bytes: Uint8Array): boolean {
  const o = skipId3v2(bytes, 0);
  return bytes.length >= o + 4 && bytes[o] === 0x66 && bytes[o + 1] === 0x4c &&
    bytes[o + 2] === 0x61 && bytes[o + 3] === 0x43;
}

/**
 * Result of {@linkcode parseMetadata} on a possibly incomplete prefix: the metadata, or
 * `needBytes` (how many bytes in total are needed to finish reading it).
 */
export type MetadataParse = { metadata: FlacMetadata } | { needBytes: number };

/**
 * Parses the "fLaC" marker and all metadata blocks from `bytes`. When `bytes` is only a
 * prefix of the stream, returns how many bytes are needed instead of failing.
 */
export function parseMetadata(bytes: Uint8Array): MetadataParse {
  let o = skipId3v2(bytes, 0);
  if (bytes.length < o + 4) return { needBytes: o + 4 };
  if (
    !(bytes[o] === 0x66 && bytes[o + 1] === 0x4c && bytes[o + 2] === 0x61 && bytes[o + 3] === 0x43)
  ) {
    const got = Array.from(bytes.subarray(o, o + 4), (b) => b.toString(16).padStart(2, "0"));
    fail(`not a FLAC stream: expected "fLaC", got bytes ${got.join(" ")}`, o);
  }
  o += 4;
  let streamInfo: StreamInfo | undefined;
  let seekTable: SeekPoint[] | undefined;
  let vendor: string | undefined;
  const comments: [string, string][] = [];
  const applications: ApplicationBlock[] = [];
  let first = true;
  for (;;) {
    if (bytes.length < o + 4) return { needBytes: o + 4 };
    const head = bytes[o];
    const isLast = (head & 0x80) !== 0; // 1 bit: last-metadata-block flag
    const type = head & 0x7f; // 7 bits: block type
    const length = (bytes[o + 1] << 16) | (bytes[o + 2] << 8) | bytes[o + 3]; // 24 bits: length
    if (type === 127) fail("metadata block type 127 is forbidden", o);
    if (first && type !== BlockType.STREAMINFO) {
      fail(`first metadata block is type ${type}, expected STREAMINFO (0)`, o);
    }
    if (!first && type === BlockType.STREAMINFO) fail("second STREAMINFO block", o);
    const body = o + 4;
    if (bytes.length < body + length) return { needBytes: body + length };
    switch (type) {
      case BlockType.STREAMINFO:
        if (length !== 34) fail(`STREAMINFO length is ${length}, expected 34`, o);
        streamInfo = parseStreamInfo(bytes, body);
        break;
      case BlockType.SEEKTABLE:
        seekTable = parseSeekTable(bytes, body, length);
        break;
      case BlockType.VORBIS_COMMENT: {
        const vc = parseVorbisComment(bytes, body, length);
        vendor = vc.vendor;
        comments.push(...vc.comments);
        break;
      }
      case BlockType.APPLICATION:
        if (length < 4) fail(`APPLICATION block of ${length} bytes`, o);
        applications.push({
          id: String.fromCharCode(...bytes.subarray(body, body + 4)),
          data: bytes.slice(body + 4, body + length),
        });
        break;
      default:
        break; // PADDING, CUESHEET, PICTURE, reserved: skipped
    }
    first = false;
    o = body + length;
    if (isLast) break;
  }
  return {
    metadata: {
      streamInfo: streamInfo!,
      seekTable,
      vendor,
      comments,
      applications,
      audioOffset: o,
    },
  };
}
