/**
 * A scrape target for tests that serves Prometheus' protobuf exposition format
 * (`application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited`),
 * the only format in which Prometheus 2.42 scrapes native histograms. The messages are written
 * from `io/prometheus/client/metrics.proto` (client_model v0.3, the version 2.42 reads):
 *
 * - MetricFamily: name 1, help 2, type 3 (COUNTER 0, HISTOGRAM 4), metric 4.
 * - Metric: label 1 (LabelPair: name 1, value 2), counter 3, histogram 7.
 * - Counter: value 1, exemplar 2 (Exemplar: label 1, value 2, timestamp 3 as
 *   google.protobuf.Timestamp: seconds 1, nanos 2).
 * - Histogram: sample_count 1, sample_sum 2, schema 5 (sint32), zero_threshold 6, zero_count 7,
 *   positive_span 12 (BucketSpan: offset 1 sint32, length 2), positive_delta 13 (sint64).
 *
 * Each scrape, the histogram `rpc_seconds` (schema 0, buckets (0.5,1] (1,2] (2,4]) has 3 more
 * observations and the counter `rpc_requests_total` 1 more, with a new exemplar (`trace_id`).
 *
 * @module
 */
import { WireWriter, WT_I64, WT_VARINT } from "../../lib/remote/codec/wire.ts";

/** Content-Type of the delimited protobuf exposition format. */
export const PROTOBUF_EXPOSITION =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function labelPair(w: WireWriter, field: number, name: string, value: string): void {
  const m = w.beginLength(field);
  w.stringField(1, name); // LabelPair 1: name
  w.stringField(2, value); // LabelPair 2: value
  w.endLength(m);
}

function delimited(body: (w: WireWriter) => void): Uint8Array {
  const inner = new WireWriter(256);
  body(inner);
  const msg = inner.finish();
  const w = new WireWriter(msg.length + 8);
  w.varint(msg.length); // uvarint: message length
  w.bytes(msg);
  return w.finish().slice();
}

/** The exposition body of scrape number `n` (1, 2, …) at `nowMs`. */
export function exposition(n: number, nowMs: number): Uint8Array<ArrayBuffer> {
  const buckets = [2 * n, 3 * n, 2 * n]; // (0.5,1], (1,2], (2,4] hold 7n observations…
  const zero = n; // …and the zero bucket n more
  const count = 8 * n;
  const sum = 11.5 * n;
  const histogram = delimited((w) => {
    w.stringField(1, "rpc_seconds"); // MetricFamily 1: name
    w.stringField(2, "RPC latency."); // MetricFamily 2: help
    w.key(3, WT_VARINT); // MetricFamily 3: type
    w.varint(4); // HISTOGRAM
    const m = w.beginLength(4); // MetricFamily 4: metric
    labelPair(w, 1, "method", "get"); // Metric 1: label
    const h = w.beginLength(7); // Metric 7: histogram
    w.key(1, WT_VARINT); // Histogram 1: sample_count
    w.varint(count);
    w.key(2, WT_I64); // Histogram 2: sample_sum
    w.double(sum);
    w.key(5, WT_VARINT); // Histogram 5: schema (sint32)
    w.varint(zigzag(0));
    w.key(6, WT_I64); // Histogram 6: zero_threshold
    w.double(0.001);
    w.key(7, WT_VARINT); // Histogram 7: zero_count
    w.varint(zero);
    const span = w.beginLength(12); // Histogram 12: positive_span
    w.key(1, WT_VARINT); // BucketSpan 1: offset (sint32)
    w.varint(zigzag(0));
    w.key(2, WT_VARINT); // BucketSpan 2: length
    w.varint(3);
    w.endLength(span);
    const deltas = w.beginLength(13); // Histogram 13: positive_delta (packed sint64)
    let prev = 0;
    for (const b of buckets) {
      w.varint(zigzag(b - prev));
      prev = b;
    }
    w.endLength(deltas);
    w.endLength(h);
    w.endLength(m);
  });
  const counter = delimited((w) => {
    w.stringField(1, "rpc_requests_total"); // MetricFamily 1: name
    w.key(3, WT_VARINT); // MetricFamily 3: type
    w.varint(0); // COUNTER
    const m = w.beginLength(4); // MetricFamily 4: metric
    labelPair(w, 1, "method", "get"); // Metric 1: label
    const c = w.beginLength(3); // Metric 3: counter
    w.key(1, WT_I64); // Counter 1: value
    w.double(n);
    const e = w.beginLength(2); // Counter 2: exemplar
    labelPair(w, 1, "trace_id", `trace-${n}`); // Exemplar 1: label
    w.key(2, WT_I64); // Exemplar 2: value
    w.double(0.25 * n);
    const ts = w.beginLength(3); // Exemplar 3: timestamp
    w.key(1, WT_VARINT); // Timestamp 1: seconds
    w.varint(Math.floor(nowMs / 1000));
    w.key(2, WT_VARINT); // Timestamp 2: nanos
    w.varint((nowMs % 1000) * 1_000_000);
    w.endLength(ts);
    w.endLength(e);
    w.endLength(c);
    w.endLength(m);
  });
  const out = new Uint8Array(histogram.length + counter.length);
  out.set(histogram);
  out.set(counter, histogram.length);
  return out;
}

/** A running target. */
export interface ProtobufTarget {
  /** `127.0.0.1:PORT`, for a scrape config. */
  address: string;
  /** Scrapes answered so far. */
  scrapes(): number;
  /** Answers 503 from now on (the target goes down: Prometheus writes stale markers). */
  down(): void;
  /** Stops serving. */
  stop(): Promise<void>;
}

/** Starts the target on 127.0.0.1 and a free port. */
export function startProtobufTarget(): ProtobufTarget {
  let n = 0;
  let isDown = false;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    if (isDown) return new Response("down", { status: 503 });
    n++;
    return new Response(exposition(n, Date.now()), {
      headers: { "Content-Type": PROTOBUF_EXPOSITION },
    });
  });
  return {
    address: `127.0.0.1:${server.addr.port}`,
    scrapes: () => n,
    down() {
      isDown = true;
    },
    stop: () => server.shutdown(),
  };
}
