/**
 * Admission control for write paths: a budget of bytes that requests in flight hold (their body,
 * then what decoding it costs), shared by every handler of a server. A request that would take
 * the total past the limit is refused (503 + Retry-After) instead of growing memory without
 * bound; one request alone is always let in, so a budget smaller than the largest body never
 * starves it (the body and decoded-size limits bound it instead).
 *
 * @module
 */

/** Bytes held by requests in flight, up to `maxBytes` (see the module doc). */
export class InflightBudget {
  /** The limit, bytes. */
  readonly maxBytes: number;
  #used = 0;
  /** Requests refused for want of budget. */
  refused = 0;

  /** A budget of `maxBytes`. */
  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Bytes held now. */
  get usedBytes(): number {
    return this.#used;
  }

  /**
   * Takes `bytes` more for a request that holds `heldBytes` already; false (and nothing taken)
   * when that would pass the limit while other requests hold bytes.
   */
  tryTake(bytes: number, heldBytes = 0): boolean {
    if (this.#used > heldBytes && this.#used + bytes > this.maxBytes) {
      this.refused++;
      return false;
    }
    this.#used += bytes;
    return true;
  }

  /** Gives back `bytes` taken earlier. */
  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}
