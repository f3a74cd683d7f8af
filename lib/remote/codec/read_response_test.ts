import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { prompbType } from "./prompb.ts";
import {
  decodeReadResponse,
  readResponseChunks,
  ReadResponseEncoder,
  readResponseLength,
  type ReadSeriesParts,
  writeReadResponse,
} from "./read_response.ts";
import { WireSamplesBuilder } from "./wire_samples.ts";
import { encodeLabelBlock } from "./write_request.ts";
import { hexOfNumber } from "../../model/value.ts";

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

Deno.test("writeReadResponse and readResponseChunks: the same bytes as ReadResponseEncoder", () => {
  const ts = Array.from({ length: 3000 }, (_, i) => 1_732_350_000_000 + i * 1000);
  const values = Float64Array.from(ts, (_, i) => i / 4);
  const series = [
    { labels: [["__name__", "a"], ["x", "1"]] as [string, string][], from: 0, to: 3000 },
    { labels: [["__name__", "b"], ["x", "2".repeat(300)]] as [string, string][], from: 5, to: 9 },
    { labels: [["__name__", "c"]] as [string, string][], from: 100, to: 2100 },
  ];
  const results = [[0, 1, 2], [], [1]];
  const enc = new ReadResponseEncoder();
  const parts: ReadSeriesParts[][] = [];
  for (const r of results) {
    enc.beginResult();
    const list: ReadSeriesParts[] = [];
    for (const i of r) {
      const s = series[i];
      const block = encodeLabelBlock(s.labels);
      enc.beginSeries(block);
      enc.addSamples(ts, values, s.from, s.to);
      enc.endSeries();
      const w = new WireSamplesBuilder();
      const mid = (s.from + s.to) >> 1;
      w.add(ts, values, s.from, s.to);
      const all = w.finish();
      // Two pieces per series: exercises pieces both copied and passed as views.
      list.push({
        labelBlock: block,
        samples: [all.slice(0, mid - s.from), all.slice(mid - s.from, all.count)],
      });
    }
    enc.endResult();
    parts.push(list);
  }
  const expected = enc.finish().slice();
  const length = readResponseLength(parts);
  strictEqual(length, expected.length);
  const out = new Uint8Array(length + 3);
  strictEqual(writeReadResponse(parts, out, 3), length + 3);
  deepStrictEqual(out.subarray(3), expected);
  for (const minViewBytes of [1, 100, 16 * 1024, 1 << 30]) {
    const prefix = new Uint8Array([7, 8, 9]);
    const chunks = [...readResponseChunks(parts, { prefix, minViewBytes, chunkBytes: 1000 })];
    const joined = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let p = 0;
    for (const c of chunks) {
      ok(c.length > 0);
      joined.set(c, p);
      p += c.length;
    }
    deepStrictEqual(joined.subarray(0, 3), prefix);
    deepStrictEqual(joined.subarray(3), expected, `minViewBytes ${minViewBytes}`);
  }
});
