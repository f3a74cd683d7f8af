/**
 * Writing numbers as ASCII digits straight into byte buffers, for the NDJSON writers: two digits
 * per step with int32 arithmetic (a double `%` per digit is several times slower), and the
 * shortest round-trip text of a value (the same as `String(v)` / `formatJsonValue`) without
 * making a string in the common cases.
 *
 * @module
 */
import { formatJsonValue } from "./value_text.ts";

/** "00".."99" as ASCII pairs: digit pair `n` is at `[2n, 2n+1]`. */
const DIGIT_PAIRS = new Uint8Array(200);
for (let n = 0; n < 100; n++) {
  DIGIT_PAIRS[2 * n] = 48 + Math.floor(n / 10);
  DIGIT_PAIRS[2 * n + 1] = 48 + (n % 10);
}

/** Decimal digits of `n`, an int32 from 0 to 999,999,999. */
export function digitCount32(n: number): number {
  if (n < 10000) return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : 4;
  if (n < 100000000) return n < 100000 ? 5 : n < 1000000 ? 6 : n < 10000000 ? 7 : 8;
  return 9;
}

/**
 * Writes the last `count` decimal digits of `n` (an int32 ≥ 0, zero-padded) so that they end
 * just before `end`. Integer arithmetic only, two digits per step.
 */
export function putDigits(buf: Uint8Array, end: number, n: number, count: number): void {
  let p = end;
  n |= 0;
  while (count >= 2) {
    const q = (n / 100) | 0;
    const r = (n - q * 100) << 1;
    buf[--p] = DIGIT_PAIRS[r + 1];
    buf[--p] = DIGIT_PAIRS[r];
    n = q;
    count -= 2;
  }
  if (count) buf[--p] = 48 + (n - ((n / 10) | 0) * 10);
}

/** Writes `n`, an integer from 0 to 10^16 - 1, at `pos`; returns the position after it. */
export function putUint(buf: Uint8Array, pos: number, n: number): number {
  if (n < 100000000) {
    const c = digitCount32(n | 0);
    putDigits(buf, pos + c, n, c);
    return pos + c;
  }
  const hi = Math.floor(n / 100000000); // < 10^8
  const c = digitCount32(hi | 0);
  putDigits(buf, pos + c, hi, c);
  putDigits(buf, pos + c + 8, n - hi * 100000000, 8);
  return pos + c + 8;
}

/** Powers of ten used as decimal scales by {@linkcode putDecimal}. */
const SCALES = [1, 10, 100, 1000, 10000, 100000, 1000000];

/**
 * Writes `v` when it is exactly a decimal with at most 6 fraction digits and 15 significant
 * digits (then that decimal is also JS's shortest round-trip form, `String(v)`) and returns the
 * position after it; returns -1 (writing nothing) otherwise.
 */
export function putDecimal(buf: Uint8Array, pos: number, v: number): number {
  const a = v < 0 ? -v : v;
  if (!(a >= 1e-6 && a < 1e15)) return -1;
  for (let k = 1; k <= 6; k++) {
    const p = SCALES[k];
    const m = Math.round(a * p);
    if (m >= 1e15) return -1;
    if (m / p !== a) continue;
    if (v < 0) buf[pos++] = 45; // '-'
    const whole = Math.floor(a);
    pos = putUint(buf, pos, whole);
    buf[pos] = 46; // '.'
    putDigits(buf, pos + 1 + k, m - whole * p, k);
    return pos + 1 + k;
  }
  return -1;
}

/** Writes the ASCII string `s` at `pos`; returns the position after it. */
export function putAscii(buf: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i);
  return pos;
}

/** The most bytes {@linkcode putInteger} writes: a sign and 16 digits. */
export const MAX_INTEGER_BYTES = 17;

/** The most bytes {@linkcode putJsonValue} writes (e.g. `-1.2345678901234567e-308`, `"0x…"`). */
export const MAX_JSON_VALUE_BYTES = 26;

/** Writes the safe integer `n` (e.g. a timestamp in ms) at `pos`; returns the position after it. */
export function putInteger(buf: Uint8Array, pos: number, n: number): number {
  if (n >= 0 && n < 1e16) return putUint(buf, pos, n);
  if (n < 0 && n > -1e16) {
    buf[pos] = 45; // '-'
    return putUint(buf, pos + 1, -n);
  }
  return putAscii(buf, pos, String(n));
}

/**
 * Writes the NDJSON value text of `v` (as `formatJsonValue(v, nanBits)`) at `pos`; returns the
 * position after it.
 */
export function putJsonValue(buf: Uint8Array, pos: number, v: number, nanBits?: string): number {
  if (Number.isInteger(v) && v < 1e15 && v > -1e15 && !(v === 0 && 1 / v < 0)) {
    return putInteger(buf, pos, v);
  }
  const end = putDecimal(buf, pos, v);
  return end >= 0 ? end : putAscii(buf, pos, formatJsonValue(v, nanBits));
}

/** Writes `,"value":` (between a line's timestamp and its value) at `pos`; returns the position after it. */
export function putValueKey(buf: Uint8Array, pos: number): number {
  buf[pos] = 44; // ,
  buf[pos + 1] = 34; // "
  buf[pos + 2] = 118; // v
  buf[pos + 3] = 97; // a
  buf[pos + 4] = 108; // l
  buf[pos + 5] = 117; // u
  buf[pos + 6] = 101; // e
  buf[pos + 7] = 34; // "
  buf[pos + 8] = 58; // :
  return pos + 9;
}
