/**
 * Float64 sample values with exact bits.
 *
 * V8 quiets or canonicalises NaN payloads when a NaN is stored in an object field or a plain
 * array, so a Prometheus stale marker (0x7ff0000000000002) would not survive `{ value }`.
 * wattwave therefore carries the bit pattern of every NaN next to the number, as 16 lower-case
 * hex digits, and writes values into typed arrays from those bits.
 *
 * @module
 */

/** Bits of the Prometheus staleness marker (`value.StaleNaN`). */
export const STALE_NAN_HEX = "7ff0000000000002";
/** Bits of Prometheus' normal NaN (`value.NormalNaN`, Go's `math.NaN()`): what `"NaN"` means in NDJSON. */
export const NORMAL_NAN_HEX = "7ff8000000000001";

const scratch = new DataView(new ArrayBuffer(8));

/** A float64 value: the number and, for NaN only, its bit pattern as 16 hex digits. */
export interface ExactValue {
  /** The value as a JS number (a NaN here has lost its payload: see `nanBits`). */
  value: number;
  /** Present exactly when `value` is NaN: the IEEE-754 bits, 16 lower-case hex digits. */
  nanBits?: string;
}

/** The 16 hex digits of a float64 given as its high and low 32-bit words. */
export function hexOfWords(hi: number, lo: number): string {
  return hex8(hi) + hex8(lo);
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

/** Reads the float64 at `byteOffset` of `view` as an {@linkcode ExactValue}, keeping NaN bits. */
export function readExactValue(
  view: DataView,
  byteOffset: number,
  littleEndian: boolean,
): ExactValue {
  const value = view.getFloat64(byteOffset, littleEndian);
  if (value === value) return { value };
  const hi = view.getUint32(byteOffset + (littleEndian ? 4 : 0), littleEndian);
  const lo = view.getUint32(byteOffset + (littleEndian ? 0 : 4), littleEndian);
  return { value, nanBits: hex8(hi) + hex8(lo) };
}

/** Writes `value` (with `nanBits` when NaN) as a float64 at `byteOffset` of `view`, bit for bit. */
export function writeExactValue(
  view: DataView,
  byteOffset: number,
  value: number,
  nanBits: string | undefined,
  littleEndian: boolean,
): void {
  if (value === value || nanBits === undefined) {
    view.setFloat64(byteOffset, value, littleEndian);
    return;
  }
  const hi = parseInt(nanBits.slice(0, 8), 16);
  const lo = parseInt(nanBits.slice(8, 16), 16);
  view.setUint32(byteOffset + (littleEndian ? 4 : 0), hi, littleEndian);
  view.setUint32(byteOffset + (littleEndian ? 0 : 4), lo, littleEndian);
}

/** The bits of a float64 given as 16 hex digits, as an {@linkcode ExactValue}. */
export function exactValueFromHex(hex: string): ExactValue {
  scratch.setUint32(0, parseInt(hex.slice(0, 8), 16));
  scratch.setUint32(4, parseInt(hex.slice(8, 16), 16));
  return readExactValue(scratch, 0, false);
}

/** The 16 hex digits of a float64 that is not NaN (for NaN use the carried `nanBits`). */
export function hexOfNumber(value: number): string {
  scratch.setFloat64(0, value);
  return hex8(scratch.getUint32(0)) + hex8(scratch.getUint32(4));
}

/** Whether the exact value is the Prometheus staleness marker. */
export function isStaleNaN(v: ExactValue): boolean {
  return v.nanBits === STALE_NAN_HEX;
}
