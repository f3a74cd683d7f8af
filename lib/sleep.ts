/**
 * Waiting that a signal can cut short.
 *
 * @module
 */

/** Resolves after `ms` milliseconds, or as soon as `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

let pacing = true;

/**
 * Turns pacing off for this thread: every {@linkcode EventLoopPacer} then runs its loop to the
 * end. For workers that serve nothing else meanwhile (the store's writer thread), where a pause
 * only costs time: Deno clamps a chain of `setTimeout(0)` to ~2 ms each, 20 % of a 10 ms slice.
 */
export function disableEventLoopPacing(): void {
  pacing = false;
}

/**
 * Lets a long synchronous loop share the event loop: {@linkcode EventLoopPacer.tick} returns a
 * promise (a macrotask, so I/O and timers run) once `sliceMs` have passed since the last pause,
 * and `undefined` otherwise (no await needed: `const p = pacer.tick(); if (p) await p;`). A server
 * decoding a request of a million series stays able to answer `/-/healthy` meanwhile.
 */
export class EventLoopPacer {
  #last = performance.now();
  #calls = 0;
  readonly #sliceMs: number;
  readonly #checkEvery: number;
  readonly #always: boolean;

  /**
   * Pauses after `sliceMs` (default 10) of work; the clock is read every `checkEvery` (256)
   * ticks. `always`: pause even where {@linkcode disableEventLoopPacing} turned pacing off (work
   * done in the background of a thread that has other work).
   */
  constructor(options: { sliceMs?: number; checkEvery?: number; always?: boolean } = {}) {
    this.#sliceMs = options.sliceMs ?? 10;
    this.#checkEvery = options.checkEvery ?? 256;
    this.#always = options.always ?? false;
  }

  /** A pause when the slice is used up, else `undefined`. */
  tick(): Promise<void> | undefined {
    if (++this.#calls < this.#checkEvery || !(pacing || this.#always)) return undefined;
    this.#calls = 0;
    const now = performance.now();
    if (now - this.#last < this.#sliceMs) return undefined;
    return new Promise<void>((resolve) =>
      setTimeout(() => {
        this.#last = performance.now();
        resolve();
      }, 0)
    );
  }
}
