import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert";
import { FixedRateSchedule, realClock, type ScheduleClock } from "./schedule.ts";

/** A fake clock: sleeping jumps to the deadline plus a fixed lateness. */
function fakeClock(latenessMs = 0): ScheduleClock & { t: number } {
  const c = {
    t: 1000,
    now: () => c.t,
    sleepUntil(due: number) {
      c.t = Math.max(c.t, due + latenessMs);
      return Promise.resolve();
    },
  };
  return c;
}

Deno.test("schedule: ticks at start + k × period, no drift with late timers", async () => {
  const clock = fakeClock(0.7);
  const s = new FixedRateSchedule({ periodMs: 20, count: 50, clock });
  const ticks = [];
  for await (const t of s) {
    ticks.push(t);
    clock.t += 3; // work
  }
  assertEquals(ticks.length, 50);
  assertEquals(ticks[49].index, 49);
  assertEquals(ticks[49].dueMs, 1000 + 49 * 20);
  assert(Math.abs(ticks[49].startMs - ticks[49].dueMs - 0.7) < 1e-9);
  assertEquals(s.skipped, 0);
});

Deno.test("schedule: an overrun skips and counts the deadlines that passed", async () => {
  const clock = fakeClock();
  const skips: [number, number][] = [];
  const s = new FixedRateSchedule({
    periodMs: 20,
    durationMs: 200,
    clock,
    onSkip: (first, n) => skips.push([first, n]),
  });
  const indexes: number[] = [];
  for await (const t of s) {
    indexes.push(t.index);
    if (t.index === 2) clock.t += 65; // deadlines 3, 4, 5 pass
    if (t.index === 7) clock.t += 20; // exactly at deadline 8: it is missed too
  }
  assertEquals(indexes, [0, 1, 2, 6, 7, 9]);
  assertEquals(skips, [[3, 3], [8, 1]]);
  assertEquals(s.skipped, 4);
  assertEquals(s.ran, 6);
});

Deno.test("schedule: abort stops a pending wait", async () => {
  const ac = new AbortController();
  const s = new FixedRateSchedule({ periodMs: 10_000, signal: ac.signal });
  const t0 = performance.now();
  let n = 0;
  for await (const _ of s) {
    n++;
    setTimeout(() => ac.abort(), 20);
  }
  assertEquals(n, 1);
  assert(performance.now() - t0 < 2000);
});

Deno.test("schedule: rejects a bad period", () => {
  assertThrows(() => new FixedRateSchedule({ periodMs: 0 }), RangeError);
  assertThrows(() => new FixedRateSchedule({ periodMs: NaN }), RangeError);
});

Deno.test("schedule (real clock): 200 ticks at 20 ms, no drift, overrun counted", async () => {
  const periodMs = 20;
  const s = new FixedRateSchedule({ periodMs, durationMs: 200 * periodMs, clock: realClock() });
  const lateness: number[] = [];
  const indexes: number[] = [];
  let minSkips = 0;
  let sumSkippedBefore = 0;
  let afterOverrun: { index: number; skippedBefore: number } | undefined;
  for await (const t of s) {
    lateness.push(t.startMs - t.dueMs);
    indexes.push(t.index);
    sumSkippedBefore += t.skippedBefore;
    if (indexes.at(-2) === 100) afterOverrun = t;
    if (t.index === 100) {
      // Force an overrun of 65 ms: deadlines 101, 102 and 103 pass.
      const until = performance.now() + 65;
      while (performance.now() < until) { /* busy */ }
    }
    // Deadlines that passed while this tick ran must be skipped (the schedule looks at the
    // clock a moment later, so it may see one more on a loaded machine, never fewer).
    const end = performance.now();
    const nextFree = Math.floor((end - s.startMs) / periodMs) + 1;
    minSkips += Math.max(0, Math.min(nextFree, 200) - t.index - 1);
  }
  // Every slot either ran or was skipped; skips are counted where they happened.
  assertEquals(s.ran + s.skipped, 200);
  assertEquals(s.skipped, sumSkippedBefore);
  assert(s.skipped >= minSkips, `${s.skipped} skipped, at least ${minSkips} expected`);
  assert(
    afterOverrun !== undefined && afterOverrun.skippedBefore >= 3,
    JSON.stringify(afterOverrun),
  );
  assertEquals(afterOverrun.skippedBefore, afterOverrun.index - 101);
  if (Math.max(...lateness) < 5) {
    // A calm machine: exactly the three deadlines of the forced overrun.
    assertEquals(s.skipped, 3);
    assertEquals(afterOverrun.index, 104);
  }
  // No drift: lateness does not grow; the ticks near the end start within a period of their slot.
  const tail = lateness.slice(-50).sort((a, b) => a - b);
  assert(tail[25] < periodMs, `median lateness of the last 50 ticks: ${tail[25]} ms`);
  for (const l of lateness) assert(l >= 0, `tick early by ${-l} ms`);
  assert(Math.abs(s.dueOf(199) - s.startMs - 199 * periodMs) < 1e-6);
});
