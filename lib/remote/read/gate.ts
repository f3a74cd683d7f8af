/**
 * A gate that lets at most `limit` holders in at once (Prometheus' remote-read concurrency
 * limit); the others wait in arrival order. A waiter whose request is aborted (the client went
 * away) leaves the queue.
 *
 * @module
 */

/** At most `limit` concurrent holders; 0 or Infinity: no limit. */
export class Gate {
  #inside = 0;
  readonly #waiting: { resolve: () => void }[] = [];

  /** A gate for `limit` holders. */
  constructor(readonly limit: number) {}

  /** Holders inside now. */
  get inside(): number {
    return this.#inside;
  }

  /** Waiters now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Waits for a place; resolves with the function that gives it back (call it exactly once). */
  async enter(signal?: AbortSignal): Promise<() => void> {
    if (this.limit > 0 && this.#inside >= this.limit) {
      await new Promise<void>((resolve, reject) => {
        const waiter = { resolve };
        this.#waiting.push(waiter);
        signal?.addEventListener("abort", () => {
          const i = this.#waiting.indexOf(waiter);
          if (i >= 0) {
            this.#waiting.splice(i, 1);
            reject(signal.reason);
          }
        }, { once: true });
      });
    }
    this.#inside++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#inside--;
      this.#waiting.shift()?.resolve();
    };
  }
}
