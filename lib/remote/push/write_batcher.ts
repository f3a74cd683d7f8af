/**
 * Batching samples into remote-write requests: grouped by series, labels sorted by name
 * (with `__name__`), samples of a series in time order, metadata attached to the next request.
 * One request is in flight while the next batch fills; memory is bounded by the queue length.
 * With a {@linkcode DiskQueue}, every batch is written to it (synced) before it is sent and
 * deleted once delivered; what is not delivered (an outage, a shutdown) stays there for the next
 * run, and the batches an earlier run left are sent first.
 *
 * @module
 */
import {
  type ExemplarRecord,
  type HistogramRecord,
  type Labels,
  type MetricMetadata,
  type NdjsonRecord,
  sortedLabelPairs,
} from "../../model/sample.ts";
import type { Exemplar, NativeHistogram } from "../../model/histogram.ts";
import type { Sample } from "../../model/sample.ts";
import { countStartTimestamps, encodeWriteRequestV2 } from "../codec/write_request_v2.ts";
import type { WireSeries } from "../codec/write_request.ts";
import { writeExactValue } from "../../model/value.ts";
import { SeriesMap } from "../../model/series_map.ts";
import type { SampleColumns } from "../../ndjson/columns.ts";
import { RemoteError } from "../../errors.ts";
import { snappyEncode } from "../codec/snappy.ts";
import type { DiskQueue, QueuedBatch } from "./disk_queue.ts";
import type { RemoteWriteClient } from "./write_client.ts";
import {
  encodeLabelBlock,
  type SeriesToEncode,
  WriteRequestEncoder,
} from "../codec/write_request.ts";

/** Options of {@linkcode RemoteWriteBatcher}. */
export interface RemoteWriteBatcherOptions {
  /** Samples per request. Default 2000. */
  batchSize?: number;
  /** A partial batch is sent after this long, ms. Default 1000. */
  flushIntervalMs?: number;
  /** Labels added to every series unless the series has that label (like Prometheus' external labels). */
  extraLabels?: Labels;
  /** Encoded requests waiting behind the one in flight before `add` waits. Default 2. */
  maxQueuedRequests?: number;
  /** Called when a request can never be delivered (4xx, or retries used up). */
  onDropped?: (err: unknown, samples: number) => void;
  /** The durable queue (`push --queue-dir`). Default none: batches live in memory only. */
  queue?: DiskQueue;
  /**
   * Called once when a failure cannot heal (a port the runtime blocks, no permission): sending
   * stops, and with a queue the batch stays queued.
   */
  onFatal?: (err: RemoteError) => void;
}

/** Counters for the end-of-run summary. */
export interface PushStats {
  /** Samples accepted into batches. */
  samplesIn: number;
  /** Samples in requests the receiver accepted. */
  samplesSent: number;
  /** Samples in requests that failed for good. */
  samplesDropped: number;
  /** Retries (attempts after the first) over all requests. */
  retries: number;
  /** Requests delivered or dropped. */
  requests: number;
  /** Compressed bytes delivered. */
  bytesSent: number;
  /** Samples of an earlier run's queue delivered by this one. */
  backlogSent: number;
}

interface SeriesBuf {
  /** Labels, sorted, with `__name__` (what a 2.0 request refers to through its symbols). */
  labels: [string, string][];
  labelBlock: Uint8Array;
  /** Start timestamps of the samples, ms (0 = none), once any sample of the batch has one. */
  starts?: number[];
  timestampsMs: number[];
  values: Float64Array;
  valuesView: DataView;
  count: number;
  lastTimestampMs: number;
  inOrder: boolean;
  /** Native histograms of this batch (sorted by timestamp at the cut). */
  histograms: NativeHistogram[];
  /** Exemplars of this batch. */
  exemplars: Exemplar[];
}

/** A parser's series ids (see {@linkcode SampleColumns}) and the buffers they resolved to. */
interface ParserSeries {
  defs: { name: string; labels: Labels }[];
  bufs: SeriesBuf[];
}

interface PendingRequest {
  /** The body while it is held in memory (with a queue, only until it is on disk). */
  body: Uint8Array | undefined;
  samples: number;
  /** With a queue: the batch once it is on disk. */
  persisted?: Promise<QueuedBatch>;
  /** With a queue: the batch, once `persisted` resolved. */
  batch?: QueuedBatch;
  /** From an earlier run's queue. */
  backlog?: boolean;
}

/** Batches cut but not yet on disk before `add` waits (with a queue). */
const MAX_UNPERSISTED = 16;
/** With a queue, bodies kept in memory for sending (beyond, they are read back from disk). */
const MAX_HELD_BODY_BYTES = 16 * 1024 * 1024;

/** Turns records into remote-write requests and sends them through a {@linkcode RemoteWriteClient}. */
export class RemoteWriteBatcher {
  /** Counters, updated as requests complete. */
  readonly stats: PushStats = {
    samplesIn: 0,
    samplesSent: 0,
    samplesDropped: 0,
    retries: 0,
    requests: 0,
    bytesSent: 0,
    backlogSent: 0,
  };
  #client: RemoteWriteClient;
  /**
   * Samples sent with a start timestamp that remote write 1.0 cannot carry (only 2.0 does),
   * for `push` to report.
   */
  startTimestampsLeftOut = 0;
  #batchSize: number;
  #extra: Labels;
  #maxQueued: number;
  #onDropped?: (err: unknown, samples: number) => void;
  #seriesMap = new SeriesMap<SeriesBuf>((name, labels) => this.#makeSeries(name, labels));
  #byKey = new Map<string, SeriesBuf>();
  #parsers = new Map<number, ParserSeries>();
  #active: SeriesBuf[] = [];
  #pendingSamples = 0;
  #metadata: MetricMetadata[] = [];
  #metadataSeen = new Set<string>();
  #encoder = new WriteRequestEncoder();
  #queue: PendingRequest[] = [];
  #sending: Promise<void> | undefined;
  #spaceWaiters: (() => void)[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastCutMs = Date.now();
  #flushIntervalMs: number;
  #diskQueue?: DiskQueue;
  /** Queue appends and deletions in progress (close waits for them). */
  #diskWork: Promise<unknown> = Promise.resolve();
  #unpersisted = 0;
  #heldBodyBytes = 0;
  #onFatal?: (err: RemoteError) => void;
  #stopped = false;
  /** The failure that stopped sending for good, if any. */
  fatal: RemoteError | undefined;

  /** A batcher sending through `client`. Call {@linkcode close} at the end. */
  constructor(client: RemoteWriteClient, options: RemoteWriteBatcherOptions = {}) {
    this.#client = client;
    this.#batchSize = options.batchSize ?? 2000;
    this.#extra = options.extraLabels ?? {};
    this.#maxQueued = options.maxQueuedRequests ?? 2;
    this.#onDropped = options.onDropped;
    this.#flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.#diskQueue = options.queue;
    this.#onFatal = options.onFatal;
    // The batches an earlier run left in the queue go first, oldest first.
    for (const b of this.#diskQueue?.batches ?? []) {
      this.#queue.push({
        body: undefined,
        samples: b.samples,
        persisted: Promise.resolve(b),
        batch: b,
        backlog: true,
      });
    }
    if (this.#queue.length) this.#pump();
    this.#timer = setInterval(() => {
      if (Date.now() - this.#lastCutMs >= this.#flushIntervalMs) this.cut();
    }, Math.max(10, Math.min(this.#flushIntervalMs / 4, 250)));
  }

  #makeSeries(name: string, labels: Labels): SeriesBuf {
    // An empty value means no label (Prometheus semantics): drop it, so an extra label can apply.
    const merged: Labels = { ...this.#extra };
    for (const k in labels) if (labels[k] !== "") merged[k] = labels[k];
    const pairs = sortedLabelPairs(name, merged);
    let key = "";
    for (const [k, v] of pairs) key += k + "\xfe" + v + "\xff";
    let buf = this.#byKey.get(key);
    if (!buf) {
      const values = new Float64Array(64);
      buf = {
        labels: pairs,
        labelBlock: encodeLabelBlock(pairs),
        timestampsMs: [],
        values,
        valuesView: new DataView(values.buffer),
        count: 0,
        lastTimestampMs: -Infinity,
        inOrder: true,
        histograms: [],
        exemplars: [],
      };
      this.#byKey.set(key, buf);
    }
    return buf;
  }

  /** Adds records. Resolves at once unless the send queue is full (then when there is room). */
  add(records: NdjsonRecord[]): Promise<void> | undefined {
    for (const r of records) {
      if (r.kind === "metadata") {
        this.#addMetadata(r);
        continue;
      }
      if (r.kind !== "sample" || r.startTimestampMs) {
        this.#addOther(r);
        continue;
      }
      const buf = this.#room(this.#seriesMap.get(r.name, r.labels));
      buf.timestampsMs[buf.count] = r.timestampMs;
      writeExactValue(buf.valuesView, buf.count * 8, r.value, r.nanBits, true);
      this.#added(buf, r.timestampMs);
    }
    return this.#space();
  }

  /**
   * Adds a batch of parsed columns (see `lib/ndjson/columns.ts`), in order: the same requests as
   * {@linkcode add} with the same samples as records. Values are copied bit for bit.
   */
  addColumns(cols: SampleColumns): Promise<void> | undefined {
    let parser = this.#parsers.get(cols.parser);
    if (parser === undefined || cols.reset) {
      this.#parsers.set(cols.parser, parser = { defs: [], bufs: [] });
    }
    for (const def of cols.newSeries) parser.defs.push(def);
    const { defs, bufs } = parser;
    const ids = cols.seriesIds;
    const ts = cols.timestampsMs;
    const bits = new DataView(cols.values.buffer, cols.values.byteOffset, cols.values.byteLength);
    let m = 0;
    let o = 0;
    for (let i = 0; i < cols.count; i++) {
      while (m < cols.metadata.length && cols.metadata[m].at <= i) {
        this.#addMetadata(cols.metadata[m++].record);
      }
      while (o < cols.others.length && cols.others[o].at <= i) {
        this.#addOther(cols.others[o++].record);
      }
      const id = ids[i];
      let buf = bufs[id];
      if (buf === undefined) buf = bufs[id] = this.#seriesMap.get(defs[id].name, defs[id].labels);
      buf = this.#room(buf);
      const at = buf.count * 8;
      buf.timestampsMs[buf.count] = ts[i];
      buf.valuesView.setUint32(at, bits.getUint32(i * 8, true), true); // bits, not the number:
      buf.valuesView.setUint32(at + 4, bits.getUint32(i * 8 + 4, true), true); // NaN payloads stay
      this.#added(buf, ts[i]);
    }
    while (m < cols.metadata.length) this.#addMetadata(cols.metadata[m++].record);
    while (o < cols.others.length) this.#addOther(cols.others[o++].record);
    return this.#space();
  }

  /**
   * Adds a native histogram, an exemplar (each counts as a sample) or a sample with a start
   * timestamp to its series' batch.
   */
  #addOther(r: HistogramRecord | ExemplarRecord | Sample): void {
    if (r.kind === "sample") {
      const b = this.#room(this.#seriesMap.get(r.name, r.labels));
      b.timestampsMs[b.count] = r.timestampMs;
      writeExactValue(b.valuesView, b.count * 8, r.value, r.nanBits, true);
      if (r.startTimestampMs) {
        b.starts ??= [];
        while (b.starts.length < b.count) b.starts.push(0);
        b.starts[b.count] = r.startTimestampMs;
      }
      this.#added(b, r.timestampMs);
      return;
    }
    const buf = this.#seriesMap.get(r.name, r.labels);
    if (buf.count === 0 && buf.histograms.length === 0 && buf.exemplars.length === 0) {
      this.#active.push(buf);
    }
    if (r.kind === "histogram") buf.histograms.push(r.histogram);
    else buf.exemplars.push(r.exemplar);
    this.stats.samplesIn++;
    if (++this.#pendingSamples >= this.#batchSize) this.cut();
  }

  #addMetadata(r: MetricMetadata): void {
    const k = `${r.name}\xff${r.type}\xff${r.unit}\xff${r.help}`;
    if (!this.#metadataSeen.has(k)) {
      this.#metadataSeen.add(k);
      this.#metadata.push(r);
    }
  }

  /** `buf`, made active in this batch and with room for one more sample. */
  #room(buf: SeriesBuf): SeriesBuf {
    if (buf.count === 0 && buf.histograms.length === 0 && buf.exemplars.length === 0) {
      this.#active.push(buf);
    }
    if (buf.count === buf.values.length) {
      const grown = new Float64Array(buf.values.length * 2);
      grown.set(buf.values);
      buf.values = grown;
      buf.valuesView = new DataView(grown.buffer);
    }
    return buf;
  }

  /** Counts the sample just written at `buf.count`; cuts the batch when it is full. */
  #added(buf: SeriesBuf, timestampMs: number): void {
    if (timestampMs < buf.lastTimestampMs) buf.inOrder = false;
    buf.lastTimestampMs = timestampMs;
    buf.count++;
    this.stats.samplesIn++;
    if (++this.#pendingSamples >= this.#batchSize) this.cut();
  }

  /** Undefined when the send queue has room, else a promise resolved when it has. */
  #space(): Promise<void> | undefined {
    const full = this.#diskQueue
      ? this.#unpersisted >= MAX_UNPERSISTED
      : this.#queue.length >= this.#maxQueued;
    if (full) {
      return new Promise((resolve) => this.#spaceWaiters.push(resolve));
    }
    return undefined;
  }

  /** Closes the current batch (if it has anything) and queues it for sending. */
  cut(): void {
    this.#lastCutMs = Date.now();
    if (this.#pendingSamples === 0 && this.#metadata.length === 0) return;
    for (const buf of this.#active) {
      if (!buf.inOrder) sortSeriesBuf(buf);
      if (buf.histograms.length > 1) buf.histograms.sort((a, b) => a.timestampMs - b.timestampMs);
    }
    let encoded: Uint8Array;
    if (this.#client.v2) {
      encoded = encodeWriteRequestV2(this.#active.map(wireSeriesOf), this.#metadata);
    } else {
      const series: SeriesToEncode[] = this.#active.map((buf) => ({
        labelBlock: buf.labelBlock,
        timestampsMs: buf.timestampsMs,
        values: buf.values,
        count: buf.count,
        histograms: buf.histograms.length ? buf.histograms : undefined,
        exemplars: buf.exemplars.length ? buf.exemplars : undefined,
      }));
      encoded = this.#encoder.encode(series, this.#metadata);
      for (const buf of this.#active) {
        this.startTimestampsLeftOut += countStartTimestamps(buf.starts, buf.histograms);
      }
    }
    const body = snappyEncode(encoded);
    const samples = this.#pendingSamples;
    for (const buf of this.#active) {
      buf.count = 0;
      buf.timestampsMs.length = 0;
      buf.lastTimestampMs = -Infinity;
      buf.inOrder = true;
      buf.histograms = [];
      buf.exemplars = [];
      buf.starts = undefined;
    }
    this.#active = [];
    this.#pendingSamples = 0;
    this.#metadata = [];
    if (this.#byKey.size > 100_000) { // bound the label caches on high-cardinality input
      this.#seriesMap.clear();
      this.#byKey.clear();
      for (const p of this.#parsers.values()) p.bufs.length = 0; // in place: addColumns holds it
    }
    const req: PendingRequest = { body, samples };
    const queue = this.#diskQueue;
    if (queue) {
      // Each batch is on disk before it is sent. Appends run side by side (their order is in
      // their sequence numbers).
      this.#unpersisted++;
      const persisted = queue.append(body, samples);
      req.persisted = persisted;
      this.#heldBodyBytes += body.length;
      const done = persisted.then((batch) => {
        req.batch = batch;
        this.#unpersisted--;
        // On disk now: beyond a few MiB of queued bodies, sending reads them back from there.
        if (this.#heldBodyBytes > MAX_HELD_BODY_BYTES && this.#queue[0] !== req && req.body) {
          this.#heldBodyBytes -= req.body.length;
          req.body = undefined;
        }
        this.#wake();
      }, () => {
        this.#unpersisted--;
        this.#wake();
      });
      this.#diskWork = Promise.all([this.#diskWork, done]);
    }
    this.#queue.push(req);
    if (queue) this.#forgetDropped(queue);
    this.#pump();
  }

  /**
   * During an outage the queue's bound drops old batches: forget their entries here too, so that
   * memory stays bounded by the queue (checked when the entries outnumber the queued batches).
   */
  #forgetDropped(queue: DiskQueue): void {
    if (this.#queue.length <= 2 * queue.batches.length + 32) return;
    const head = this.#queue[0];
    this.#queue = this.#queue.filter((r) => r === head || !r.batch || queue.has(r.batch));
  }

  #wake(): void {
    const waiter = this.#spaceWaiters.shift();
    waiter?.();
  }

  #pump(): void {
    if (this.#sending || this.#stopped) return;
    this.#sending = (async () => {
      while (this.#queue.length && !this.#stopped) {
        const req = this.#queue[0];
        if (this.#diskQueue) await this.#sendQueued(req);
        else await this.#sendInMemory(req);
        this.#queue.shift();
        this.#wake();
      }
      this.#sending = undefined;
    })();
  }

  async #sendInMemory(req: PendingRequest): Promise<void> {
    try {
      const out = await this.#client.send(req.body!);
      this.stats.retries += out.attempts - 1;
      this.stats.samplesSent += req.samples;
      this.stats.bytesSent += req.body!.length;
    } catch (err) {
      if (err instanceof RemoteError) this.stats.retries += err.attempts - 1;
      if (this.#isFatal(err)) return;
      this.stats.samplesDropped += req.samples;
      this.#onDropped?.(err, req.samples);
    }
    this.stats.requests++;
  }

  /** Sends one queued batch; deletes it once delivered or refused for good, else leaves it. */
  async #sendQueued(req: PendingRequest): Promise<void> {
    const queue = this.#diskQueue!;
    let batch: QueuedBatch;
    try {
      batch = await req.persisted!;
    } catch (err) {
      // It never reached the disk (a full or failing disk): counted as dropped, said why.
      if (req.body) this.#heldBodyBytes -= req.body.length;
      req.body = undefined;
      this.stats.samplesDropped += req.samples;
      this.#onDropped?.(
        new Error(`cannot write the queue: ${(err as Error).message}`),
        req.samples,
      );
      return;
    }
    if (!queue.has(batch)) return; // dropped by the queue bound (counted there)
    if (req.body) this.#heldBodyBytes -= req.body.length;
    const body = req.body ?? await queue.read(batch);
    req.body = undefined;
    if (!body) return; // damaged file: set aside and reported by the queue
    try {
      const out = await this.#client.send(body);
      this.stats.retries += out.attempts - 1;
      this.stats.samplesSent += req.samples;
      if (req.backlog) this.stats.backlogSent += req.samples;
      this.stats.bytesSent += body.length;
    } catch (err) {
      if (err instanceof RemoteError) this.stats.retries += err.attempts - 1;
      // Only a refusal for good (4xx but 429) drops a queued batch; anything else that ends
      // the retries (a shutdown, a permanent failure) leaves it queued for the next run.
      const refused = err instanceof RemoteError && err.status >= 400 && !err.retryable;
      if (this.#isFatal(err) || !refused) {
        queue.release(batch);
        this.#stopped = true;
        return;
      }
      this.stats.samplesDropped += req.samples;
      this.#onDropped?.(err, req.samples);
    }
    this.stats.requests++;
    // Deleting the delivered file does not hold up the next send (close waits for it).
    const removed = queue.remove(batch).catch((err) =>
      console.error(`wattwave push: cannot delete delivered queue file: ${(err as Error).message}`)
    );
    this.#diskWork = Promise.all([this.#diskWork, removed]);
  }

  /** Whether `err` can never heal; then sending stops and `onFatal` is told (once). */
  #isFatal(err: unknown): boolean {
    if (!(err instanceof RemoteError) || !err.permanent) return false;
    this.#stopped = true;
    if (!this.fatal) {
      this.fatal = err;
      this.#onFatal?.(err);
    }
    return true;
  }

  /** Sends what is buffered and waits until every request is delivered or dropped. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.cut();
    while (this.#sending) await this.#sending;
    await this.#diskWork; // with a queue: whatever was cut is on disk
    for (const w of this.#spaceWaiters.splice(0)) w();
  }
}

function sortSeriesBuf(buf: SeriesBuf): void {
  const n = buf.count;
  const order = Array.from({ length: n }, (_, i) => i);
  const ts = buf.timestampsMs;
  order.sort((a, b) => ts[a] - ts[b] || a - b);
  const sortedTs = order.map((i) => ts[i]);
  const starts = buf.starts;
  if (starts) { // start timestamps travel with their samples
    while (starts.length < n) starts.push(0);
    const sortedStarts = order.map((i) => starts[i]);
    for (let j = 0; j < n; j++) starts[j] = sortedStarts[j];
  }
  const src = new Uint8Array(buf.values.buffer, 0, n * 8).slice();
  const dst = new Uint8Array(buf.values.buffer);
  for (let j = 0; j < n; j++) dst.set(src.subarray(order[j] * 8, order[j] * 8 + 8), j * 8);
  for (let j = 0; j < n; j++) ts[j] = sortedTs[j];
}

/** A batch's series as the 2.0 encoder takes it. */
function wireSeriesOf(buf: SeriesBuf): WireSeries {
  const s: WireSeries = {
    labels: buf.labels,
    timestampsMs: buf.timestampsMs.slice(0, buf.count),
    values: buf.values.subarray(0, buf.count),
  };
  if (buf.starts) {
    while (buf.starts.length < buf.count) buf.starts.push(0);
    s.startTimestampsMs = buf.starts;
  }
  if (buf.histograms.length) s.histograms = buf.histograms;
  if (buf.exemplars.length) s.exemplars = buf.exemplars;
  return s;
}
