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
import { snappyDecode, snappyEncode, snappyFirstByte } from "../codec/snappy.ts";
import { encodeWriteRequest } from "../codec/write_request.ts";
import { countStartTimestamps, decodeWriteRequestV2 } from "../codec/write_request_v2.ts";

/** Headers of a remote write 2.0 request (in place of 1.0's). */
const V2_HEADERS: Readonly<Record<string, string>> = {
  "Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request",
  "X-Prometheus-Remote-Write-Version": "2.0.0",
};

/** Whether a snappy body holds a 2.0 Request (its first field is `symbols`, key 0x22). */
export function isV2Body(body: Uint8Array): boolean {
  return snappyFirstByte(body) === 0x22;
}

/**
 * A 2.0 body re-encoded as a 1.0 WriteRequest (the same series, metadata, histograms,
 * exemplars), and how many samples and histograms had a start timestamp 1.0 cannot carry.
 */
export function v2BodyAsV1(body: Uint8Array): { body: Uint8Array; startsLeftOut: number } {
  const d = decodeWriteRequestV2(snappyDecode(body, Infinity));
  let startsLeftOut = 0;
  for (const s of d.series) {
    startsLeftOut += countStartTimestamps(s.startTimestampsMs, s.histograms);
  }
  return { body: snappyEncode(encodeWriteRequest(d.series, d.metadata)), startsLeftOut };
}

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
  /**
   * Send remote write 2.0 (`io.prometheus.write.v2.Request`) rather than 1.0. A receiver that
   * answers 415, or 2xx without the `X-Prometheus-Remote-Write-*-Written` headers (a 1.0
   * receiver reads a 2.0 body as an empty request), gets the body again as 1.0, and 1.0 from
   * then on. Default false.
   */
  v2?: boolean;
  /** Told once when the client falls back from 2.0 to 1.0, with why. */
  onFallback?: (why: string) => void;
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
  #o: Required<
    Omit<RemoteWriteClientOptions, "headers" | "onRetry" | "signal" | "tls" | "v2" | "onFallback">
  >;
  #v2Headers: Headers;
  #v2: boolean;
  #onFallback?: (why: string) => void;
  #transport: Transport;
  #onRetry?: RemoteWriteClientOptions["onRetry"];
  #signal?: AbortSignal;

  /** A client for `url` (an http(s) URL). */
  constructor(url: string, options: RemoteWriteClientOptions = {}) {
    this.url = url;
    this.#headers = new Headers(options.headers);
    for (const [k, v] of Object.entries(PROTOCOL_HEADERS)) this.#headers.set(k, v);
    this.#v2Headers = new Headers(this.#headers);
    for (const [k, v] of Object.entries(V2_HEADERS)) this.#v2Headers.set(k, v);
    this.#v2 = options.v2 ?? false;
    this.#onFallback = options.onFallback;
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

  /** Start timestamps left out when 2.0 bodies were sent again as 1.0 (which has no field for them). */
  startTimestampsLeftOut = 0;

  /** Whether new batches should be encoded as remote write 2.0 (false after a fallback). */
  get v2(): boolean {
    return this.#v2;
  }

  #fallBack(why: string): void {
    if (!this.#v2) return;
    this.#v2 = false;
    this.#onFallback?.(why);
  }

  /**
   * One attempt. Resolves on 2xx; throws {@linkcode RemoteError} otherwise. A 2.0 body refused
   * as such (415, or 2xx without the written-counts headers) is sent again at once as 1.0.
   */
  async attempt(body: Uint8Array): Promise<void> {
    if (!isV2Body(body)) return this.#attempt(body, this.#headers);
    let res: Response | undefined;
    if (this.#v2) { // after a fallback, 2.0 bodies batched before it go as 1.0 straight away
      try {
        res = await this.#attempt(body, this.#v2Headers, true);
      } catch (err) {
        if (!(err instanceof RemoteError) || err.status !== 415) throw err;
        this.#fallBack(`${this.url} answered 415 to remote write 2.0 (${err.message})`);
      }
      if (res && res.headers.has("X-Prometheus-Remote-Write-Samples-Written")) return;
    }
    if (res) {
      this.#fallBack(
        `${this.url} answered ${res.status} to remote write 2.0 without X-Prometheus-Remote-Write-*-Written headers, so it did not read it as 2.0`,
      );
    }
    const v1 = v2BodyAsV1(body);
    await this.#attempt(v1.body, this.#headers);
    this.startTimestampsLeftOut += v1.startsLeftOut;
  }

  async #attempt(body: Uint8Array, headers: Headers): Promise<void>;
  async #attempt(body: Uint8Array, headers: Headers, keep: true): Promise<Response>;
  async #attempt(body: Uint8Array, headers: Headers, keep = false): Promise<Response | void> {
    const timeout = AbortSignal.timeout(this.#o.timeoutMs);
    const signal = this.#signal ? AbortSignal.any([timeout, this.#signal]) : timeout;
    let res: Response;
    try {
      res = await this.#transport(this.url, {
        method: "POST",
        headers,
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
      return keep ? res : undefined;
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
