import { assert, assertEquals, assertThrows } from "../../../tests/support/assert.ts";
import { decodeWriteRequestV2, encodeWriteRequestV2 } from "./write_request_v2.ts";
import type { WireSeries } from "./write_request.ts";
import { writeV2Type } from "./prompb.ts";
import { InputError } from "../../errors.ts";
import type { MetricMetadata } from "../../model/sample.ts";
import { STALE_NAN_HEX } from "../../model/value.ts";
import { floatCustomHistogram, integerHistogram } from "../../../tests/support/histograms.ts";

const stale = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0];
const series: WireSeries[] = [
  {
    labels: [["__name__", "rpc_total"], ["job", "api"]],
    timestampsMs: [1000, 2000],
    values: new Float64Array(new BigUint64Array([0x4029000000000000n, 0x7ff0000000000002n]).buffer),
    startTimestampsMs: [500, 500],
    exemplars: [{ labels: [["trace_id", "abc"]], value: { value: 1.5 }, timestampMs: 1500 }],
  },
  {
    labels: [["__name__", "rpc_seconds"], ["job", "api"]],
    timestampsMs: [],
    values: new Float64Array(0),
    histograms: [
      { ...integerHistogram(1000), startTimestampMs: 400 },
      floatCustomHistogram(2000),
    ],
  },
];
const metadata: MetricMetadata[] = [
  { kind: "metadata", name: "rpc_total", type: "counter", unit: "requests", help: "RPCs." },
];

Deno.test("write v2: our encoding decodes with protobufjs from the schema", () => {
  const type = writeV2Type("Request");
  const msg = type.toObject(type.decode(encodeWriteRequestV2(series, metadata)), {
    longs: Number,
    enums: Number,
    defaults: true,
  });
  const sym = msg.symbols as string[];
  assertEquals(sym[0], "");
  const ts = msg.timeseries[0];
  assertEquals(
    (ts.labels_refs as number[]).map((r) => sym[r]),
    ["__name__", "rpc_total", "job", "api"],
  );
  assertEquals(ts.samples.map((s: { start_timestamp: number }) => s.start_timestamp), [500, 500]);
  assertEquals(ts.samples[0].value, 12.5);
  assert(Number.isNaN(ts.samples[1].value));
  assertEquals(ts.metadata.type, 1);
  assertEquals(sym[ts.metadata.help_ref], "RPCs.");
  assertEquals(sym[ts.metadata.unit_ref], "requests");
  assertEquals((ts.exemplars[0].labels_refs as number[]).map((r) => sym[r]), ["trace_id", "abc"]);
  const h = msg.timeseries[1].histograms;
  assertEquals(h[0].count_int, 12);
  assertEquals(h[0].start_timestamp, 400);
  assertEquals(h[1].custom_values, [0.1, 0.5, 1]);
  assertEquals(msg.timeseries[1].metadata, null);
});

Deno.test("write v2: decode(encode(x)) keeps every field, NaN bits and metadata included", () => {
  const d = decodeWriteRequestV2(encodeWriteRequestV2(series, metadata));
  assertEquals(d.sampleCount, 2);
  assertEquals(d.histogramCount, 2);
  assertEquals(d.exemplarCount, 1);
  assertEquals(d.metadata, metadata);
  assertEquals(d.series[0].labels, series[0].labels);
  assertEquals(d.series[0].startTimestampsMs, [500, 500]);
  assertEquals(
    new BigUint64Array(d.series[0].values.buffer)[1],
    0x7ff0000000000002n,
  );
  assertEquals(d.series[0].exemplars, series[0].exemplars);
  assertEquals(d.series[1].histograms, series[1].histograms);
  assertEquals(d.series[1].histograms![1].sum.nanBits, STALE_NAN_HEX);
  assert(Number.isNaN(stale));
});

Deno.test("write v2: protobufjs' encoding (created_timestamp of earlier drafts too) decodes", () => {
  const type = writeV2Type("Request");
  const bytes = type.encode(type.fromObject({
    symbols: ["", "__name__", "up", "job", "x"],
    timeseries: [{
      labels_refs: [1, 2, 3, 4],
      samples: [{ value: 1, timestamp: 10 }],
      created_timestamp: 5,
      metadata: { type: 2, help_ref: 0, unit_ref: 0 },
    }],
  })).finish();
  const d = decodeWriteRequestV2(bytes);
  assertEquals(d.series[0].labels, [["__name__", "up"], ["job", "x"]]);
  assertEquals(d.series[0].startTimestampsMs, [5]);
  assertEquals(d.metadata, [{ kind: "metadata", name: "up", type: "gauge", unit: "", help: "" }]);
});

Deno.test("write v2: bad symbol references and a non-empty symbols[0] are malformed", () => {
  const type = writeV2Type("Request");
  const cases: [Record<string, unknown>, string][] = [
    [{ symbols: ["x", "__name__", "up"], timeseries: [{ labels_refs: [1, 2] }] }, "symbols[0]"],
    [{ symbols: ["", "__name__"], timeseries: [{ labels_refs: [1, 7] }] }, "symbol 7"],
    [{ symbols: ["", "__name__", "up"], timeseries: [{ labels_refs: [1, 2, 1] }] }, "odd length"],
    [
      {
        symbols: ["", "__name__", "up"],
        timeseries: [{ labels_refs: [1, 2], metadata: { type: 1, help_ref: 9 } }],
      },
      "help_ref",
    ],
    [
      {
        symbols: ["", "__name__", "up"],
        timeseries: [{ labels_refs: [1, 2], exemplars: [{ labels_refs: [1, 3] }] }],
      },
      "exemplar labels_refs",
    ],
  ];
  for (const [obj, want] of cases) {
    const bytes = type.encode(type.fromObject(obj)).finish();
    const err = assertThrows(() => decodeWriteRequestV2(bytes), InputError);
    assert(err.message.includes(want), `${want}: ${err.message}`);
  }
});
