import { assertEquals, assertThrows } from "../../../tests/support/assert.ts";
import { decodeWriteRequest, encodeWriteRequest, type WireSeries } from "./write_request.ts";
import { prompbType } from "./prompb.ts";
import { WireReader, WireWriter } from "./wire.ts";
import { snappyDecode, snappyEncode, SnappyTooLargeError } from "./snappy.ts";
import { InputError } from "../../errors.ts";
import type { MetricMetadata } from "../../model/sample.ts";

function bitsOf(values: Float64Array): string[] {
  return Array.from(
    new BigUint64Array(values.buffer, values.byteOffset, values.length),
    (b) => b.toString(16),
  );
}

function valuesFromBits(bits: bigint[]): Float64Array {
  return new Float64Array(new BigUint64Array(bits).buffer);
}

const series: WireSeries[] = [
  {
    labels: [["__name__", "node_rapl_package_joules_total"], ["index", "0"], [
      "path",
      "/sys/class/powercap/intel-rapl:0",
    ]],
    timestampsMs: [1732350000123, 1732350001123, -1, 0, 9007199254740991, -9007199254740991],
    values: valuesFromBits([
      0x4029000000000000n, // 12.5
      0x8000000000000000n, // -0
      0x7ff0000000000002n, // StaleNaN
      0x7ff8000000000001n, // Prometheus NaN
      0x7ff0000000000000n, // +Inf
      0x0000000000000001n, // smallest subnormal
    ]),
  },
  {
    labels: [["__name__", "é_unicode"], ["zone", "ünï ☃ 😀"]],
    timestampsMs: [5],
    values: new Float64Array([0.1]),
  },
];
const metadata: MetricMetadata[] = [
  {
    kind: "metadata",
    name: "node_rapl_package_joules_total",
    type: "counter",
    unit: "joules",
    help: "RAPL energy",
  },
  { kind: "metadata", name: "g", type: "stateset", unit: "", help: "" },
];

Deno.test("WriteRequest: our encoding decodes with protobufjs to the same message", () => {
  const bytes = encodeWriteRequest(series, metadata);
  const msg = prompbType("WriteRequest").toObject(prompbType("WriteRequest").decode(bytes), {
    longs: Number,
    enums: Number,
    defaults: true,
  });
  assertEquals(msg.timeseries.length, 2);
  assertEquals(
    msg.timeseries[0].labels.map((l: { name: string; value: string }) => [l.name, l.value]),
    series[0].labels,
  );
  assertEquals(
    msg.timeseries[0].samples.map((s: { timestamp: number }) => s.timestamp),
    series[0].timestampsMs,
  );
  assertEquals(msg.timeseries[0].samples[0].value, 12.5);
  assertEquals(Object.is(msg.timeseries[0].samples[1].value, -0), true);
  assertEquals(msg.timeseries[1].labels[1].value, "ünï ☃ 😀");
  assertEquals(msg.metadata[0], {
    type: 1,
    metric_family_name: "node_rapl_package_joules_total",
    help: "RAPL energy",
    unit: "joules",
  });
  assertEquals(msg.metadata[1].type, 7);
});

Deno.test("WriteRequest: protobufjs encoding decodes with ours, and ours round-trips bit for bit", () => {
  const T = prompbType("WriteRequest");
  const ref = T.encode(T.fromObject({
    timeseries: [{
      labels: [{ name: "__name__", value: "up" }, { name: "job", value: "x" }],
      samples: [{ value: 1, timestamp: 1000 }, { value: 0, timestamp: -2000 }, {
        value: -3.25,
        timestamp: 3000,
      }],
    }],
    metadata: [{ type: 2, metric_family_name: "up", help: "h", unit: "" }],
  })).finish();
  const d = decodeWriteRequest(ref);
  assertEquals(d.series[0].labels, [["__name__", "up"], ["job", "x"]]);
  assertEquals(d.series[0].timestampsMs, [1000, -2000, 3000]);
  assertEquals(Array.from(d.series[0].values), [1, 0, -3.25]);
  assertEquals(d.metadata[0].type, "gauge");
  assertEquals(d.sampleCount, 3);

  const back = decodeWriteRequest(encodeWriteRequest(series, metadata));
  assertEquals(back.series.map((s) => s.labels), series.map((s) => s.labels));
  assertEquals(back.series.map((s) => s.timestampsMs), series.map((s) => s.timestampsMs));
  assertEquals(back.series.map((s) => bitsOf(s.values)), series.map((s) => bitsOf(s.values)));
  assertEquals(back.metadata, metadata);
});

Deno.test("WriteRequest: malformed bodies are InputErrors with a byte offset, never crashes", () => {
  const good = encodeWriteRequest(series, metadata);
  for (let cut = 1; cut < good.length; cut += 7) {
    try {
      decodeWriteRequest(good.subarray(0, cut));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
    }
  }
  const err = assertThrows(
    () => decodeWriteRequest(new Uint8Array([0x0a, 0xff, 0xff, 0x03])),
    InputError,
  );
  assertEquals(/byte \d+/.test(err.message), true);
  assertThrows(() => decodeWriteRequest(new Uint8Array([0x0f])), InputError); // wire type 7
  for (let i = 0; i < 500; i++) {
    const junk = crypto.getRandomValues(new Uint8Array(64));
    try {
      decodeWriteRequest(junk);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
    }
  }
});

Deno.test("wire: int64 varints at the edges match protobufjs", () => {
  const T = prompbType("Sample");
  for (
    const ts of [
      0,
      1,
      127,
      128,
      2 ** 31,
      2 ** 32,
      2 ** 53 - 1,
      -1,
      -128,
      -(2 ** 32),
      -(2 ** 53) + 1,
    ]
  ) {
    const w = new WireWriter(4);
    w.key(2, 0);
    w.int64(ts);
    const ours = w.finish().slice();
    const ref = T.encode(T.fromObject({ timestamp: ts })).finish();
    // proto3 writers may omit a zero field; we always write it. Both decode the same.
    if (ts !== 0) assertEquals(Array.from(ours), Array.from(ref), `timestamp ${ts}`);
    assertEquals(Number(T.decode(ours).toJSON().timestamp ?? 0), ts);
    const r = new WireReader(ours);
    r.key();
    assertEquals(r.int64(), ts);
  }
});

Deno.test("snappy: round trip, size limit checked from the preamble", () => {
  const data = new TextEncoder().encode("abc".repeat(10000));
  assertEquals(snappyDecode(snappyEncode(data), 1 << 20), data);
  assertThrows(() => snappyDecode(snappyEncode(data), 100), SnappyTooLargeError);
  // A preamble claiming 4 GiB is refused before any allocation.
  assertThrows(
    () => snappyDecode(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0]), 1 << 20),
    SnappyTooLargeError,
  );
  assertThrows(() => snappyDecode(new Uint8Array([0x05, 0xff, 0xff]), 1 << 20), InputError);
});

Deno.test("WriteRequest: timestamps at every varint length edge encode byte for byte as protobufjs", () => {
  const edges: number[] = [];
  for (let bits = 0; bits <= 53; bits += 7) {
    const p = 2 ** bits;
    edges.push(p - 1, p, p + 1);
  }
  edges.push(2 ** 42 - 1, 2 ** 42, 2 ** 53 - 1, 1732350000123, -1, -(2 ** 42), -(2 ** 53 - 1));
  // Many samples, fast and slow paths interleaved, so that the buffer grows mid-series.
  const ts: number[] = [];
  // (protobufjs leaves out zero fields, which we write: no zeros here.)
  const nonZero = edges.filter((t) => t !== 0);
  for (let i = 0; i < 5000; i++) ts.push(nonZero[(i * 7) % nonZero.length]);
  const values = new Float64Array(ts.length).map((_, i) => (i + 1) / 3);
  const mine = encodeWriteRequest([{ labels: [["__name__", "m"]], timestampsMs: ts, values }]);
  const T = prompbType("WriteRequest");
  const ref = T.encode(T.fromObject({
    timeseries: [{
      labels: [{ name: "__name__", value: "m" }],
      samples: ts.map((timestamp, i) => ({ value: values[i], timestamp })),
    }],
  })).finish();
  assertEquals(Array.from(mine), Array.from(ref));
});

Deno.test("WriteRequest: a label value of 200,000 ASCII bytes decodes (no stack overflow)", () => {
  const long = "x".repeat(200_000);
  const body = encodeWriteRequest([
    {
      labels: [["__name__", "m"], ["big", long]],
      timestampsMs: [1],
      values: new Float64Array([1]),
    },
  ]);
  const back = decodeWriteRequest(body);
  assertEquals(back.series[0].labels[1][1].length, 200_000);
  assertEquals(back.series[0].labels[1][1], long);
});
