/**
 * The NDJSON spelling of float64 values: JSON numbers, `"NaN"` (Prometheus' normal NaN),
 * `"+Inf"`, `"-Inf"`, `"StaleNaN"`, `"0x"` + 16 hex digits for any other bit pattern, `-0`.
 *
 * @module
 */
import {
  type ExactValue,
  exactValueFromHex,
  NORMAL_NAN_HEX,
  STALE_NAN_HEX,
} from "../model/value.ts";

/** Turns an NDJSON value (number or special string) into an exact float64 value. */
export function parseJsonValue(v: number | string): ExactValue {
  if (typeof v === "number") return { value: v };
  switch (v) {
    case "NaN":
      return { value: NaN, nanBits: NORMAL_NAN_HEX };
    case "StaleNaN":
      return { value: NaN, nanBits: STALE_NAN_HEX };
    case "+Inf":
      return { value: Infinity };
    case "-Inf":
      return { value: -Infinity };
  }
  return exactValueFromHex(v.slice(2).toLowerCase());
}

/** The NDJSON spelling of an exact value: a JSON number or a quoted special. */
export function formatJsonValue(value: number, nanBits?: string): string {
  if (value !== value) {
    if (nanBits === undefined || nanBits === NORMAL_NAN_HEX) return '"NaN"';
    if (nanBits === STALE_NAN_HEX) return '"StaleNaN"';
    return `"0x${nanBits}"`;
  }
  if (value === Infinity) return '"+Inf"';
  if (value === -Infinity) return '"-Inf"';
  if (value === 0 && 1 / value < 0) return "-0";
  return String(value);
}
