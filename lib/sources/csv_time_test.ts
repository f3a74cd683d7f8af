import { assert, assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { BadTimestamp, isValidTimeZone, TimestampParser, ZoneConverter } from "./csv_time.ts";

Deno.test("timestamps: ISO-8601 with Z, offsets, fractions; dates alone", () => {
  const p = new TimestampParser({ timeZone: "UTC" });
  assertEquals(p.parseMs("2025-07-18T20:42:34Z"), Date.UTC(2025, 6, 18, 20, 42, 34));
  assertEquals(p.parseMs("2025-07-18T20:42:34.5Z"), Date.UTC(2025, 6, 18, 20, 42, 34, 500));
  assertEquals(p.parseMs("2025-07-18T20:42:34.123456Z"), Date.UTC(2025, 6, 18, 20, 42, 34, 123));
  assertEquals(p.parseMs("2025-07-18T22:42:34+02:00"), Date.UTC(2025, 6, 18, 20, 42, 34));
  assertEquals(p.parseMs("2025-07-18T15:12:34-0530"), Date.UTC(2025, 6, 18, 20, 42, 34));
  assertEquals(p.parseMs("2025-07-18"), Date.UTC(2025, 6, 18));
  assertEquals(p.parseMs("2025-07-18 20:42"), Date.UTC(2025, 6, 18, 20, 42));
});

Deno.test("timestamps: unix seconds, ms, µs, ns by magnitude", () => {
  const p = new TimestampParser({ timeZone: "UTC" });
  assertEquals(p.parseMs("1700000000"), 1_700_000_000_000);
  assertEquals(p.parseMs("1700000000.123"), 1_700_000_000_123);
  assertEquals(p.parseMs("1700000000123"), 1_700_000_000_123);
  assertEquals(p.parseMs("1700000000123456"), 1_700_000_000_123);
  assertEquals(p.parseMs("1700000000123456789"), 1_700_000_000_123);
  assertEquals(p.parseMs("0.005"), 5); // seconds since the start of a trace
});

Deno.test("timestamps: nvidia-smi local time in a named zone, across DST", () => {
  const berlin = new TimestampParser({ timeZone: "Europe/Berlin" });
  // Summer: UTC+2.
  assertEquals(berlin.parseMs("2026/07/14 08:12:38.696"), Date.UTC(2026, 6, 14, 6, 12, 38, 696));
  // Winter: UTC+1.
  assertEquals(berlin.parseMs("2026/01/14 08:12:38.696"), Date.UTC(2026, 0, 14, 7, 12, 38, 696));
  // Just before and after the spring-forward gap (2026-03-29 02:00 → 03:00 local).
  assertEquals(berlin.parseMs("2026/03/29 01:59:59.000"), Date.UTC(2026, 2, 29, 0, 59, 59));
  assertEquals(berlin.parseMs("2026/03/29 03:00:00.000"), Date.UTC(2026, 2, 29, 1, 0, 0));
  // In the gap: 02:30 does not exist, it is read as 03:30 CEST.
  assertEquals(berlin.parseMs("2026/03/29 02:30:00.000"), Date.UTC(2026, 2, 29, 1, 30, 0));
  // In the autumn overlap (02:30 happens twice) the earlier instant is taken.
  assertEquals(berlin.parseMs("2026-10-25 02:30:00"), Date.UTC(2026, 9, 25, 0, 30));
  const ny = new TimestampParser({ timeZone: "America/New_York" });
  assertEquals(ny.parseMs("2026/07/14 08:12:38.696"), Date.UTC(2026, 6, 14, 12, 12, 38, 696));
  const kolkata = new ZoneConverter("Asia/Kolkata");
  assertEquals(kolkata.offsetAtMs(Date.UTC(2026, 0, 1)), 5.5 * 3_600_000);
});

Deno.test("timestamps: the same text twice gives the same instant (cache) and bad ones throw", () => {
  const p = new TimestampParser({ timeZone: "UTC" });
  assertEquals(p.parseMs("2013-12-02 21:15:00"), p.parseMs("2013-12-02 21:15:00"));
  for (
    const bad of ["", "yesterday", "2025-13-01T00:00:00Z", "2025-02-30 00:00:00", "12:00", "1e5x"]
  ) {
    const err = assertThrows(() => p.parseMs(bad), BadTimestamp);
    assert(err.message.length > 0);
  }
  assertThrows(() => p.parseMs("2025-07-18 25:00:00"), BadTimestamp);
});

Deno.test("timestamps: zone names are checked", () => {
  assert(isValidTimeZone("UTC"));
  assert(isValidTimeZone("Europe/Berlin"));
  assert(!isValidTimeZone("Mars/Olympus"));
  assertThrows(() => new TimestampParser({ timeZone: "Mars/Olympus" }), RangeError);
});
