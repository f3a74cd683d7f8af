/**
 * The sink of `receive` without `--store`: each request's NDJSON goes to an ordered, bounded
 * output (stdout), formatted on the main thread or by a format pool, and the 204 waits until it
 * is written. Beyond `maxPendingBytes` not yet taken by the output, requests are answered busy
 * (503 + Retry-After).
 *
 * @module
 */
import { concatBytes } from "../../bytes.ts";
import { EventLoopPacer } from "../../sleep.ts";
import { snappyDecodedLength } from "../codec/snappy.ts";
import { type DecodedWriteRequest, emptyDecodedRequest } from "../codec/write_request.ts";
import type { WriteLimits } from "./write_limits.ts";
import type { NdjsonFormatPool } from "./format_pool.ts";
import type { Formatted } from "./format_job.ts";
import {
  formatWriteRequestBytes,
  type OrderedByteOutput,
  type OutputFormat,
} from "./ndjson_output.ts";
import {
  decodeWriteBodyPaced,
  type SinkResult,
  type WriteHandlerOptions,
  type WriteVersion,
} from "./write_handler.ts";

/** Series formatted between two looks at the clock on the main thread. */
const FORMAT_SLICE_SERIES = 4096;

/** Options of {@linkcode OutputSink}. */
export interface OutputSinkOptions {
  /** Output schema. */
  format: OutputFormat;
  /** Output bytes not yet written beyond which requests are answered busy. */
  maxPendingBytes: number;
  /** Formats bodies on workers. Default: on the main thread. */
  pool?: NdjsonFormatPool;
  /**
   * Without `pool`: a pool (made when first needed) for bodies that decode to
   * `largeBodyBytes` or more, so that a huge request (a million series) is decoded away from
   * the main thread, whose garbage collection would otherwise stall every other request.
   */
  largePool?: () => NdjsonFormatPool;
  /** Decoded size from which a body goes to `largePool`. Default 8 MiB. */
  largeBodyBytes?: number;
  /** Write limits, for bodies decoded on the main thread next to `largePool`. */
  limits?: WriteLimits;
  /** Called once the output fails (nothing more can be delivered). */
  onOutputFailed?: (err: unknown) => void;
  /**
   * Called with the native histograms and exemplars of each request that the format has no
   * column for (`--format arroyo`): they are counted, not written.
   */
  onUnwritten?: (count: number) => void;
}

/** Delivers requests as NDJSON to an {@linkcode OrderedByteOutput} (see the module doc). */
export class OutputSink {
  /** Samples written so far. */
  samples = 0;
  /** Requests written so far. */
  requests = 0;
  /** Native histogram samples written so far. */
  histograms = 0;
  /** Exemplars written so far. */
  exemplars = 0;
  #out: OrderedByteOutput;
  #options: OutputSinkOptions;

  /** A sink writing to `out`. */
  constructor(out: OrderedByteOutput, options: OutputSinkOptions) {
    this.#out = out;
    this.#options = options;
  }

  /** Hands one request's NDJSON to the output; resolves once written (the 204 waits for it). */
  async #deliver(bytes: Uint8Array, counts: Formatted): Promise<SinkResult> {
    const written = this.#out.write(bytes);
    if (written === "busy") return "busy";
    try {
      await written;
    } catch (err) {
      this.#options.onOutputFailed?.(err);
      throw err;
    }
    this.samples += counts.samples;
    this.histograms += counts.histograms;
    this.exemplars += counts.exemplars;
    this.requests++;
    if (counts.unwritten > 0) this.#options.onUnwritten?.(counts.unwritten);
    return { samples: counts.samples, histograms: counts.histograms, exemplars: counts.exemplars };
  }

  /** Formats `body` on `pool` and delivers it (busy while the output is too far behind). */
  async #viaPool(
    pool: NdjsonFormatPool,
    body: Uint8Array,
    version: WriteVersion,
  ): Promise<SinkResult> {
    if (this.#out.pendingBytes > this.#options.maxPendingBytes) return "busy";
    const f = await pool.format(body, version);
    return this.#deliver(f.bytes, f);
  }

  /** The sink to spread into `createWriteHandler`'s options. */
  handlerSink(): Pick<WriteHandlerOptions, "sink" | "bodySink"> {
    const pool = this.#options.pool;
    if (pool) return { bodySink: (body, version) => this.#viaPool(pool, body, version) };
    const sink = async (decoded: DecodedWriteRequest) => {
      const arroyo = this.#options.format === "arroyo";
      const bytes = await this.#formatPaced(decoded);
      return this.#deliver(bytes, {
        bytes,
        samples: decoded.sampleCount,
        histograms: arroyo ? 0 : decoded.histogramCount,
        exemplars: arroyo ? 0 : decoded.exemplarCount,
        unwritten: arroyo ? decoded.histogramCount + decoded.exemplarCount : 0,
      });
    };
    const largePool = this.#options.largePool;
    const limits = this.#options.limits;
    if (!largePool || !limits) return { sink };
    const largeBytes = this.#options.largeBodyBytes ?? 8 * 1024 * 1024;
    let large: NdjsonFormatPool | undefined;
    return {
      bodySink: async (body, version) => {
        let decodedBytes = 0;
        try {
          decodedBytes = snappyDecodedLength(body);
        } catch { /* malformed: decoding refuses it with the reason */ }
        if (decodedBytes < largeBytes) {
          return await sink(await decodeWriteBodyPaced(body, limits, version));
        }
        large ??= largePool();
        return await this.#viaPool(large, body, version);
      },
    };
  }

  /**
   * Formats on the main thread a slice of series at a time, pausing for the event loop between
   * slices when one took long, so that a request of a million series leaves `/-/healthy`
   * answering.
   */
  async #formatPaced(decoded: DecodedWriteRequest): Promise<Uint8Array> {
    const format = this.#options.format;
    if (decoded.series.length <= FORMAT_SLICE_SERIES) {
      return formatWriteRequestBytes(decoded, format);
    }
    const pacer = new EventLoopPacer({ checkEvery: 1 });
    const parts: Uint8Array[] = [];
    for (let i = 0; i < decoded.series.length; i += FORMAT_SLICE_SERIES) {
      const series = decoded.series.slice(i, i + FORMAT_SLICE_SERIES);
      parts.push(formatWriteRequestBytes({ ...emptyDecodedRequest(), series }, format));
      const pause = pacer.tick();
      if (pause) await pause;
    }
    parts.push(
      formatWriteRequestBytes({ ...emptyDecodedRequest(), metadata: decoded.metadata }, format),
    );
    return concatBytes(parts);
  }
}
