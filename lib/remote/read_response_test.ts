import { deepStrictEqual } from "node:assert/strict";
import { prompbType } from "./prompb.ts";
import { decodeReadResponse, ReadResponseEncoder } from "./read_response.ts";
import { encodeLabelBlock } from "./write_request.ts";
import { hexOfNumber } from "../model/value.ts";

function bitsOf(values: Float64Array): string[] {
  const v = new DataView(values.buffer, values.byteOffset);
  return Array.from(
    { length: values.length },
    (_, i) =>
      v.getUint32(i * 8 + 4, true).toString(16).padStart(8, "0") +
      v.getUint32(i * 8, true).toString(16).padStart(8, "0"),
  );
}

Deno.test("ReadResponseEncoder: protobufjs reads it; decodeReadResponse keeps NaN bits", () => {
  const values = new Float64Array([1.5, -0, 0, 1e300]);
  const dv = new DataView(values.buffer);
  dv.setUint32(4 + 8 * 2, 0x7ff00000, true); // value 2: the stale marker 7ff0000000000002
  dv.setUint32(8 * 2, 2, true);
  const ts = [-1000, 0, 1_700_000_000_000, 1_700_000_001_000];
  const labels: [string, string][] = [["__name__", "power_watts"], ["host", "wätt"]];
  const enc = new ReadResponseEncoder(16); // tiny start: exercises growth
  enc.beginResult();
  enc.beginSeries(encodeLabelBlock(labels));
  enc.addSamples(ts, values, 0, 2);
  enc.addSamples(ts, values, 2, 4);
  enc.endSeries();
  enc.endResult();
  enc.beginResult(); // an empty result for a second query
  enc.endResult();
  const bytes = enc.finish().slice();
  deepStrictEqual(enc.sampleCount, 4);

  const T = prompbType("ReadResponse");
  const obj = T.toObject(T.decode(bytes), { longs: Number, defaults: true });
  deepStrictEqual(obj.results.length, 2);
  deepStrictEqual(obj.results[1].timeseries, []);
  const s = obj.results[0].timeseries[0];
  deepStrictEqual(s.labels.map((l: { name: string; value: string }) => [l.name, l.value]), labels);
  deepStrictEqual(s.samples.map((x: { timestamp: number }) => x.timestamp), ts);
  deepStrictEqual(s.samples[0].value, 1.5);
  deepStrictEqual(Object.is(s.samples[1].value, -0), true);

  const decoded = decodeReadResponse(bytes);
  deepStrictEqual(decoded.length, 2);
  deepStrictEqual(decoded[0][0].labels, labels);
  deepStrictEqual(decoded[0][0].timestampsMs, ts);
  deepStrictEqual(bitsOf(decoded[0][0].values), [
    hexOfNumber(1.5),
    hexOfNumber(-0),
    "7ff0000000000002",
    hexOfNumber(1e300),
  ]);
});

Deno.test("ReadResponseEncoder: timestamps of every varint length agree with protobufjs", () => {
  const ts: number[] = [];
  for (let bits = 0; bits <= 53; bits++) {
    for (const d of [-1, 0, 1]) {
      const t = 2 ** bits + d;
      if (Number.isSafeInteger(t)) ts.push(t, t === 0 ? 0 : -t);
    }
  }
  const values = Float64Array.from(ts, (_, i) => i);
  const enc = new ReadResponseEncoder();
  enc.beginResult();
  enc.beginSeries(encodeLabelBlock([["__name__", "x"]]));
  enc.addSamples(ts, values, 0, ts.length);
  enc.endSeries();
  enc.endResult();
  const T = prompbType("ReadResponse");
  const obj = T.toObject(T.decode(enc.finish()), { longs: String, defaults: true });
  deepStrictEqual(
    obj.results[0].timeseries[0].samples.map((s: { timestamp: string }) => s.timestamp),
    ts.map(String),
  );
  deepStrictEqual(decodeReadResponse(enc.finish())[0][0].timestampsMs, ts);
});
