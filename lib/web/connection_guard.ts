/**
 * Bounds on client connections that a front (plain TCP or TLS) enforces for the HTTP server
 * behind it: at most `maxConnections` at once (beyond, accepting waits, as Prometheus'
 * `--web.max-connections`), a request's header block within `readHeaderTimeoutMs` and the whole
 * request within `readTimeoutMs` of its first byte, and an idle keep-alive connection closed
 * after `idleTimeoutMs`. Time a server spends answering a complete request is never cut.
 *
 * @module
 */
import type { RequestTracker } from "./request_tracker.ts";

/** The limits (see the module doc). */
export interface ConnectionLimits {
  /** Connections at once. Default 512. */
  maxConnections: number;
  /** From a request's first byte to the end of its header block, ms. Default 1 minute. */
  readHeaderTimeoutMs: number;
  /** From a request's first byte to the end of its body, ms. Default 5 minutes. */
  readTimeoutMs: number;
  /** A connection with no request in progress and no bytes either way, ms. Default 5 minutes. */
  idleTimeoutMs: number;
}

/** The defaults of {@linkcode ConnectionLimits}. */
export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = Object.freeze({
  maxConnections: 512,
  readHeaderTimeoutMs: 60_000,
  readTimeoutMs: 5 * 60_000,
  idleTimeoutMs: 5 * 60_000,
});

/** One guarded connection: its tracker and how to close it. */
export interface GuardedConnection {
  /** Follows the connection's requests. */
  tracker: RequestTracker;
  /** Closes both sides. */
  close(): void;
}

/** Why a connection was closed by the guard. */
export type TimeoutKind = "header" | "read" | "idle";

/** Counts connections and closes those past their deadlines (see the module doc). */
export class ConnectionGuard {
  /** The limits in force. */
  readonly limits: ConnectionLimits;
  readonly #open = new Set<GuardedConnection>();
  readonly #waiting: (() => void)[] = [];
  /** Accepted connections not yet added (their upstream is being connected). */
  #pending = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  /** Connections accepted so far. */
  accepted = 0;
  /** Connections closed for each timeout. */
  readonly timeouts: Record<TimeoutKind, number> = { header: 0, read: 0, idle: 0 };
  /** Told once per kind per minute when connections are closed for a timeout. */
  onTimeout?: (kind: TimeoutKind) => void;

  /** A guard with `limits` (missing fields take their defaults). */
  constructor(limits: Partial<ConnectionLimits> = {}) {
    this.limits = { ...DEFAULT_CONNECTION_LIMITS };
    for (const [k, v] of Object.entries(limits)) {
      if (v !== undefined) (this.limits as unknown as Record<string, number>)[k] = v;
    }
  }

  /** Connections open now. */
  get open(): number {
    return this.#open.size;
  }

  /** Places held by {@linkcode slot} for connections being set up. */
  get pendingCount(): number {
    return this.#pending;
  }

  /**
   * Resolves once a connection may be accepted (at once while under the limit), holding a place
   * for it: {@linkcode add} the connection, or {@linkcode unreserve} when none comes of it.
   */
  async slot(): Promise<void> {
    while (this.#open.size + this.#pending >= this.limits.maxConnections) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
      if (this.#closed) break;
    }
    this.#pending++;
  }

  /** Gives back a place {@linkcode slot} held for a connection that did not come to be. */
  unreserve(): void {
    this.#pending = Math.max(0, this.#pending - 1);
    this.#waiting.shift()?.();
  }

  /** Starts guarding a connection (taking the place {@linkcode slot} held, if any). */
  add(connection: GuardedConnection): void {
    this.accepted++;
    if (this.#pending > 0) this.#pending--;
    this.#open.add(connection);
    this.#timer ??= setInterval(() => this.#sweep(), 250);
  }

  /** A connection ended (by either side, or by the guard). */
  remove(connection: GuardedConnection): void {
    if (!this.#open.delete(connection)) return;
    this.#waiting.shift()?.();
    if (this.#open.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Stops the timer and lets every waiting accept go (the front is closing). */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const w of this.#waiting.splice(0)) w();
  }

  #sweep(): void {
    const now = performance.now();
    const l = this.limits;
    for (const c of [...this.#open]) {
      const t = c.tracker;
      let kind: TimeoutKind | undefined;
      if (t.phase === "head" && now - t.requestStartMs > l.readHeaderTimeoutMs) kind = "header";
      else if (
        (t.phase === "head" || t.phase === "body") && now - t.requestStartMs > l.readTimeoutMs
      ) kind = "read";
      else if (t.phase === "idle" && now - t.lastActivityMs > l.idleTimeoutMs) kind = "idle";
      if (!kind) continue;
      this.timeouts[kind]++;
      this.onTimeout?.(kind);
      c.close();
      this.remove(c);
    }
  }
}
