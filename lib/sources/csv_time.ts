/**
 * Timestamps in CSV logs: Unix seconds/milliseconds/microseconds/nanoseconds, ISO-8601 and
 * nvidia-smi's `2026/07/14 08:12:38.696`, with wall-clock times (no zone in the text) read in a
 * given IANA time zone. No time-zone library: offsets come from `Intl.DateTimeFormat`.
 *
 * @module
 */

/** Why a timestamp could not be read. */
export class BadTimestamp extends Error {
  override name = "BadTimestamp";
}

/** Options of {@linkcode TimestampParser}. */
export interface TimestampParserOptions {
  /**
   * IANA zone (`Europe/Berlin`, `UTC`) for timestamps written without a zone or offset.
   * Default: the local zone of the process (`Intl.DateTimeFormat().resolvedOptions().timeZone`).
   */
  timeZone?: string;
}

// YYYY-MM-DD or YYYY/MM/DD, optional [T ]HH:MM[:SS[.fff]], optional Z or ±HH[:]MM.
const DATE_RE =
  /^(\d{4})[-/](\d{2})[-/](\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const NUMBER_RE = /^[+-]?\d+(?:\.\d+)?$/;

/** The local zone of this process, as an IANA name. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC";
}

/** Whether `timeZone` is an IANA zone name this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Converts wall-clock times of one zone to UTC. Offsets are cached per 15-minute UTC bucket
 * (every zone's offset changes on a quarter hour), so `Intl` runs rarely; the cache is bounded.
 */
export class ZoneConverter {
  /** The IANA zone name. */
  readonly timeZone: string;
  #fixedZero: boolean;
  #format: Intl.DateTimeFormat;
  #cache = new Map<number, number>();

  constructor(timeZone: string) {
    if (!isValidTimeZone(timeZone)) throw new RangeError(`unknown time zone "${timeZone}"`);
    this.timeZone = timeZone;
    this.#fixedZero = /^(UTC|Etc\/UTC|GMT|Etc\/GMT|Z)$/i.test(timeZone);
    this.#format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
  }

  /** The zone's offset from UTC (ms, east positive) at the instant `utcMs`. */
  offsetAtMs(utcMs: number): number {
    if (this.#fixedZero) return 0;
    const bucket = Math.floor(utcMs / 900_000);
    const cached = this.#cache.get(bucket);
    if (cached !== undefined) return cached;
    const p: Record<string, number> = {};
    for (const part of this.#format.formatToParts(new Date(bucket * 900_000))) {
      if (part.type !== "literal") p[part.type] = Number(part.value);
    }
    const wallMs = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
    const offset = wallMs - bucket * 900_000;
    if (this.#cache.size >= 4096) this.#cache.clear();
    this.#cache.set(bucket, offset);
    return offset;
  }

  /**
   * The UTC instant of a wall-clock time given as if it were UTC (`Date.UTC(...)` of the fields).
   * In a DST gap the time is moved forward by the gap; in an overlap the earlier instant is taken.
   */
  wallToUtcMs(wallAsUtcMs: number): number {
    if (this.#fixedZero) return wallAsUtcMs;
    // The offsets in force a day before and a day after; a candidate instant is valid when the
    // zone's offset there maps it back to the wall time.
    const before = this.offsetAtMs(wallAsUtcMs - 86_400_000);
    const after = this.offsetAtMs(wallAsUtcMs + 86_400_000);
    const early = wallAsUtcMs - before;
    const earlyValid = this.offsetAtMs(early) === before;
    if (before === after && earlyValid) return early;
    const late = wallAsUtcMs - after;
    const lateValid = this.offsetAtMs(late) === after;
    if (earlyValid && lateValid) return Math.min(early, late); // overlap: the earlier
    if (earlyValid) return early;
    if (lateValid) return late;
    return early; // gap: the wall time with the offset before it, i.e. moved forward
  }
}

/**
 * Reads timestamps as integer milliseconds since the Unix epoch.
 *
 * - A plain number is Unix time; its unit is taken from its size: below 1e11 seconds, below 1e14
 *   milliseconds, below 1e17 microseconds, else nanoseconds (fractions are kept to the ms).
 * - `YYYY-MM-DD[T ]HH:MM[:SS[.fraction]]` with `Z` or `±HH:MM` is that instant; without a zone it
 *   is a wall-clock time in the parser's zone. `/` may separate the date (nvidia-smi), a date
 *   alone is midnight.
 *
 * The last text and its result are remembered: rows of one scrape usually share their timestamp.
 */
export class TimestampParser {
  #zone: ZoneConverter;
  #lastText = "\u0000"; // never a timestamp
  #lastMs = 0;
  #dayText = "";
  #dayMs = 0;

  constructor(options: TimestampParserOptions = {}) {
    this.#zone = new ZoneConverter(options.timeZone ?? localTimeZone());
  }

  /** The zone used for timestamps without one. */
  get timeZone(): string {
    return this.#zone.timeZone;
  }

  /** Parses `text`; throws {@linkcode BadTimestamp} saying what was received. */
  parseMs(text: string): number {
    if (text === this.#lastText) return this.#lastMs;
    const ms = this.#parse(text.trim());
    this.#lastText = text;
    this.#lastMs = ms;
    return ms;
  }

  #parse(text: string): number {
    if (text === "") throw new BadTimestamp("empty timestamp");
    const unix = unixDigits(text);
    if (unix >= 0) return unixNumberToMs(unix, text);
    const fast = this.#fastWallClock(text);
    if (fast === fast) return fast;
    const c = text.charCodeAt(0);
    if ((c >= 48 && c <= 57) || c === 43 || c === 45) {
      if (NUMBER_RE.test(text)) return unixNumberToMs(Number(text), text);
      const m = DATE_RE.exec(text);
      if (m) return this.#fromParts(m, text);
    }
    throw new BadTimestamp(
      `not a timestamp: expected Unix seconds/ms or ISO-8601 like 2025-07-18T20:42:34Z (got ${
        quote(text)
      })`,
    );
  }

  /**
   * The common layouts without a regular expression: `YYYY-MM-DD HH:MM:SS[.fff][Z]` (or `/`, `T`).
   * NaN when the text has another shape (the general path then decides).
   */
  #fastWallClock(text: string): number {
    const n = text.length;
    if (n < 19 || n > 24) return NaN;
    const sep = text.charCodeAt(4);
    if ((sep !== 45 && sep !== 47) || text.charCodeAt(7) !== sep) return NaN;
    const t = text.charCodeAt(10);
    if ((t !== 32 && t !== 84) || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) {
      return NaN;
    }
    let end = n;
    const last = text.charCodeAt(n - 1);
    const utc = last === 90; /* Z */
    if (utc) end--;
    let fracMs = 0;
    if (end > 19) {
      if (text.charCodeAt(19) !== 46 || end - 20 > 3 || end === 20) return NaN;
      const f = digitsAt(text, 20, end - 20);
      if (f < 0) return NaN;
      fracMs = end - 20 === 3 ? f : end - 20 === 2 ? f * 10 : f * 100;
    }
    if (text.slice(0, 10) !== this.#dayText) {
      const y = digitsAt(text, 0, 4);
      const mo = digitsAt(text, 5, 2);
      const d = digitsAt(text, 8, 2);
      if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return NaN;
      this.#dayText = text.slice(0, 10);
      this.#dayMs = Date.UTC(y, mo - 1, d);
    }
    const h = digitsAt(text, 11, 2);
    const mi = digitsAt(text, 14, 2);
    const sec = digitsAt(text, 17, 2);
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60) return NaN;
    const wall = this.#dayMs + ((h * 60 + mi) * 60 + sec) * 1000 + fracMs;
    return utc ? wall : this.#zone.wallToUtcMs(wall);
  }

  #fromParts(m: RegExpExecArray, text: string): number {
    const year = Number(m[1]);
    const month = Number(m[2]);
    const day = Number(m[3]);
    const hour = m[4] === undefined ? 0 : Number(m[4]);
    const minute = m[5] === undefined ? 0 : Number(m[5]);
    const second = m[6] === undefined ? 0 : Number(m[6]);
    const ms = m[7] === undefined ? 0 : Math.floor(Number(m[7].padEnd(3, "0").slice(0, 3)));
    if (
      month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 60
    ) {
      throw new BadTimestamp(`date or time out of range (got ${quote(text)})`);
    }
    const wall = Date.UTC(year, month - 1, day, hour, minute, second, ms);
    const zone = m[8];
    if (zone === undefined) return this.#zone.wallToUtcMs(wall);
    if (zone === "Z" || zone === "z") return wall;
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    const offsetMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || "0");
    return wall - sign * offsetMin * 60_000;
  }
}

/** The non-negative integer of `count` ASCII digits at `start`, or -1. */
function digitsAt(text: string, start: number, count: number): number {
  let v = 0;
  for (let i = start; i < start + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** `text` as a number when it is 1 to 15 ASCII digits (a plain Unix time), else -1. */
function unixDigits(text: string): number {
  const n = text.length;
  if (n > 15) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

function unixNumberToMs(n: number, text: string): number {
  const a = Math.abs(n);
  let ms: number;
  if (a < 1e11) ms = n * 1000;
  else if (a < 1e14) ms = n;
  else if (a < 1e17) ms = n / 1000;
  else ms = n / 1e6;
  ms = Math.round(ms);
  if (!Number.isSafeInteger(ms)) {
    throw new BadTimestamp(`timestamp out of range (got ${quote(text)})`);
  }
  return ms;
}

/** A received text for an error message: quoted, cut to 60 characters. */
export function quote(text: string): string {
  const s = JSON.stringify(text);
  return s.length > 60 ? s.slice(0, 57) + '..."' : s;
}
