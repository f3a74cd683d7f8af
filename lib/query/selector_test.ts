import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import {
  compileMatcher,
  compileSelector,
  exactMetricName,
  formatSelector,
  matchesAll,
  matchesAllPairs,
  parseSelector,
  SelectorSyntaxError,
} from "./selector.ts";

function assertThrows(fn: () => unknown, type: new (...a: never[]) => Error, includes: string) {
  throws(fn, (err: Error) =>
    err instanceof type && err.message.includes(includes) || (() => {
      throw new Error(`expected ${type.name} with "${includes}", got ${err}`);
    })());
}

Deno.test("parseSelector: metric name, braces, all four operators, trailing comma", () => {
  assertEquals(parseSelector("up"), [{ name: "__name__", type: "=", value: "up" }]);
  assertEquals(parseSelector(' node:cpu_seconds { job != "a", mode=~"idle|user" ,x!~`b.*`, } '), [
    { name: "__name__", type: "=", value: "node:cpu_seconds" },
    { name: "job", type: "!=", value: "a" },
    { name: "mode", type: "=~", value: "idle|user" },
    { name: "x", type: "!~", value: "b.*" },
  ]);
  assertEquals(parseSelector('{__name__="x",job=~"a.*"}'), [
    { name: "__name__", type: "=", value: "x" },
    { name: "job", type: "=~", value: "a.*" },
  ]);
  assertEquals(parseSelector("up{}"), [{ name: "__name__", type: "=", value: "up" }]);
  assertEquals(parseSelector("up # a comment\n{a='b'}").length, 2);
});

Deno.test("parseSelector: PromQL string escapes", () => {
  const v = (s: string) => parseSelector(`{a=${s}}`)[0].value;
  assertEquals(v(String.raw`"q\"\\\n\t"`), 'q"\\\n\t');
  assertEquals(v(String.raw`'it\'s'`), "it's");
  assertEquals(v(String.raw`"\x41\101\u00e9\U0001F600"`), "AAé😀");
  assertEquals(v(String.raw`"\xc3\xa9"`), "é"); // bytes of one UTF-8 character
  assertEquals(v("`raw\\d+`"), "raw\\d+");
  assertEquals(v('"wätt"'), "wätt");
  assertThrows(() => parseSelector(String.raw`{a="\q"}`), SelectorSyntaxError, "unknown escape");
  assertThrows(() => parseSelector(String.raw`{a="\xff"}`), SelectorSyntaxError, "UTF-8");
  assertThrows(() => parseSelector(String.raw`{a="\'"}`), SelectorSyntaxError, "unknown escape");
});

Deno.test("parseSelector: errors name the column and what was found", () => {
  const bad: [string, string][] = [
    ["", "expected a metric name or {"],
    ['{a="b"', "expected , or }"],
    ['{a=="b"}', "expected a quoted string"],
    ['{a=~"("}', "invalid regex"],
    ['{1a="b"}', "expected a label name"],
    ['{a="b}', "unterminated string"],
    ["up[5m]", "unexpected text"],
    ['up{__name__="x"}', "metric name given twice"],
    ['{job=~".*"}', "at least one matcher that does not match the empty string"],
    ['{job=""}', "at least one matcher"],
    ['{a<"b"}', "expected one of =, !=, =~, !~"],
  ];
  for (const [text, message] of bad) {
    assertThrows(() => parseSelector(text), SelectorSyntaxError, message);
  }
  assertThrows(() => parseSelector('{a=="b"}'), SelectorSyntaxError, "at column 4");
});

Deno.test("matchers: Prometheus semantics (anchored, absent label is empty)", () => {
  const m = compileSelector('power_watts{gpu=~"0|1", host!="b", zone!~"x.*"}');
  assert(matchesAll(m, { gpu: "0", host: "a" }, "power_watts"));
  assert(matchesAll(m, { __name__: "power_watts", gpu: "1" }));
  assert(!matchesAll(m, { gpu: "10" }, "power_watts")); // anchored: "0|1" does not match "10"
  assert(!matchesAll(m, { gpu: "0", host: "b" }, "power_watts"));
  assert(!matchesAll(m, { gpu: "0", zone: "xy" }, "power_watts"));
  assert(!matchesAll(m, { gpu: "0" }, "energy"));
  assert(matchesAllPairs(m, [["__name__", "power_watts"], ["gpu", "1"]]));

  const eq = (type: "=" | "!=" | "=~" | "!~", value: string, v: string) =>
    compileMatcher({ name: "a", type, value }).matches(v);
  assert(eq("=", "", ""));
  assert(!eq("!=", "", ""));
  assert(eq("=~", "a|", ""));
  assert(eq("=~", "fo+", "fooo"));
  assert(!eq("=~", "fo+", "xfoo"));
  assert(!eq("=~", "fo+", "foox"));
  assert(eq("=~", "(?i)FOO", "foo"));
  assert(eq("=~", "\\d+", "123"));
  assert(!eq("=~", ".*", "a\nb")); // Prometheus 2.x: `.` does not match a newline
  assert(eq("=~", "(?s).*", "a\nb"));
  assert(eq("!~", "a.*", "ba"));
  assert(eq("=~", ".+", "x"));
  assert(!eq("=~", ".+", ""));
  assert(compileMatcher({ name: "a", type: "!=", value: "x" }).matchesEmpty);
  assert(!compileMatcher({ name: "a", type: "=~", value: ".+" }).matchesEmpty);
  assertThrows(
    () => compileMatcher({ name: "a", type: "=~", value: "a)|(b" }),
    SelectorSyntaxError,
    "invalid regex",
  );
  assertThrows(
    () => compileMatcher({ name: "a", type: "=~", value: "(a)\\1" }),
    SelectorSyntaxError,
    "invalid regex",
  );
});

Deno.test("matchers: a hostile regex runs in linear time", () => {
  const m = compileMatcher({ name: "a", type: "=~", value: "(a+)+$" });
  const input = "a".repeat(100_000) + "!";
  const t0 = performance.now();
  assert(!m.matches(input));
  assert(m.matches("aaaa"));
  const ms = performance.now() - t0;
  assert(ms < 2000, `took ${ms} ms`);
});

Deno.test("exactMetricName and formatSelector", () => {
  const m = parseSelector('up{job=~"a\\"b"}');
  assertEquals(exactMetricName(m), "up");
  assertEquals(exactMetricName(parseSelector('{__name__=~"u.*"}')), undefined);
  assertEquals(formatSelector(m), '{__name__="up", job=~"a\\"b"}');
  assertEquals(parseSelector(formatSelector(m)), m);
});
