/**
 * Batching samples into remote-write requests: grouped by series, labels sorted by name
 * (with `__name__`), samples of a series in time order, metadata attached to the next request.
 * One request is in flight while the next batch fills; memory is bounded by the queue length.
 *
 * @module
 */
import {
  type Labels,
  type MetricMetadata,
  type NdjsonRecord,
  sortedLabelPairs,
} from "../../model/sample.ts";
import { writeExactValue } from "../../model/value.ts";
import { SeriesMap } from "../../model/series_map.ts";
import type { SampleColumns } from "../../ndjson/columns.ts";
import { RemoteError } from "../../errors.ts";
import { snappyEncode } from "../codec/snappy.ts";
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
}

interface SeriesBuf {
  labelBlock: Uint8Array;
  timestampsMs: number[];
  values: Float64Array;
  valuesView: DataView;
  count: number;
  lastTimestampMs: number;
  inOrder: boolean;
}

/** A parser's series ids (see {@linkcode SampleColumns}) and the buffers they resolved to. */
interface ParserSeries {
  defs: { name: string; labels: Labels }[];
  bufs: SeriesBuf[];
}

interface PendingRequest {
  body: Uint8Array;
  samples: number;
}

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
  };
  #client: RemoteWriteClient;
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

  /** A batcher sending through `client`. Call {@linkcode close} at the end. */
  constructor(client: RemoteWriteClient, options: RemoteWriteBatcherOptions = {}) {
    this.#client = client;
    this.#batchSize = options.batchSize ?? 2000;
    this.#extra = options.extraLabels ?? {};
    this.#maxQueued = options.maxQueuedRequests ?? 2;
    this.#onDropped = options.onDropped;
    this.#flushIntervalMs = options.flushIntervalMs ?? 1000;
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
        labelBlock: encodeLabelBlock(pairs),
        timestampsMs: [],
        values,
        valuesView: new DataView(values.buffer),
        count: 0,
        lastTimestampMs: -Infinity,
        inOrder: true,
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
    for (let i = 0; i < cols.count; i++) {
      while (m < cols.metadata.length && cols.metadata[m].at <= i) {
        this.#addMetadata(cols.metadata[m++].record);
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
    return this.#space();
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
    if (buf.count === 0) this.#active.push(buf);
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
    if (this.#queue.length >= this.#maxQueued) {
      return new Promise((resolve) => this.#spaceWaiters.push(resolve));
    }
    return undefined;
  }

  /** Closes the current batch (if it has anything) and queues it for sending. */
  cut(): void {
    this.#lastCutMs = Date.now();
    if (this.#pendingSamples === 0 && this.#metadata.length === 0) return;
    const series: SeriesToEncode[] = [];
    for (const buf of this.#active) {
      if (!buf.inOrder) sortSeriesBuf(buf);
      series.push({
        labelBlock: buf.labelBlock,
        timestampsMs: buf.timestampsMs,
        values: buf.values,
        count: buf.count,
      });
    }
    const body = snappyEncode(this.#encoder.encode(series, this.#metadata));
    const samples = this.#pendingSamples;
    for (const buf of this.#active) {
      buf.count = 0;
      buf.timestampsMs.length = 0;
      buf.lastTimestampMs = -Infinity;
      buf.inOrder = true;
    }
    this.#active = [];
    this.#pendingSamples = 0;
    this.#metadata = [];
    if (this.#byKey.size > 100_000) { // bound the label caches on high-cardinality input
      this.#seriesMap.clear();
      this.#byKey.clear();
      for (const p of this.#parsers.values()) p.bufs.length = 0; // in place: addColumns holds it
    }
    this.#queue.push({ body, samples });
    this.#pump();
  }

  #pump(): void {
    if (this.#sending) return;
    this.#sending = (async () => {
      while (this.#queue.length) {
        const req = this.#queue[0];
        try {
          const out = await this.#client.send(req.body);
          this.stats.retries += out.attempts - 1;
          this.stats.samplesSent += req.samples;
          this.stats.bytesSent += req.body.length;
        } catch (err) {
          if (err instanceof RemoteError) this.stats.retries += err.attempts - 1;
          this.stats.samplesDropped += req.samples;
          this.#onDropped?.(err, req.samples);
        }
        this.stats.requests++;
        this.#queue.shift();
        const waiter = this.#spaceWaiters.shift();
        waiter?.();
      }
      this.#sending = undefined;
    })();
  }

  /** Sends what is buffered and waits until every request is delivered or dropped. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.cut();
    while (this.#sending) await this.#sending;
    for (const w of this.#spaceWaiters.splice(0)) w();
  }
}

function sortSeriesBuf(buf: SeriesBuf): void {
  const n = buf.count;
  const order = Array.from({ length: n }, (_, i) => i);
  const ts = buf.timestampsMs;
  order.sort((a, b) => ts[a] - ts[b] || a - b);
  const sortedTs = order.map((i) => ts[i]);
  const src = new Uint8Array(buf.values.buffer, 0, n * 8).slice();
  const dst = new Uint8Array(buf.values.buffer);
  for (let j = 0; j < n; j++) dst.set(src.subarray(order[j] * 8, order[j] * 8 + 8), j * 8);
  for (let j = 0; j < n; j++) ts[j] = sortedTs[j];
}
