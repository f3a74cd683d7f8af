import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert";
import { formatByteSize, formatDurationMs, parseByteSize, parseDurationMs } from "./parse.ts";
import { parseTimeMs } from "./time.ts";

Deno.test("durations as Prometheus writes them", () => {
  const cases: [string, number][] = [
    ["500ms", 500],
    ["1s", 1000],
    ["1.5s", 1500],
    ["1m30s", 90_000],
    ["2d", 172_800_000],
    ["1h5m10s250ms", 3_910_250],
    ["1w", 604_800_000],
    ["1y", 31_536_000_000],
    ["0", 0],
  ];
  for (const [text, ms] of cases) assertEquals(parseDurationMs(text), ms, text);
  for (const ms of [1, 500, 1000, 90_000, 3_910_250, 172_800_000]) {
    assertEquals(parseDurationMs(formatDurationMs(ms)), ms);
  }
  assertEquals(formatDurationMs(90_000), "1m30s");
});

Deno.test("durations: a bare number is refused with a hint; units out of order are refused", () => {
  assertThrows(() => parseDurationMs("2"), /write 2s for seconds or 2ms for milliseconds/);
  for (const bad of ["1s1m", "1s1s", "s", "1x", "-1s", "1 s", "", "ms5"]) {
    assertThrows(() => parseDurationMs(bad), /expected a duration/, bad);
  }
});

Deno.test("sizes: binary units as Prometheus, fractions, bare bytes", () => {
  const cases: [string, number][] = [
    ["1048576", 1048576],
    ["64KiB", 65536],
    ["512MB", 512 * 2 ** 20],
    ["32M", 32 * 2 ** 20],
    ["1.5GiB", 1.5 * 2 ** 30],
    ["2tb", 2 * 2 ** 40],
    ["100B", 100],
  ];
  for (const [text, n] of cases) assertEquals(parseByteSize(text), n, text);
  for (const bad of ["", "MiB", "1PB", "-1", "0", "1.5.2M"]) {
    assertThrows(() => parseByteSize(bad), /size/, bad);
  }
  assertEquals(formatByteSize(32 * 2 ** 20), "32MiB");
  assertEquals(formatByteSize(1000), "1000B");
});

Deno.test("times: relative to now, RFC 3339 with any offset, ms", () => {
  const now = 1_700_000_000_000;
  assertEquals(parseTimeMs("now", now), now);
  assertEquals(parseTimeMs("now-1h", now), now - 3_600_000);
  assertEquals(parseTimeMs("now-1h30m", now), now - 5_400_000);
  assertEquals(parseTimeMs("now+5m", now), now + 300_000);
  assertEquals(parseTimeMs("2024-11-23T09:20:00+01:00", now), Date.UTC(2024, 10, 23, 8, 20));
  assertEquals(parseTimeMs("2024-11-23T03:20:00-05:00", now), Date.UTC(2024, 10, 23, 8, 20));
  assertEquals(parseTimeMs("1732350000123", now), 1732350000123);
  assertThrows(() => parseTimeMs("now-1", now), /a duration needs a unit/);
  assertThrows(() => parseTimeMs("yesterday", now), /now-1h/);
});
