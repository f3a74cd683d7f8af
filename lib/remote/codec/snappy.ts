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
 * Decompresses one block, refusing bodies that would decode to more than `maxDecodedBytes`, and
 * blocks whose preamble claims more than their elements could produce (checked before
 * allocating: a 7-byte block cannot decode to 64 MiB).
 */
export function snappyDecode(block: Uint8Array, maxDecodedBytes: number): Uint8Array {
  const length = snappyDecodedLength(block);
  if (length > maxDecodedBytes) throw new SnappyTooLargeError(length, maxDecodedBytes);
  if (length > Math.ceil(block.length * MAX_EXPANSION)) {
    throw new InputError(
      `malformed snappy: a ${block.length}-byte block cannot decode to the ${length} bytes its preamble claims`,
    );
  }
  try {
    return snappy.uncompress(block, maxDecodedBytes);
  } catch (err) {
    throw new InputError(`malformed snappy: ${(err as Error).message}`);
  }
}
