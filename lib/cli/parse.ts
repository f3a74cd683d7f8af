/**
 * Parsers for command-line option values, in the notation of the Prometheus family. Each throws
 * commander's `InvalidArgumentError`, which `main.ts` reports as a usage error (exit 2) naming
 * the option and the value received.
 *
 * @module
 */
import { InvalidArgumentError } from "@commander-js/extra-typings";
import { LABEL_NAME_RE, type Labels } from "../model/sample.ts";

/** Milliseconds per duration unit, largest first (the order they must be written in). */
const DURATION_UNITS: [string, number][] = [
  ["y", 365 * 86_400_000],
  ["w", 7 * 86_400_000],
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1000],
  ["ms", 1],
];
const DURATION_PART_RE = /(\d+(?:\.\d+)?)(ms|y|w|d|h|m|s)/y;

/**
 * Parses a duration as Prometheus writes them into milliseconds: one or more number-unit pairs,
 * largest unit first (`500ms`, `1s`, `1m30s`, `2d`, `1h5m`; units y w d h m s ms), each number
 * whole or decimal (`1.5s`). `0` alone is zero. A bare number is refused with a hint, since its
 * unit would be a guess.
 */
export function parseDurationMs(text: string): number {
  const t = text.trim();
  if (t === "0") return 0;
  if (/^\d+(\.\d+)?$/.test(t)) {
    throw new InvalidArgumentError(
      `a duration needs a unit: write ${t}s for seconds or ${t}ms for milliseconds (got "${text}")`,
    );
  }
  const bad = () =>
    new InvalidArgumentError(
      `expected a duration like 500ms, 10s, 1m30s, 2h, 2d (units y w d h m s ms, largest first; got "${text}")`,
    );
  let ms = 0;
  let pos = 0;
  let lastRank = -1;
  while (pos < t.length) {
    DURATION_PART_RE.lastIndex = pos;
    const m = DURATION_PART_RE.exec(t);
    if (!m) throw bad();
    const rank = DURATION_UNITS.findIndex(([u]) => u === m[2]);
    if (rank <= lastRank) throw bad(); // units repeated or out of order (`1s1m`)
    lastRank = rank;
    ms += Number(m[1]) * DURATION_UNITS[rank][1];
    pos = DURATION_PART_RE.lastIndex;
  }
  if (pos === 0) throw bad();
  if (!Number.isFinite(ms) || ms > Number.MAX_SAFE_INTEGER) {
    throw new InvalidArgumentError(`duration out of range (got "${text}")`);
  }
  return ms;
}

/** Formats milliseconds as {@linkcode parseDurationMs} reads them (`90000` → `1m30s`). */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return "0s";
  let rest = Math.round(ms);
  let out = "";
  for (const [unit, size] of DURATION_UNITS) {
    if (unit === "y" || unit === "w") continue;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
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

/** Bytes per size unit: as Prometheus (`storage.tsdb.retention.size`), KB, MB, GB, TB are binary. */
const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

/**
 * Parses a byte size: `1048576`, `64KiB`, `512MB`, `32M`, `1.5GiB`. As in Prometheus, K/KB/KiB,
 * M/MB/MiB, G/GB/GiB and T/TB/TiB are all powers of 1024; a fraction is rounded to whole bytes.
 */
export function parseByteSize(text: string): number {
  const m = SIZE_RE.exec(text.trim());
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new InvalidArgumentError(
      `expected a size like 1048576, 64KiB, 512MB, 1.5GiB (got "${text}")`,
    );
  }
  const n = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new InvalidArgumentError(`size out of range (got "${text}")`);
  }
  return n;
}

/** Formats a byte count the way a user would type it (`33554432` → `32MiB`, `1000` → `1000B`). */
export function formatByteSize(bytes: number): string {
  for (
    const [unit, size] of [["TiB", 1024 ** 4], ["GiB", 1024 ** 3], ["MiB", 1024 ** 2], [
      "KiB",
      1024,
    ]] as const
  ) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
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
