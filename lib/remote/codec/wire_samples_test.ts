import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { WireSamplesBuilder } from "./wire_samples.ts";
import { ReadResponseEncoder } from "./read_response.ts";
import { prompbType } from "./prompb.ts";

function bits(values: Float64Array): string[] {
  const dv = new DataView(values.buffer, values.byteOffset, values.byteLength);
  return Array.from(
    { length: values.length },
    (_, i) =>
      dv.getUint32(i * 8 + 4, true).toString(16).padStart(8, "0") +
      dv.getUint32(i * 8, true).toString(16).padStart(8, "0"),
  );
}

/** The TimeSeries.samples fields ReadResponseEncoder writes for the same columns. */
function referenceSampleFields(ts: number[], values: Float64Array): Uint8Array {
  const enc = new ReadResponseEncoder();
  enc.beginResult();
  enc.beginSeries(new Uint8Array(0));
  enc.addSamples(ts, values, 0, ts.length);
  enc.endSeries();
  enc.endResult();
  const all = enc.finish();
  // Skip ReadResponse 1 and QueryResult 1 keys and lengths (varints).
  let p = 1;
  while (all[p++] & 0x80);
  p++;
  while (all[p++] & 0x80);
  return all.slice(p);
}

function withNaNs(n: number): Float64Array {
  const v = Float64Array.from({ length: n }, (_, i) => Math.round(Math.sin(i) * 1e4) / 100);
  const dv = new DataView(v.buffer);
  if (n > 3) {
    dv.setUint32(3 * 8 + 4, 0x7ff00000, true); // stale marker 7ff0000000000002
    dv.setUint32(3 * 8, 2, true);
  }
  return v;
}

Deno.test("WireSamples: fixed stride for epoch-ms timestamps, bytes equal ReadResponseEncoder's", () => {
  const ts = Array.from({ length: 5000 }, (_, i) => 1_732_350_000_000 + i * 1000);
  const values = withNaNs(ts.length);
  const b = new WireSamplesBuilder(10); // tiny: exercises growth
  strictEqual(b.add(ts, values, 0, 2000), 2000);
  strictEqual(b.add(ts, values, 2000, 5000), 3000);
  const w = b.finish();
  strictEqual(w.count, 5000);
  strictEqual(w.stride, 18);
  strictEqual(w.offsets, undefined);
  deepStrictEqual(w.bytes, referenceSampleFields(ts, values));
  for (const i of [0, 1, 2500, 4999]) strictEqual(w.timestampAt(i), ts[i]);
  deepStrictEqual(w.indexRange(ts[10], ts[20]), [10, 21]);
  deepStrictEqual(w.indexRange(ts[10] + 1, ts[20] - 1), [11, 20]);
  deepStrictEqual(w.indexRange(0, ts[0] - 1), [0, 0]);
  deepStrictEqual(w.indexRange(ts[4999] + 1, Infinity), [5000, 5000]);
  deepStrictEqual(w.indexRange(-Infinity, Infinity), [0, 5000]);
  const outTs = new Float64Array(6);
  const outValues = new Float64Array(6);
  w.decodeInto(1, 6, outTs, outValues);
  deepStrictEqual([...outTs], ts.slice(1, 7));
  deepStrictEqual(bits(outValues), bits(values.subarray(1, 7))); // the stale marker's bits too
});

Deno.test("WireSamples: mixed varint lengths and negatives keep an offset table", () => {
  const ts: number[] = [-(2 ** 40), -5, 0, 1, 127, 128];
  for (let bits = 8; bits <= 53; bits++) ts.push(2 ** bits - 1, 2 ** bits);
  ts.pop(); // 2^53 is not a safe integer
  const values = withNaNs(ts.length);
  const b = new WireSamplesBuilder();
  b.add(ts, values, 0, 3);
  b.add(ts, values, 3, ts.length);
  const w = b.finish();
  strictEqual(w.stride, 0);
  strictEqual(w.offsets!.length, ts.length + 1);
  deepStrictEqual(w.bytes, referenceSampleFields(ts, values));
  for (let i = 0; i < ts.length; i++) strictEqual(w.timestampAt(i), ts[i], `sample ${i}`);
  deepStrictEqual(w.indexRange(-10, 200), [1, 6]);
  const outTs = new Float64Array(ts.length);
  const outValues = new Float64Array(ts.length);
  w.decodeInto(0, ts.length, outTs, outValues);
  deepStrictEqual([...outTs], ts);
  deepStrictEqual(bits(outValues), bits(values));
  // protobufjs reads the fields as a TimeSeries.
  const T = prompbType("TimeSeries");
  const obj = T.toObject(T.decode(w.bytes), { longs: Number, defaults: true });
  deepStrictEqual(obj.samples.map((s: { timestamp: number }) => s.timestamp), ts);
});

Deno.test("WireSamples: a stride that breaks after many samples switches to offsets", () => {
  const ts = [2 ** 35 - 3, 2 ** 35 - 2, 2 ** 35 - 1, 2 ** 35, 2 ** 35 + 1]; // 5 then 6 varint bytes
  const values = new Float64Array(ts.length).fill(1.5);
  const b = new WireSamplesBuilder();
  b.add(ts, values, 0, ts.length);
  const w = b.finish();
  strictEqual(w.stride, 0);
  deepStrictEqual([...w.offsets!], [0, 17, 34, 51, 69, 87]);
  deepStrictEqual(w.indexRange(2 ** 35 - 1, 2 ** 35), [2, 4]);
  deepStrictEqual(w.slice(2, 4), w.bytes.subarray(34, 69));
});

Deno.test("WireSamples: repeated timestamps keep the first sample, across add() calls", () => {
  const ts = [1000, 2000, 2000, 3000, 3000];
  const values = new Float64Array([1, 2, 99, 3, 98]);
  const b = new WireSamplesBuilder();
  strictEqual(b.add(ts, values, 0, 4), 3);
  strictEqual(b.add([3000, 3000, 4000], new Float64Array([97, 96, 4]), 0, 3), 1);
  const w = b.finish();
  const outTs = new Float64Array(w.count);
  const outValues = new Float64Array(w.count);
  w.decodeInto(0, w.count, outTs, outValues);
  deepStrictEqual([...outTs], [1000, 2000, 3000, 4000]);
  deepStrictEqual([...outValues], [1, 2, 3, 4]);
});

Deno.test("WireSamples: empty", () => {
  const w = new WireSamplesBuilder().finish();
  strictEqual(w.count, 0);
  strictEqual(w.bytes.length, 0);
  deepStrictEqual(w.indexRange(-Infinity, Infinity), [0, 0]);
  deepStrictEqual(w.slice(0, 0).length, 0);
});

Deno.test("WireSamples: the 6-byte fast path drops repeats and hands over to the general one", () => {
  const t = 1_732_350_000_000;
  const ts = [t, t + 1, t + 1, t + 2, 2 ** 42 - 1, 2 ** 42 - 1];
  const values = new Float64Array([1, 2, 99, 3, 4, 98]);
  const b = new WireSamplesBuilder();
  strictEqual(b.add(ts, values, 0, 6), 4); // all in [2^35, 2^42): the fast path
  strictEqual(b.add([2 ** 42 - 1, 2 ** 42, 2 ** 42 + 5], new Float64Array([97, 5, 6]), 0, 3), 2);
  const w = b.finish();
  strictEqual(w.stride, 0); // 2^42 takes 7 varint bytes
  const want = [t, t + 1, t + 2, 2 ** 42 - 1, 2 ** 42, 2 ** 42 + 5];
  deepStrictEqual(
    w.bytes,
    referenceSampleFields(want, new Float64Array([1, 2, 3, 4, 5, 6])),
  );
  const outTs = new Float64Array(w.count);
  const outValues = new Float64Array(w.count);
  w.decodeInto(0, w.count, outTs, outValues);
  deepStrictEqual([...outTs], want);
  deepStrictEqual([...outValues], [1, 2, 3, 4, 5, 6]);
});

Deno.test("WireSamplesBuilder.continuing: the same bytes as building everything at once", () => {
  for (const base of [1_732_350_000_000, 2 ** 35 - 150]) { // stride 18; lengths that change (offsets)
    const ts = Array.from({ length: 300 }, (_, i) => base + i);
    const values = withNaNs(ts.length);
    const whole = new WireSamplesBuilder();
    whole.add(ts, values, 0, ts.length);
    const want = whole.finish();
    const first = new WireSamplesBuilder();
    first.add(ts, values, 0, 5);
    const b = WireSamplesBuilder.continuing(first.finish(), 1);
    b.add([ts[4]], new Float64Array([123]), 0, 1); // repeats the last timestamp: dropped
    b.add(ts, values, 5, ts.length);
    const got = b.finish();
    strictEqual(got.count, want.count);
    strictEqual(got.stride, want.stride);
    strictEqual(want.stride, base > 2 ** 40 ? 18 : 0);
    deepStrictEqual(got.offsets, want.offsets);
    deepStrictEqual(got.bytes, want.bytes);
  }
  const empty = WireSamplesBuilder.continuing(new WireSamplesBuilder().finish());
  empty.add([5], new Float64Array([1]), 0, 1);
  strictEqual(empty.finish().timestampAt(0), 5);
});

Deno.test("WireSamplesBuilder.continuing: writes in place once, never over the samples it continues", () => {
  const t = 1_732_350_000_000;
  const ts = Array.from({ length: 1000 }, (_, i) => t + i * 1000);
  const values = withNaNs(ts.length);
  const first = new WireSamplesBuilder(990);
  first.add(ts, values, 0, 990);
  const base = first.finish();
  const before = base.bytes.slice();
  const a = WireSamplesBuilder.continuing(base, 10);
  a.add(ts, values, 990, 1000);
  const grownA = a.finish();
  strictEqual(grownA.bytes.buffer, base.bytes.buffer, "the spare room is used in place");
  // A second continuation of the same samples (e.g. a concurrent query) must copy.
  const b = WireSamplesBuilder.continuing(base, 10);
  b.add([t + 5_000_000], new Float64Array([7]), 0, 1);
  const grownB = b.finish();
  ok(grownB.bytes.buffer !== base.bytes.buffer, "copied");
  deepStrictEqual(base.bytes, before, "the continued samples are untouched");
  deepStrictEqual(grownA.bytes, referenceSampleFields(ts, values));
  strictEqual(grownB.timestampAt(990), t + 5_000_000);
  deepStrictEqual(grownA.bytes.subarray(0, before.length), before);
});
