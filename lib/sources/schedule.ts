/**
 * A fixed-rate schedule: tick k is due at `start + k × period`, so lateness never accumulates.
 * After a tick's work, every deadline that has already passed is skipped and counted (as
 * MetricQ's IntervalSource does): a tick that cannot run in time does not run late, it is
 * dropped, and the next one keeps its slot.
 *
 * @module
 */
import { sleep } from "../sleep.ts";

/** Time source and waiting, injectable for tests. Times are milliseconds (fractional). */
export interface ScheduleClock {
  /** A monotonic time in ms. */
  now(): number;
  /** Resolves at (or as soon as possible after) `dueMs`, or early when `signal` aborts. */
  sleepUntil(dueMs: number, signal?: AbortSignal): Promise<void>;
}

/** Options of {@linkcode realClock}. */
export interface RealClockOptions {
  /**
   * The last this many ms before a deadline are waited with a blocking `Atomics.wait` (no CPU
   * used, the event loop paused) instead of a timer, whose granularity is about 1-2 ms.
   * 0 uses timers only. Default 4 (timers fire up to 2-4 ms late on a busy machine).
   */
  preciseWaitMs?: number;
  /**
   * Longest time the event loop may go without running (signals, child output, stdout writes
   * wait meanwhile). Waits that fit in this budget are done entirely with `Atomics.wait`,
   * which costs less CPU than a timer wake-up. Default 50.
   */
  maxBlockMs?: number;
}

/** The real monotonic clock (`performance.now()`), with sub-millisecond, cheap wake-ups. */
export function realClock(options: RealClockOptions = {}): ScheduleClock {
  const preciseWaitMs = options.preciseWaitMs ?? 4;
  const maxBlockMs = options.maxBlockMs ?? 50;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  let lastYieldMs = -Infinity;
  return {
    now: () => performance.now(),
    async sleepUntil(dueMs, signal) {
      const now = performance.now();
      const rest = dueMs - now;
      const blockOnly = preciseWaitMs > 0 &&
        (rest <= preciseWaitMs || now - lastYieldMs + rest <= maxBlockMs);
      if (!blockOnly) {
        // Let the event loop run (timers, I/O, signals) for the coarse part of the wait.
        await sleep(Math.max(0, rest - preciseWaitMs), signal);
        lastYieldMs = performance.now();
      }
      if (signal?.aborted || preciseWaitMs <= 0) return;
      let left: number;
      while ((left = dueMs - performance.now()) > 0) Atomics.wait(cell, 0, 0, left);
    },
  };
}

/** One tick handed to the caller. */
export interface Tick {
  /** k: the tick's number in the schedule (skipped ticks leave gaps). */
  index: number;
  /** When it was due, on the clock's scale. */
  dueMs: number;
  /** When it was handed out, on the clock's scale (≥ dueMs, up to timer lateness). */
  startMs: number;
  /** Ticks skipped right before this one. */
  skippedBefore: number;
}

/** Options of {@linkcode FixedRateSchedule}. */
export interface FixedRateScheduleOptions {
  /** Period in ms (> 0). */
  periodMs: number;
  /** When tick 0 is due, on the clock's scale. Default: the moment iteration starts. */
  startMs?: number;
  /** Stop after this many ticks have run. Default: no limit. */
  count?: number;
  /** Stop before the first tick due at or after `start + durationMs`. Default: no limit. */
  durationMs?: number;
  /** Clock. Default {@linkcode realClock}(). */
  clock?: ScheduleClock;
  /** Stops the schedule (a pending wait ends at once). */
  signal?: AbortSignal;
  /** Told each time deadlines are skipped: the first skipped tick's index and how many. */
  onSkip?: (firstIndex: number, skipped: number) => void;
}

/**
 * Yields ticks at a fixed rate. Iterate it with `for await`; the time spent in the loop body is
 * what decides whether deadlines are missed. Tick 0 is due at `startMs` (default: the moment iteration starts).
 */
export class FixedRateSchedule {
  /** Ticks run so far. */
  ran = 0;
  /** Ticks skipped so far. */
  skipped = 0;
  /** Start time on the clock's scale (set when iteration starts). */
  startMs = NaN;
  readonly #o: FixedRateScheduleOptions;
  readonly #clock: ScheduleClock;

  /** Creates a schedule; nothing runs until it is iterated. */
  constructor(options: FixedRateScheduleOptions) {
    if (!(options.periodMs > 0) || !Number.isFinite(options.periodMs)) {
      throw new RangeError(`periodMs must be a positive number (got ${options.periodMs})`);
    }
    this.#o = options;
    this.#clock = options.clock ?? realClock();
  }

  /** The due time of tick k. */
  dueOf(k: number): number {
    return this.startMs + k * this.#o.periodMs;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Tick, void, undefined> {
    const { periodMs, count, durationMs, signal, onSkip } = this.#o;
    const clock = this.#clock;
    this.startMs = this.#o.startMs ?? clock.now();
    const endMs = durationMs === undefined ? Infinity : this.startMs + durationMs;
    let k = 0;
    let skippedBefore = 0;
    while (true) {
      if (signal?.aborted) return;
      if (count !== undefined && this.ran >= count) return;
      const due = this.startMs + k * periodMs;
      if (due >= endMs) return;
      if (clock.now() < due) await clock.sleepUntil(due, signal);
      if (signal?.aborted) return;
      this.ran++;
      yield { index: k, dueMs: due, startMs: clock.now(), skippedBefore };
      // The caller's work is done: skip every deadline that has already passed.
      const now = clock.now();
      k++;
      skippedBefore = 0;
      while (now >= this.startMs + k * periodMs && this.startMs + k * periodMs < endMs) {
        k++;
        skippedBefore++;
      }
      if (skippedBefore > 0) {
        this.skipped += skippedBefore;
        onSkip?.(k - skippedBefore, skippedBefore);
      }
    }
  }
}
