/**
 * PromQL series selectors and label matchers with Prometheus (2.x) semantics.
 *
 * - {@linkcode parseSelector} reads `metric`, `metric{job!="a"}`, `{__name__="x",job=~"a.*"}` with
 *   PromQL's string syntax (`"…"` and `'…'` with Go escapes, `` `…` `` raw).
 * - {@linkcode compileMatcher} turns a matcher into a predicate. Regexes are fully anchored
 *   (`^(?:re)$`, as Prometheus 2.x compiles them: `.` does not match a newline) and use RE2 syntax
 *   through `re2js`, whose matching is linear in the input, so a hostile `(a+)+$` cannot stall.
 * - A matcher on a label the series does not have compares against `""`, so `job!="a"` and
 *   `job=~"a|"` select series without `job`, and `job=""` selects exactly those.
 *
 * @module
 */
import { RE2JS } from "re2js";
import { InputError } from "../errors.ts";
import type { Labels } from "../model/sample.ts";

/** The four PromQL matcher operators. */
export type MatchType = "=" | "!=" | "=~" | "!~";

/** The operators in the order of prompb's `LabelMatcher.Type` enum (EQ=0, NEQ=1, RE=2, NRE=3). */
export const MATCH_TYPES_BY_NUMBER: readonly MatchType[] = ["=", "!=", "=~", "!~"];

/** One label matcher, as written (`name op "value"`) or as sent in a remote read query. */
export interface LabelMatcher {
  /** Label name; `__name__` for the metric name. */
  name: string;
  /** Operator. */
  type: MatchType;
  /** The string (`=`, `!=`) or the RE2 pattern, unanchored as written (`=~`, `!~`). */
  value: string;
}

/** A matcher ready to test label values. */
export interface CompiledMatcher extends LabelMatcher {
  /** Whether a label value (`""` for an absent label) satisfies the matcher. */
  matches(value: string): boolean;
  /** Whether the matcher accepts `""`, i.e. selects series that lack the label. */
  readonly matchesEmpty: boolean;
}

/** A selector or a regex that cannot be parsed; the message names the position and what was found. */
export class SelectorSyntaxError extends InputError {
  override name = "SelectorSyntaxError";
}

const LABEL_NAME_START = /[a-zA-Z_]/;
const LABEL_NAME_CHAR = /[a-zA-Z0-9_]/;
const METRIC_NAME_START = /[a-zA-Z_:]/;
const METRIC_NAME_CHAR = /[a-zA-Z0-9_:]/;

/** Characters with a meaning in RE2 syntax: a pattern without them is a literal string. */
const REGEX_META = /[\\.+*?()|[\]{}^$]/;
/** A pattern that is only literals separated by `|` (e.g. `gpu0|gpu1`). */
const LITERAL_ALTERNATION = /^[^\\.+*?()|[\]{}^$]*(?:\|[^\\.+*?()|[\]{}^$]*)+$/;

class Cursor {
  pos = 0;
  constructor(readonly text: string) {}

  fail(what: string): never {
    const got = this.pos < this.text.length
      ? `"${this.text.slice(this.pos, this.pos + 12)}"`
      : "the end of the selector";
    throw new SelectorSyntaxError(
      `invalid selector ${JSON.stringify(this.text)}: at column ${
        this.pos + 1
      }: ${what}, got ${got}`,
    );
  }

  skipSpace(): void {
    while (this.pos < this.text.length) {
      const c = this.text[this.pos];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") this.pos++;
      else if (c === "#") { // a PromQL comment runs to the end of the line
        while (this.pos < this.text.length && this.text[this.pos] !== "\n") this.pos++;
      } else break;
    }
  }

  peek(): string {
    return this.text[this.pos] ?? "";
  }

  name(start: RegExp, rest: RegExp): string | undefined {
    if (!start.test(this.peek())) return undefined;
    const from = this.pos++;
    while (this.pos < this.text.length && rest.test(this.text[this.pos])) this.pos++;
    return this.text.slice(from, this.pos);
  }
}

const ESCAPES: Record<string, number> = {
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
  "\\": 0x5c,
};
const utf8Fatal = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

function hexDigits(c: Cursor, n: number): number {
  const digits = c.text.slice(c.pos, c.pos + n);
  if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(digits)) c.fail(`expected ${n} hex digits in escape`);
  c.pos += n;
  return parseInt(digits, 16);
}

/** Reads a PromQL string literal at the cursor (Go escapes; `\x`/octal escapes are UTF-8 bytes). */
function readString(c: Cursor): string {
  const quote = c.peek();
  if (quote !== '"' && quote !== "'" && quote !== "`") c.fail("expected a quoted string");
  c.pos++;
  if (quote === "`") {
    const end = c.text.indexOf("`", c.pos);
    if (end < 0) c.fail("unterminated raw string");
    const s = c.text.slice(c.pos, end);
    c.pos = end + 1;
    return s;
  }
  const bytes: number[] = [];
  let plainFrom = c.pos;
  let out = "";
  const flushPlain = (to: number) => {
    if (to > plainFrom) {
      if (bytes.length) out += decodeBytes(c, bytes);
      out += c.text.slice(plainFrom, to);
    }
  };
  while (true) {
    if (c.pos >= c.text.length) c.fail("unterminated string");
    const ch = c.text[c.pos];
    if (ch === quote) {
      flushPlain(c.pos);
      if (bytes.length) out += decodeBytes(c, bytes);
      c.pos++;
      return out;
    }
    if (ch === "\n") c.fail("newline in string");
    if (ch !== "\\") {
      c.pos++;
      continue;
    }
    flushPlain(c.pos);
    c.pos++; // the backslash
    const e = c.text[c.pos++] ?? "";
    if (e in ESCAPES) bytes.push(ESCAPES[e]);
    else if (e === quote) bytes.push(quote.charCodeAt(0));
    else if (e === "x") bytes.push(hexDigits(c, 2));
    else if (e >= "0" && e <= "7") {
      const oct = e + c.text.slice(c.pos, c.pos + 2);
      if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) {
        c.pos--;
        c.fail("expected 3 octal digits (at most \\377) in escape");
      }
      c.pos += 2;
      bytes.push(parseInt(oct, 8));
    } else if (e === "u" || e === "U") {
      const cp = hexDigits(c, e === "u" ? 4 : 8);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        c.fail("escape is not a valid code point");
      }
      bytes.push(...encoder.encode(String.fromCodePoint(cp)));
    } else {
      c.pos -= 2;
      c.fail(`unknown escape sequence \\${e}`);
    }
    plainFrom = c.pos;
  }
}

function decodeBytes(c: Cursor, bytes: number[]): string {
  try {
    return utf8Fatal.decode(new Uint8Array(bytes));
  } catch {
    return c.fail("escaped bytes are not valid UTF-8");
  } finally {
    bytes.length = 0;
  }
}

function readOperator(c: Cursor): MatchType {
  const two = c.text.slice(c.pos, c.pos + 2);
  if (two === "=~" || two === "!=" || two === "!~") {
    c.pos += 2;
    return two;
  }
  if (c.peek() === "=") {
    c.pos++;
    return "=";
  }
  return c.fail("expected one of =, !=, =~, !~ after the label name");
}

/**
 * Parses a PromQL series selector into its matchers, the metric name first as
 * `{name: "__name__", type: "=", …}`. Regexes are checked here (a bad one throws), and, as in
 * PromQL, at least one matcher must not match the empty string (`{job=~".*"}` is refused).
 *
 * @throws {SelectorSyntaxError} naming the column and what was found there; commands should report
 *   it as a usage error when the selector came from the command line.
 */
export function parseSelector(text: string): LabelMatcher[] {
  const c = new Cursor(text);
  const matchers: LabelMatcher[] = [];
  c.skipSpace();
  const metric = c.name(METRIC_NAME_START, METRIC_NAME_CHAR);
  if (metric !== undefined) matchers.push({ name: "__name__", type: "=", value: metric });
  c.skipSpace();
  if (c.peek() === "{") {
    c.pos++;
    c.skipSpace();
    while (c.peek() !== "}") {
      const name = c.name(LABEL_NAME_START, LABEL_NAME_CHAR) ??
        c.fail("expected a label name or }");
      c.skipSpace();
      const type = readOperator(c);
      c.skipSpace();
      const at = c.pos;
      const value = readString(c);
      if (name === "__name__" && metric !== undefined) {
        c.pos = at;
        c.fail(`metric name given twice ("${metric}" and a __name__ matcher)`);
      }
      const m: LabelMatcher = { name, type, value };
      if (type === "=~" || type === "!~") {
        try {
          compileMatcher(m);
        } catch (err) {
          c.pos = at;
          c.fail((err as Error).message);
        }
      }
      matchers.push(m);
      c.skipSpace();
      if (c.peek() === ",") {
        c.pos++;
        c.skipSpace();
      } else if (c.peek() !== "}") c.fail("expected , or } after a matcher");
    }
    c.pos++;
    c.skipSpace();
  } else if (metric === undefined) c.fail("expected a metric name or {");
  if (c.pos < text.length) c.fail("unexpected text after the selector");
  if (!compileMatchers(matchers).some((m) => !m.matchesEmpty)) {
    throw new SelectorSyntaxError(
      `invalid selector ${
        JSON.stringify(text)
      }: it must contain at least one matcher that does not match the empty string`,
    );
  }
  return matchers;
}

/** Cache of compiled regex predicates by pattern (queries repeat the same few patterns). */
const regexCache = new Map<string, (value: string) => boolean>();
const REGEX_CACHE_ENTRIES = 256;

/** A predicate for the fully anchored RE2 pattern `pattern`, with fast paths for common shapes. */
function regexPredicate(pattern: string): (value: string) => boolean {
  const cached = regexCache.get(pattern);
  if (cached) return cached;
  let pred: (value: string) => boolean;
  if (!REGEX_META.test(pattern)) {
    pred = (v) => v === pattern;
  } else if (LITERAL_ALTERNATION.test(pattern)) {
    const set = new Set(pattern.split("|"));
    pred = (v) => set.has(v);
  } else if (pattern === ".*") {
    pred = (v) => v.indexOf("\n") < 0;
  } else if (pattern === ".+") {
    pred = (v) => v.length > 0 && v.indexOf("\n") < 0;
  } else {
    let re: RE2JS;
    try {
      RE2JS.compile(pattern); // alone first, so that `a)|(b` cannot escape the anchoring group
      re = RE2JS.compile(`^(?:${pattern})$`);
    } catch (err) {
      throw new SelectorSyntaxError(
        `invalid regex ${JSON.stringify(pattern)}: ${(err as Error).message}`,
      );
    }
    pred = (v) => re.matches(v);
  }
  if (regexCache.size >= REGEX_CACHE_ENTRIES) {
    regexCache.delete(regexCache.keys().next().value as string);
  }
  regexCache.set(pattern, pred);
  return pred;
}

/**
 * Compiles one matcher. Regex matchers are fully anchored RE2 patterns evaluated in linear time.
 *
 * @throws {SelectorSyntaxError} for a regex RE2 cannot parse (for example a backreference or
 *   a repeat count over 1000), naming the pattern.
 */
export function compileMatcher(m: LabelMatcher): CompiledMatcher {
  const { name, type, value } = m;
  let matches: (v: string) => boolean;
  switch (type) {
    case "=":
      matches = (v) => v === value;
      break;
    case "!=":
      matches = (v) => v !== value;
      break;
    case "=~":
      matches = regexPredicate(value);
      break;
    case "!~": {
      const p = regexPredicate(value);
      matches = (v) => !p(v);
      break;
    }
    default:
      throw new SelectorSyntaxError(`unknown matcher type ${JSON.stringify(type)}`);
  }
  return { name, type, value, matches, matchesEmpty: matches("") };
}

/** Compiles a list of matchers (see {@linkcode compileMatcher}). */
export function compileMatchers(matchers: readonly LabelMatcher[]): CompiledMatcher[] {
  return matchers.map((m) => "matches" in m ? m as CompiledMatcher : compileMatcher(m));
}

/** Parses and compiles a selector in one step (see {@linkcode parseSelector}). */
export function compileSelector(text: string): CompiledMatcher[] {
  return compileMatchers(parseSelector(text));
}

/**
 * Whether a series satisfies every matcher. `labels` may hold `__name__` itself, or the metric name
 * is passed as `metricName` (the {@linkcode Labels} of a `Sample` do not carry it). An absent
 * label compares as `""`.
 */
export function matchesAll(
  matchers: readonly CompiledMatcher[],
  labels: Readonly<Labels>,
  metricName?: string,
): boolean {
  for (let i = 0; i < matchers.length; i++) {
    const m = matchers[i];
    const v = m.name === "__name__" && metricName !== undefined ? metricName : labels[m.name];
    if (!m.matches(v ?? "")) return false;
  }
  return true;
}

/** {@linkcode matchesAll} over wire-order `[name, value]` pairs (with `__name__`). */
export function matchesAllPairs(
  matchers: readonly CompiledMatcher[],
  pairs: readonly (readonly [string, string])[],
): boolean {
  for (let i = 0; i < matchers.length; i++) {
    const m = matchers[i];
    let v = "";
    for (let j = 0; j < pairs.length; j++) {
      if (pairs[j][0] === m.name) {
        v = pairs[j][1];
        break;
      }
    }
    if (!m.matches(v)) return false;
  }
  return true;
}

/** The metric name a selector pins with `__name__="x"`, if any (lets a store skip other metrics). */
export function exactMetricName(matchers: readonly LabelMatcher[]): string | undefined {
  for (const m of matchers) if (m.name === "__name__" && m.type === "=") return m.value;
  return undefined;
}

/** Formats matchers back as a PromQL selector (`{__name__="x", job=~"a.*"}`), for logs and errors. */
export function formatSelector(matchers: readonly LabelMatcher[]): string {
  return "{" + matchers.map((m) => `${m.name}${m.type}${JSON.stringify(m.value)}`).join(", ") +
    "}";
}
