/**
 * Times on the command line: integer milliseconds since the epoch, RFC 3339 date-times with any
 * offset, or times relative to now (`now-1h`) (`export --start/--end`). Throws commander's `InvalidArgumentError`, which the CLI reports as
 * a usage error naming the option.
 *
 * @module
 */
import { InvalidArgumentError } from "@commander-js/extra-typings";
import { parseDurationMs } from "./parse.ts";

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|([+-])(\d{2}):(\d{2}))$/i;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Parses a time for `--start`/`--end`: integer milliseconds since the epoch (`1732350000123`)
 * or an RFC 3339 date-time (`2024-11-23T08:20:00Z`, `2024-11-23T08:20:00.123+01:00`). Every
 * field is range-checked (no rolling `2024-02-30` over into March, no hour 24). A leap second
 * (`23:59:60Z`, any fraction) means the last millisecond before the next minute (`23:59:59.999Z`):
 * Unix time has no leap seconds. Fractions finer than a millisecond are truncated. `now`,
 * `now-1h30m` and `now+5m` are relative to `nowMs` (default: the clock when parsed).
 */
export function parseTimeMs(text: string, nowMs: number = Date.now()): number {
  const t = text.trim();
  const bad = (why: string) =>
    new InvalidArgumentError(
      `expected ms since the epoch, an RFC 3339 time like 2024-11-23T08:20:00Z, or now-1h (got "${text}"${
        why ? `: ${why}` : ""
      })`,
    );
  const rel = /^now(?:([+-])(.+))?$/i.exec(t);
  if (rel) {
    if (rel[1] === undefined) return nowMs;
    let offsetMs: number;
    try {
      offsetMs = parseDurationMs(rel[2]);
    } catch (err) {
      throw bad((err as Error).message);
    }
    return rel[1] === "-" ? nowMs - offsetMs : nowMs + offsetMs;
  }
  if (/^-?\d+$/.test(t)) {
    const n = Number(t);
    if (Number.isSafeInteger(n)) return n;
    throw bad("not a safe integer");
  }
  const m = RFC3339.exec(t);
  if (!m) throw bad("");
  const [year, month, day, hour, minute] = [1, 2, 3, 4, 5].map((i) => Number(m[i]));
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (month < 1 || month > 12) throw bad(`month ${m[2]} is not 01-12`);
  const days = daysInMonth(year, month);
  if (day < 1 || day > days) throw bad(`day ${m[3]} is not 01-${days} in ${m[1]}-${m[2]}`);
  if (hour > 23) throw bad(`hour ${m[4]} is not 00-23`);
  if (minute > 59) throw bad(`minute ${m[5]} is not 00-59`);
  if (second > 60) throw bad(`second ${m[6]} is not 00-60`);
  let offsetMin = 0;
  if (m[9]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) throw bad(`offset ${m[9]}${m[10]}:${m[11]} is out of range`);
    offsetMin = (m[9] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const leap = second === 60;
  const ms = leap ? 999 : m[7] ? Number(m[7].slice(0, 3).padEnd(3, "0")) : 0;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, leap ? 59 : second, ms);
  const result = d.getTime() - offsetMin * 60_000;
  if (!Number.isFinite(result)) throw bad("out of range");
  return result;
}
