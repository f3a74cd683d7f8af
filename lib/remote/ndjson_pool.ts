/**
 * A pool of workers that turn remote-write bodies into NDJSON bytes, so that `receive` uses
 * every core: the main thread only does HTTP and ordered output.
 *
 * @module
 */
import type { OutputFormat } from "./ndjson_output.ts";
import { HttpRefusal } from "./write_handler.ts";
import type { FormatAnswer, FormatJob } from "./ndjson_worker.ts";

/**
 * Default worker count: cores - 2, from 0 to 4. The main thread does HTTP and output and another
 * core is left to the rest of the machine; on 2 cores (measured with `bench/receive_ingest.ts`:
 * 2.54M samples/s in-process vs 2.20M with one worker) decoding stays on the main thread.
 */
export function defaultWorkerCount(): number {
  return Math.min(4, Math.max(0, (navigator.hardwareConcurrency || 1) - 2));
}

/** Options of {@linkcode NdjsonFormatPool}. */
export interface NdjsonFormatPoolOptions {
  /** Worker count. Default {@linkcode defaultWorkerCount}. */
  workers?: number;
  /** Output schema. Default "ndjson". */
  format?: OutputFormat;
  /** Largest decoded body, bytes. Default 64 MiB. */
  maxDecodedBytes?: number;
}

/** What a worker made of one body. */
export interface Formatted {
  /** NDJSON bytes. */
  bytes: Uint8Array;
  /** Samples in the request. */
  samples: number;
}

interface Slot {
  worker: Worker;
  inFlight: number;
}

/** Dispatches bodies to the least-busy worker; answers come back in any order. */
export class NdjsonFormatPool {
  #slots: Slot[] = [];
  #pending = new Map<
    number,
    { resolve: (f: Formatted) => void; reject: (e: unknown) => void; slot: Slot }
  >();
  #nextId = 1;
  #format: OutputFormat;
  #maxDecodedBytes: number;

  /** Starts the workers. Call {@linkcode close} when done. */
  constructor(options: NdjsonFormatPoolOptions = {}) {
    const n = Math.max(1, options.workers ?? defaultWorkerCount());
    this.#format = options.format ?? "ndjson";
    this.#maxDecodedBytes = options.maxDecodedBytes ?? 64 * 1024 * 1024;
    for (let i = 0; i < n; i++) {
      const worker = new Worker(new URL("./ndjson_worker.ts", import.meta.url), { type: "module" });
      const slot: Slot = { worker, inFlight: 0 };
      worker.onmessage = (e: MessageEvent<FormatAnswer>) => this.#answer(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        for (const [id, p] of this.#pending) {
          if (p.slot === slot) {
            this.#pending.delete(id);
            p.reject(new Error(`format worker failed: ${e.message}`));
          }
        }
      };
      this.#slots.push(slot);
    }
  }

  #answer(a: FormatAnswer): void {
    const p = this.#pending.get(a.id);
    if (!p) return;
    this.#pending.delete(a.id);
    p.slot.inFlight--;
    if (a.ok) p.resolve({ bytes: new Uint8Array(a.bytes, 0, a.length), samples: a.samples });
    else {p.reject(
        a.status === 500 ? new Error(a.message) : new HttpRefusal(a.status, a.message),
      );}
  }

  /** Formats one snappy WriteRequest body; throws {@linkcode HttpRefusal} for 400/413 bodies. */
  format(body: Uint8Array): Promise<Formatted> {
    let slot = this.#slots[0];
    for (const s of this.#slots) if (s.inFlight < slot.inFlight) slot = s;
    const own = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength
      ? body.buffer as ArrayBuffer
      : body.slice().buffer;
    const id = this.#nextId++;
    const job: FormatJob = {
      id,
      body: own,
      maxDecodedBytes: this.#maxDecodedBytes,
      format: this.#format,
    };
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, slot });
      slot.inFlight++;
      slot.worker.postMessage(job, [own]);
    });
  }

  /** Stops the workers (pending jobs are rejected). */
  close(): void {
    for (const s of this.#slots) s.worker.terminate();
    for (const p of this.#pending.values()) p.reject(new Error("format pool closed"));
    this.#pending.clear();
  }
}
