/**
 * The "UTF-8-like" coded numbers of FLAC frame headers (RFC 9639 section 9.1.5): a frame
 * number (up to 31 bits, at most 6 bytes) or a sample number (up to 36 bits, at most 7 bytes).
 * Values above 2^32 are handled as doubles (exact below 2^53), never BigInt.
 *
 * @module
 */

/** Largest value a coded number can hold (36 bits). */
export const MAX_CODED_NUMBER = 2 ** 36 - 1;

/** Number of bytes {@linkcode writeCodedNumber} uses for `value`. */
export function codedNumberLength(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x800) return 2;
  if (value < 0x10000) return 3;
  if (value < 0x200000) return 4;
  if (value < 0x4000000) return 5;
  if (value < 0x80000000) return 6;
  return 7;
}

/**
 * Writes `value` (0 ≤ value < 2^36) at `out[offset]` and returns the number of bytes written.
 * Throws a RangeError for values that cannot be coded.
 */
export function writeCodedNumber(value: number, out: Uint8Array, offset: number): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_CODED_NUMBER) {
    throw new RangeError(`coded number out of range: ${value}`);
  }
  const len = codedNumberLength(value);
  if (len === 1) {
    out[offset] = value; // 0xxxxxxx
    return 1;
  }
  let v = value;
  // continuation bytes, from the last: 10xxxxxx each carrying 6 bits
  for (let i = len - 1; i >= 1; i--) {
    out[offset + i] = 0x80 | (v % 64);
    v = Math.floor(v / 64);
  }
  // first byte: `len` one bits, a zero, then the top bits of the value
  const prefix = (0xff00 >> len) & 0xff;
  out[offset] = prefix | v;
  return len;
}

/** Result of {@linkcode readCodedNumber}: the value and the bytes it used, or an error text. */
export interface CodedNumberResult {
  /** The decoded value (meaningless when `error` is set). */
  value: number;
  /** Bytes used. */
  length: number;
  /** Why the bytes are not a valid coded number, when they are not. */
  error?: string;
}

/**
 * Reads a coded number at `bytes[offset]`, reading no further than `end`.
 * `maxLength` is 6 for frame numbers and 7 for sample numbers.
 */
export function readCodedNumber(
  bytes: Uint8Array,
  offset: number,
  end: number,
  maxLength = 7,
): CodedNumberResult {
  if (offset >= end) return { value: 0, length: 0, error: "truncated coded number" };
  const first = bytes[offset];
  if (first < 0x80) return { value: first, length: 1 };
  // count the leading one bits of the first byte
  let len = 0;
  while (len < 8 && (first & (0x80 >> len))) len++;
  if (len === 1 || len > 7) {
    return { value: 0, length: 1, error: `invalid coded number first byte 0x${hex2(first)}` };
  }
  if (len > maxLength) {
    return { value: 0, length: 1, error: `coded number of ${len} bytes (at most ${maxLength})` };
  }
  if (offset + len > end) return { value: 0, length: 0, error: "truncated coded number" };
  let value = first & (0x7f >> len);
  for (let i = 1; i < len; i++) {
    const b = bytes[offset + i];
    if ((b & 0xc0) !== 0x80) {
      return { value: 0, length: i, error: `invalid coded number continuation 0x${hex2(b)}` };
    }
    value = value * 64 + (b & 0x3f);
  }
  return { value, length: len };
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, "0");
}
