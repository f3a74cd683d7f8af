/**
 * Parsers for command-line option values. Each throws commander's `InvalidArgumentError`,
 * which `main.ts` reports as a usage error (exit 2) naming the option and the value received.
 *
 * @module
 */
import { InvalidArgumentError } from "@commander-js/extra-typings";
import { LABEL_NAME_RE, type Labels } from "../model/sample.ts";

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration such as `500ms`, `1s`, `1.5s`, `2m`, `1h` (bare numbers are seconds) into milliseconds. */
export function parseDurationMs(text: string): number {
  const m = DURATION_RE.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`expected a duration like 500ms, 1s, 2m (got "${text}")`);
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? "s"];
  if (!Number.isFinite(ms)) throw new InvalidArgumentError(`duration out of range (got "${text}")`);
  return ms;
}

/** Parses a positive integer (`1`, `2000`). */
export function parsePositiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new InvalidArgumentError(`expected a positive integer (got "${text}")`);
  }
  return n;
}

/** Parses a non-negative integer (`0`, `10`). */
export function parseNonNegativeInt(text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgumentError(`expected a whole number ≥ 0 (got "${text}")`);
  }
  return n;
}

/** Parses a TCP port (0–65535; 0 picks a free one). */
export function parsePort(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new InvalidArgumentError(`expected a port 0-65535 (got "${text}")`);
  }
  return n;
}

const SIZE_RE = /^(\d+)(B|KiB|MiB|GiB|K|M|G)?$/i;
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1 << 20,
  mib: 1 << 20,
  g: 1 << 30,
  gib: 1 << 30,
};

/** Parses a byte size: `1048576`, `512KiB`, `32MiB`, `1GiB` (K/M/G are binary too). */
export function parseByteSize(text: string): number {
  const m = SIZE_RE.exec(text.trim());
  if (!m) {
    throw new InvalidArgumentError(`expected a size like 1048576, 512KiB, 32MiB (got "${text}")`);
  }
  const n = Number(m[1]) * SIZE_UNITS[(m[2] ?? "b").toLowerCase()];
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new InvalidArgumentError(`size out of range (got "${text}")`);
  }
  return n;
}

/** Collects repeatable `--label k=v` options into a label set. */
export function collectLabel(text: string, previous: Labels = {}): Labels {
  const eq = text.indexOf("=");
  const name = eq > 0 ? text.slice(0, eq) : "";
  if (!LABEL_NAME_RE.test(name) || name === "__name__") {
    throw new InvalidArgumentError(
      `expected k=v with a valid label name other than __name__ (got "${text}")`,
    );
  }
  return { ...previous, [name]: text.slice(eq + 1) };
}

/** Collects repeatable string options into an array. */
export function collectString(text: string, previous: string[] = []): string[] {
  return [...previous, text];
}
