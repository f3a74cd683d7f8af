/**
 * Sending one encoded remote-write body over HTTP, with bounded retries as Prometheus'
 * `storage/remote` queue manager does: network errors and 5xx are retried with exponential
 * backoff and jitter, 429 honours `Retry-After`, other 4xx can never succeed.
 *
 * @module
 */
import { RemoteError } from "../../errors.ts";
import { VERSION } from "../../version.ts";
import { sleep } from "../../sleep.ts";
import { describeFetchError } from "./fetch_error.ts";
import { type PushTlsOptions, tlsTransport, type Transport } from "./tls_transport.ts";

/** Headers remote write 1.0 requires; users cannot override them. */
export const PROTOCOL_HEADERS: Readonly<Record<string, string>> = {
  "Content-Encoding": "snappy",
  "Content-Type": "application/x-protobuf",
  "X-Prometheus-Remote-Write-Version": "0.1.0",
  "User-Agent": `wattwave/${VERSION}`,
};

/** Options of {@linkcode RemoteWriteClient}. */
export interface RemoteWriteClientOptions {
  /** Extra request headers (auth and user headers). Default none. */
  headers?: Record<string, string>;
  /** Timeout of one HTTP attempt, ms. Default 30000. */
  timeoutMs?: number;
  /** Retries after the first attempt for retryable failures (Infinity: until it works). Default 10. */
  maxRetries?: number;
  /** First backoff, ms. Default 100. */
  minBackoffMs?: number;
  /** Largest backoff, ms (also caps `Retry-After`… unless it is longer, see `maxRetryAfterMs`). Default 5000. */
  maxBackoffMs?: number;
  /** Longest `Retry-After` honoured, ms. Default 300000. */
  maxRetryAfterMs?: number;
  /** Called before each retry with the error and the wait, for logs. */
  onRetry?: (err: RemoteError, waitMs: number, attempt: number) => void;
  /** Aborts waits and attempts (used on shutdown after a grace period). */
  signal?: AbortSignal;
  /** TLS settings for an https URL (private CA, client certificate, ...). Default the system's. */
  tls?: PushTlsOptions;
}

/** Outcome of {@linkcode RemoteWriteClient.send}. */
export interface SendOutcome {
  /** HTTP attempts made (1 when the first succeeded). */
  attempts: number;
}

/** Parses `Retry-After` (seconds or an HTTP date) into ms from now; undefined if absent or bad. */
export function parseRetryAfterMs(header: string | null, nowMs = Date.now()): number | undefined {
  if (!header) return undefined;
  const s = header.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.max(0, t - nowMs);
}

/** Posts snappy-compressed WriteRequests to one URL. */
export class RemoteWriteClient {
  readonly url: string;
  #headers: Headers;
  #o: Required<Omit<RemoteWriteClientOptions, "headers" | "onRetry" | "signal" | "tls">>;
  #transport: Transport;
  #onRetry?: RemoteWriteClientOptions["onRetry"];
  #signal?: AbortSignal;

  /** A client for `url` (an http(s) URL). */
  constructor(url: string, options: RemoteWriteClientOptions = {}) {
    this.url = url;
    this.#headers = new Headers(options.headers);
    for (const [k, v] of Object.entries(PROTOCOL_HEADERS)) this.#headers.set(k, v);
    this.#o = {
      timeoutMs: options.timeoutMs ?? 30_000,
      maxRetries: options.maxRetries ?? 10,
      minBackoffMs: options.minBackoffMs ?? 100,
      maxBackoffMs: options.maxBackoffMs ?? 5_000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 300_000,
    };
    this.#onRetry = options.onRetry;
    this.#signal = options.signal;
    this.#transport = tlsTransport(options.tls);
  }

  /** One attempt. Resolves on 2xx; throws {@linkcode RemoteError} otherwise. */
  async attempt(body: Uint8Array): Promise<void> {
    const timeout = AbortSignal.timeout(this.#o.timeoutMs);
    const signal = this.#signal ? AbortSignal.any([timeout, this.#signal]) : timeout;
    let res: Response;
    try {
      res = await this.#transport(this.url, {
        method: "POST",
        headers: this.#headers,
        body: body as BodyInit,
        signal,
      });
    } catch (err) {
      if (timeout.aborted) {
        throw new RemoteError(
          `POST ${this.url} failed: no answer within ${this.#o.timeoutMs} ms`,
          { status: 0, retryable: true, cause: err },
        );
      }
      if (this.#signal?.aborted) {
        throw new RemoteError(`POST ${this.url} stopped: shutting down`, {
          status: 0,
          retryable: false,
          cause: err,
        });
      }
      const failure = describeFetchError(err, this.url);
      throw new RemoteError(`POST ${this.url} failed: ${failure.message}`, {
        status: 0,
        retryable: !failure.permanent,
        permanent: failure.permanent,
        cause: err,
      });
    }
    if (res.ok) {
      await res.body?.cancel();
      return;
    }
    let text = "";
    try {
      text = (await res.text()).trim().split("\n")[0].slice(0, 300);
    } catch { /* body unreadable: keep the status alone */ }
    const retryable = res.status >= 500 || res.status === 429;
    throw new RemoteError(
      `POST ${this.url}: HTTP ${res.status}${text ? `: ${text}` : ""}`,
      {
        status: res.status,
        retryable,
        retryAfterMs: res.status === 429 || res.status === 503
          ? parseRetryAfterMs(res.headers.get("Retry-After"))
          : undefined,
      },
    );
  }

  /**
   * Sends `body`, retrying retryable failures. Throws the last {@linkcode RemoteError} when the
   * body can never succeed (4xx) or the retries are used up.
   */
  async send(body: Uint8Array): Promise<SendOutcome> {
    let backoff = this.#o.minBackoffMs;
    for (let attempt = 1;; attempt++) {
      try {
        await this.attempt(body);
        return { attempts: attempt };
      } catch (err) {
        if (!(err instanceof RemoteError)) throw err;
        err.attempts = attempt;
        if (!err.retryable || attempt > this.#o.maxRetries || this.#signal?.aborted) throw err;
        let waitMs: number;
        if (err.retryAfterMs !== undefined) {
          waitMs = Math.min(err.retryAfterMs, this.#o.maxRetryAfterMs);
        } else {
          // full jitter in [backoff/2, backoff]
          waitMs = backoff / 2 + Math.random() * backoff / 2;
          backoff = Math.min(backoff * 2, this.#o.maxBackoffMs);
        }
        this.#onRetry?.(err, waitMs, attempt);
        await sleep(waitMs, this.#signal);
        if (this.#signal?.aborted) throw err; // shutting down: no more attempts
      }
    }
  }
}
