/**
 * Formatting decoded WriteRequests as NDJSON text, in request order, and an ordered,
 * bounded output queue that tells the receiver when to hold off new requests.
 *
 * @module
 */
import { formatJsonValue, formatMetadata } from "../ndjson/contract.ts";
import type { DecodedWriteRequest } from "./write_request.ts";

/** Output record schemas: wattwave's NDJSON contract, or the Arroyo remote-write connector's. */
export type OutputFormat = "ndjson" | "arroyo";

const view = new DataView(new ArrayBuffer(8));

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

function valueAt(values: Float64Array, i: number): string {
  const v = values[i];
  if (v === v) return formatJsonValue(v);
  const bytes = new Uint8Array(values.buffer, values.byteOffset + i * 8, 8);
  for (let b = 0; b < 8; b++) view.setUint8(b, bytes[b]);
  return formatJsonValue(v, hex8(view.getUint32(4, true)) + hex8(view.getUint32(0, true)));
}

/** The NDJSON text (lines ending in `\n`) for one decoded request. */
export function formatWriteRequest(
  req: DecodedWriteRequest,
  format: OutputFormat = "ndjson",
): string {
  let out = "";
  for (const s of req.series) {
    let name = "";
    let labels = "{";
    for (const [k, v] of s.labels) {
      if (k === "__name__") {
        name = v;
        continue;
      }
      labels += (labels.length > 1 ? "," : "") + JSON.stringify(k) + ":" + JSON.stringify(v);
    }
    labels += "}";
    const n = s.timestampsMs.length;
    if (format === "ndjson") {
      const prefix = `{"name":${JSON.stringify(name)},"labels":${labels},"timestamp":`;
      for (let i = 0; i < n; i++) {
        out += prefix + s.timestampsMs[i] + ',"value":' + valueAt(s.values, i) + "}\n";
      }
    } else {
      const prefix = `{"metric_name":${JSON.stringify(name)},"timestamp":`;
      const suffix = `,"labels":${JSON.stringify(labels)}}\n`;
      for (let i = 0; i < n; i++) {
        out += prefix + JSON.stringify(new Date(s.timestampsMs[i]).toISOString()) + ',"value":' +
          valueAt(s.values, i) + suffix;
      }
    }
  }
  for (const m of req.metadata) out += formatMetadata(m) + "\n";
  return out;
}

/** Options of {@linkcode OrderedTextOutput}. */
export interface OrderedTextOutputOptions {
  /** Characters queued but not yet written beyond which `write` answers "busy". Default 64 Mi. */
  maxPendingChars?: number;
}

/**
 * Writes text chunks to a byte sink strictly in the order they were queued. `write` resolves
 * when the chunk has been handed to the sink, or returns "busy" at once when the queue is full.
 */
export class OrderedTextOutput {
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #encoder = new TextEncoder();
  #tail: Promise<void> = Promise.resolve();
  #pendingChars = 0;
  #maxPendingChars: number;
  #failed: unknown;

  /** Output to `sink` (for example `Deno.stdout.writable`). */
  constructor(sink: WritableStream<Uint8Array>, options: OrderedTextOutputOptions = {}) {
    this.#writer = sink.getWriter();
    this.#maxPendingChars = options.maxPendingChars ?? 64 * 1024 * 1024;
  }

  /** Characters queued and not yet written. */
  get pendingChars(): number {
    return this.#pendingChars;
  }

  /** The error that broke the sink, if any (then every later write fails). */
  get failure(): unknown {
    return this.#failed;
  }

  /** Queues `text`; "busy" when the queue is full (nothing is queued then). */
  write(text: string): Promise<"ok"> | "busy" {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#pendingChars > 0 && this.#pendingChars + text.length > this.#maxPendingChars) {
      return "busy";
    }
    this.#pendingChars += text.length;
    const done = this.#tail.then(async () => {
      try {
        if (text.length) await this.#writer.write(this.#encoder.encode(text));
      } catch (err) {
        this.#failed ??= err;
        throw err;
      } finally {
        this.#pendingChars -= text.length;
      }
      return "ok" as const;
    });
    this.#tail = done.then(() => {}, () => {});
    return done;
  }

  /** Waits until everything queued is written. */
  async drain(): Promise<void> {
    await this.#tail;
  }

  /** Drains and closes the sink. */
  async close(): Promise<void> {
    await this.#tail;
    await this.#writer.close().catch(() => {});
  }
}
