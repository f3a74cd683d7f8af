/**
 * A remote-write sink that appends decoded WriteRequests into a store and answers once they are
 * durable, committing the requests that arrive meanwhile together (group commit). Used by
 * `receive --store` and `serve-read --write-path`.
 *
 * @module
 */
import { EventLoopPacer } from "../../sleep.ts";
import type { Exemplar, NativeHistogram } from "../../model/histogram.ts";
import type { LabelPairs } from "../../model/labels.ts";
import type { BatchedWriteRequest, SinkResult } from "./write_handler.ts";

/** What the write path needs from a store. */
export interface WritableSeriesStore {
  /** Adds samples of one series as a range of their own (labels with `__name__`; see `Store.appendRun`). */
  appendRun(
    labels: LabelPairs,
    timestampsMs: ArrayLike<number>,
    values: Float64Array,
  ): Promise<void>;
  /** Buffers native histograms of one series. */
  appendHistograms(labels: LabelPairs, histograms: readonly NativeHistogram[]): void;
  /** Buffers exemplars of one series. */
  appendExemplars(labels: LabelPairs, exemplars: readonly Exemplar[]): void;
  /** Buffers start timestamps of one series' samples (parallel to their timestamps; 0: none). */
  appendStarts(
    labels: LabelPairs,
    timestampsMs: ArrayLike<number>,
    startsMs: ArrayLike<number>,
  ): void;
  /** Records a metric family's type, unit and help (made durable by the next commit). */
  setMetadata(entry: { name: string; type: string; unit: string; help: string }): void;
  /** Makes everything appended durable. */
  commit(): Promise<unknown>;
}

interface PendingWrite {
  request: BatchedWriteRequest;
  resolve: (r: SinkResult) => void;
  reject: (err: unknown) => void;
}

/**
 * A remote-write sink (for `createWriteHandler`) that appends into a store and resolves once the
 * samples are durable. Requests are applied one batch at a time: those that arrive while a commit
 * runs are appended and committed together by the next one.
 */
export class StoreWriteSink {
  #store: WritableSeriesStore;
  #queue: PendingWrite[] = [];
  #running = false;
  /** Samples made durable so far. */
  samples = 0;
  /** Native histogram samples made durable so far. */
  histograms = 0;
  /** Exemplars made durable so far. */
  exemplars = 0;
  /** Requests made durable so far. */
  requests = 0;
  /** Commits done so far. */
  commits = 0;
  readonly #onCommit?: (seconds: number, samples: number) => void;

  /** A sink writing into `store`; `onCommit` is told each commit's duration and samples. */
  constructor(
    store: WritableSeriesStore,
    options: { onCommit?: (seconds: number, samples: number) => void } = {},
  ) {
    this.#store = store;
    this.#onCommit = options.onCommit;
  }

  /**
   * Appends a validated request (its series batch by batch, see `decodeWriteBodyBatched`) and
   * resolves with the counts written (samples, native histograms, exemplars) once all of them
   * are durable.
   */
  readonly sink = (request: BatchedWriteRequest): Promise<SinkResult> =>
    new Promise((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      if (!this.#running) this.#drain();
    });

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length) {
        const batch = this.#queue;
        this.#queue = [];
        try {
          let samples = 0;
          const pacer = new EventLoopPacer();
          for (const { request } of batch) {
            for (const series of request.batches()) {
              for (let i = 0; i < series.length; i++) {
                const s = series[i];
                if (s.histograms?.length) this.#store.appendHistograms(s.labels, s.histograms);
                if (s.exemplars?.length) this.#store.appendExemplars(s.labels, s.exemplars);
                if (s.timestampsMs.length === 0) continue;
                await this.#store.appendRun(s.labels, s.timestampsMs, s.values);
                if (s.startTimestampsMs) {
                  this.#store.appendStarts(s.labels, s.timestampsMs, s.startTimestampsMs);
                }
                samples += s.timestampsMs.length;
                const pause = pacer.tick(); // a request of a million series leaves the server answering
                if (pause) await pause;
              }
            }
            for (const m of request.metadata) {
              if (m.name) {
                this.#store.setMetadata({ name: m.name, type: m.type, unit: m.unit, help: m.help });
              }
            }
          }
          const t0 = performance.now();
          await this.#store.commit();
          this.#onCommit?.((performance.now() - t0) / 1000, samples);
          this.samples += samples;
          for (const { request } of batch) {
            this.histograms += request.histogramCount;
            this.exemplars += request.exemplarCount;
          }
          this.requests += batch.length;
          this.commits++;
          for (const p of batch) {
            p.resolve({
              samples: p.request.sampleCount,
              histograms: p.request.histogramCount,
              exemplars: p.request.exemplarCount,
            });
          }
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.#running = false;
    }
  }
}
