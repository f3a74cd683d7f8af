import { assert, assertEquals, assertThrows } from "../../../tests/support/assert.ts";
import { decodeWriteRequest, encodeWriteRequest, type WireSeries } from "./write_request.ts";
import { prompbType } from "./prompb.ts";
import { InputError } from "../../errors.ts";
import { STALE_NAN_HEX } from "../../model/value.ts";
import { floatCustomHistogram, integerHistogram } from "../../../tests/support/histograms.ts";

const series: WireSeries[] = [{
  labels: [["__name__", "http_request_duration_seconds"], ["job", "api"]],
  timestampsMs: [1000],
  values: new Float64Array([3]),
  histograms: [integerHistogram(1000), floatCustomHistogram(2000)],
  exemplars: [{
    labels: [["trace_id", "abc123"]],
    value: { value: 0.25 },
    timestampMs: 1500,
  }],
}];

function bits(v: number): string {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, v);
  return b.getBigUint64(0).toString(16);
}

Deno.test("histograms and exemplars: our encoding decodes with protobufjs to the same fields", () => {
  const bytes = encodeWriteRequest(series);
  const type = prompbType("WriteRequest");
  const msg = type.toObject(type.decode(bytes), { longs: Number, enums: Number, defaults: true });
  const ts = msg.timeseries[0];
  assertEquals(ts.histograms.length, 2);
  const [h, f] = ts.histograms;
  assertEquals(h.count_int, 12);
  assertEquals(h.sum, 18.4);
  assertEquals(h.schema, 1);
  assertEquals(h.zero_threshold, 0.001);
  assertEquals(h.zero_count_int, 2);
  assertEquals(h.negative_spans, [{ offset: 0, length: 2 }]);
  assertEquals(h.negative_deltas, [1, 1]);
  assertEquals(h.positive_spans, [{ offset: 0, length: 2 }, { offset: 1, length: 2 }]);
  assertEquals(h.positive_deltas, [1, 1, -1, 0]);
  assertEquals(h.reset_hint, 2);
  assertEquals(h.timestamp, 1000);
  assertEquals(f.count_float, 7.5);
  assertEquals(f.schema, -53);
  assertEquals(f.positive_counts, [1.5, 2, 4]);
  assertEquals(f.custom_values, [0.1, 0.5, 1]);
  assertEquals(bits(f.zero_count_float), bits(-0));
  assertEquals(ts.exemplars, [{
    labels: [{ name: "trace_id", value: "abc123" }],
    value: 0.25,
    timestamp: 1500,
  }]);
});

Deno.test("histograms and exemplars: decode(encode(x)) keeps every field, NaN bits included", () => {
  const decoded = decodeWriteRequest(encodeWriteRequest(series));
  assertEquals(decoded.histogramCount, 2);
  assertEquals(decoded.exemplarCount, 1);
  assertEquals(decoded.sampleCount, 1);
  const s = decoded.series[0];
  assertEquals(s.histograms, series[0].histograms);
  assertEquals(s.histograms![1].sum.nanBits, STALE_NAN_HEX);
  assertEquals(s.exemplars, series[0].exemplars);
  // and the bytes are the same when encoded again
  assertEquals(encodeWriteRequest(decoded.series), encodeWriteRequest(series));
});

Deno.test("histograms: protobufjs' encoding (unpacked fields too) decodes to the same histogram", () => {
  const type = prompbType("WriteRequest");
  const bytes = type.encode(type.fromObject({
    timeseries: [{
      labels: [{ name: "__name__", value: "h" }],
      histograms: [{
        count_int: 12,
        sum: 18.4,
        schema: 1,
        zero_threshold: 0.001,
        zero_count_int: 2,
        negative_spans: [{ offset: 0, length: 2 }],
        negative_deltas: [1, 1],
        positive_spans: [{ offset: 0, length: 2 }, { offset: 1, length: 2 }],
        positive_deltas: [1, 1, -1, 0],
        reset_hint: 2,
        timestamp: 1000,
      }],
    }],
  })).finish();
  const h = decodeWriteRequest(bytes).series[0].histograms![0];
  assertEquals(h, integerHistogram(1000));
});

Deno.test("histograms: one that mixes integer and float counts is refused", () => {
  const type = prompbType("WriteRequest");
  const bytes = type.encode(type.fromObject({
    timeseries: [{
      labels: [{ name: "__name__", value: "h" }],
      histograms: [{ count_int: 1, positive_counts: [1], positive_spans: [{ length: 1 }] }],
    }],
  })).finish();
  const err = assertThrows(() => decodeWriteRequest(bytes), InputError);
  assert(err.message.includes("mixes integer and float"), err.message);
});
