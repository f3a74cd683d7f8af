/**
 * Snappy block format (not the framed format), as remote write and read use it.
 * Wraps `snappyjs`, with the decoded length checked from the preamble before anything is allocated,
 * and adds literal-only blocks ({@linkcode snappyLiteralHeader}): valid snappy that any decoder
 * reads, made by prefixing a few header bytes, for large responses over fast links where
 * compressing costs more time than the bytes it saves.
 *
 * @module
 */
import snappy from "snappyjs";
import { InputError } from "../../errors.ts";

/** The decoded length would exceed the caller's limit. */
export class SnappyTooLargeError extends InputError {
  override name = "SnappyTooLargeError";
  /** Decoded length the preamble claims. */
  readonly decodedBytes: number;
  constructor(decodedBytes: number, maxDecodedBytes: number) {
    super(`snappy body decodes to ${decodedBytes} bytes, over the limit of ${maxDecodedBytes}`);
    this.decodedBytes = decodedBytes;
  }
}

/** Reads the uvarint preamble of a snappy block: the decoded length. Throws on a malformed preamble. */
export function snappyDecodedLength(block: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= block.length) throw new InputError("malformed snappy: truncated length preamble");
    const b = block[i];
    n += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) {
      if (n > 0xffffffff) break;
      return n;
    }
  }
  throw new InputError("malformed snappy: length preamble longer than 32 bits");
}

/** Largest length a snappy preamble (uint32) can declare. */
const MAX_SNAPPY_LENGTH = 0xffffffff;

/** Bytes of {@linkcode snappyLiteralHeader} for `decodedBytes`. */
export function snappyLiteralHeaderLength(decodedBytes: number): number {
  let n = 1;
  for (let x = decodedBytes; x >= 128; x = Math.floor(x / 128)) n++;
  if (decodedBytes === 0) return n;
  const m = decodedBytes - 1;
  return n + 1 + (m < 60 ? 0 : m < 0x100 ? 1 : m < 0x10000 ? 2 : m < 0x1000000 ? 3 : 4);
}

/**
 * The bytes that turn `decodedBytes` raw bytes following them into one snappy block: the
 * preamble and a single literal element covering everything (no compression).
 */
export function snappyLiteralHeader(decodedBytes: number): Uint8Array {
  if (!Number.isSafeInteger(decodedBytes) || decodedBytes < 0 || decodedBytes > MAX_SNAPPY_LENGTH) {
    throw new RangeError(`a snappy block holds 0 to 2^32-1 bytes (got ${decodedBytes})`);
  }
  const out = new Uint8Array(snappyLiteralHeaderLength(decodedBytes));
  let p = 0;
  let n = decodedBytes;
  while (n >= 128) { // uvarint: decoded length
    out[p++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[p++] = n;
  if (decodedBytes === 0) return out;
  const m = decodedBytes - 1; // a literal stores its length minus one
  if (m < 60) {
    out[p++] = m << 2; // tag: length-1 in the upper 6 bits, element type 00 (literal)
    return out;
  }
  const extra = out.length - p - 1; // 1 to 4 little-endian length bytes follow the tag
  out[p++] = (59 + extra) << 2; // tag: 60..63 = that many length bytes, element type 00
  for (let i = 0; i < extra; i++) out[p++] = Math.floor(m / 2 ** (8 * i)) & 0xff;
  return out;
}

/** One snappy block of `bytes` as a single literal (a copy with the header in front). */
export function snappyEncodeLiteral(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const header = snappyLiteralHeader(bytes.length);
  const out = new Uint8Array(header.length + bytes.length);
  out.set(header);
  out.set(bytes, header.length);
  return out;
}

/** Compresses one block. */
export function snappyEncode(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return snappy.compress(bytes);
}

/**
 * Most bytes one byte of a snappy block can decode to: a 3-byte copy element (2-byte offset)
 * yields at most 64 bytes; literals and shorter copies yield less.
 */
const MAX_EXPANSION = 64 / 3;

/**
 * Decodes the elements of a snappy block after its preamble into `out` (exactly `out.length`
 * bytes), strictly: an element that runs past the input, a copy whose offset is 0 or reaches
 * before the start of the output, output beyond the preamble's length, or elements that end
 * before filling it are all errors (snappyjs accepts the last two and zero-fills). The work is
 * bounded by the block's own length (the caller checks the preamble against it).
 */
function decodeElements(block: Uint8Array, start: number, out: Uint8Array): void {
  const end = block.length;
  const length = out.length;
  let i = start;
  let o = 0;
  while (i < end) {
    const tag = block[i++];
    const kind = tag & 3; // 2 bits: element type
    if (kind === 0) { // literal
      let n = tag >>> 2; // 6 bits: length - 1, or 60..63 = 1..4 length bytes follow
      if (n >= 60) {
        const extra = n - 59;
        if (i + extra > end) {
          throw new InputError(`malformed snappy: literal length cut at byte ${i}`);
        }
        n = block[i]; // 1 to 4 bytes, little-endian: length - 1
        if (extra > 1) n |= block[i + 1] << 8;
        if (extra > 2) n |= block[i + 2] << 16;
        if (extra > 3) n = (n | (block[i + 3] << 24)) >>> 0;
        i += extra;
      }
      n += 1;
      if (i + n > end) {
        throw new InputError(
          `malformed snappy: literal of ${n} bytes runs past the block at byte ${i}`,
        );
      }
      if (o + n > length) {
        throw new InputError(
          `malformed snappy: output longer than the ${length} bytes the preamble claims`,
        );
      }
      if (n <= 64) { for (let k = 0; k < n; k++) out[o + k] = block[i + k]; // short: no view
       } else out.set(block.subarray(i, i + n), o);
      i += n;
      o += n;
      continue;
    }
    let n: number;
    let offset: number;
    if (kind === 1) { // copy with 1-byte offset
      if (i + 1 > end) throw new InputError(`malformed snappy: copy cut at byte ${i}`);
      n = 4 + ((tag >>> 2) & 7); // 3 bits: length - 4
      offset = ((tag >>> 5) << 8) | block[i]; // 3 bits + 8 bits: offset
      i += 1;
    } else if (kind === 2) { // copy with 2-byte offset
      if (i + 2 > end) throw new InputError(`malformed snappy: copy cut at byte ${i}`);
      n = (tag >>> 2) + 1; // 6 bits: length - 1
      offset = block[i] | (block[i + 1] << 8); // 16 bits little-endian: offset
      i += 2;
    } else { // copy with 4-byte offset
      if (i + 4 > end) throw new InputError(`malformed snappy: copy cut at byte ${i}`);
      n = (tag >>> 2) + 1; // 6 bits: length - 1
      offset = (block[i] | (block[i + 1] << 8) | (block[i + 2] << 16) | (block[i + 3] << 24)) >>> 0;
      i += 4;
    }
    if (offset === 0 || offset > o) {
      throw new InputError(
        `malformed snappy: copy offset ${offset} at byte ${i} reaches before the start of the output (${o} bytes so far)`,
      );
    }
    if (o + n > length) {
      throw new InputError(
        `malformed snappy: output longer than the ${length} bytes the preamble claims`,
      );
    }
    // Byte by byte: copies are at most 64 bytes, and an overlapping one repeats a pattern.
    for (let k = 0; k < n; k++) out[o + k] = out[o + k - offset];
    o += n;
  }
  if (o !== length) {
    throw new InputError(
      `malformed snappy: the block decodes to ${o} bytes, its preamble claims ${length}`,
    );
  }
}

/** Bytes of the uvarint preamble at the start of `block` (already validated). */
function preambleBytes(block: Uint8Array): number {
  let i = 0;
  while (block[i] >= 0x80) i++;
  return i + 1;
}

/**
 * Decompresses one block, refusing bodies that would decode to more than `maxDecodedBytes`, and
 * blocks whose preamble claims more than their elements could produce (checked before
 * allocating: a 7-byte block cannot decode to 64 MiB). Strict: a block that decodes to another
 * length than its preamble claims, or holds a bad copy offset, is malformed.
 */
export function snappyDecode(block: Uint8Array, maxDecodedBytes: number): Uint8Array {
  const length = snappyDecodedLength(block);
  if (length > maxDecodedBytes) throw new SnappyTooLargeError(length, maxDecodedBytes);
  if (length > Math.ceil(block.length * MAX_EXPANSION)) {
    throw new InputError(
      `malformed snappy: a ${block.length}-byte block cannot decode to the ${length} bytes its preamble claims`,
    );
  }
  const out = new Uint8Array(length);
  decodeElements(block, preambleBytes(block), out);
  return out;
}

/**
 * The first decoded byte of a snappy block without decoding it (a block's first element is
 * always a literal), or -1 for an empty or malformed block. Tells a remote-write 2.0 Request
 * (first byte 0x22: field 4, symbols) from a 1.0 WriteRequest (0x0a or 0x1a) cheaply.
 */
export function snappyFirstByte(block: Uint8Array): number {
  let i = 0;
  while (i < block.length && block[i] >= 0x80) i++; // varint: decoded length
  i++;
  if (i >= block.length) return -1;
  const tag = block[i++];
  if ((tag & 3) !== 0) return -1; // 2 bits: element type; the first must be a literal
  const n = tag >>> 2; // 6 bits: length - 1, or 60..63 = 1..4 length bytes follow
  if (n >= 60) i += n - 59;
  return i < block.length ? block[i] : -1;
}
