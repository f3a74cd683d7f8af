import { deepStrictEqual, ok, throws } from "node:assert/strict";
import {
  ChunkedSeriesFramer,
  decodeChunkedReadResponse,
  frameOf,
  minFrameBytes,
  splitFrames,
} from "./chunked_response.ts";
import { decodeXorChunk } from "./xor_chunk.ts";
import { encodeLabelBlock } from "./write_request.ts";
import { prompbType } from "./prompb.ts";
import { InputError } from "../../errors.ts";

function series(n: number): { ts: number[]; values: Float64Array } {
  const ts = Array.from({ length: n }, (_, i) => 1_700_000_000_000 + i * 1000 + (i % 7));
  const values = Float64Array.from({ length: n }, (_, i) => Math.sin(i / 10) * 100);
  return { ts, values };
}

function decodeAll(frames: Uint8Array[]) {
  const body = new Uint8Array(frames.reduce((s, f) => s + f.length, 0));
  let at = 0;
  for (const f of frames) {
    body.set(f, at);
    at += f.length;
  }
  return splitFrames(body).map(decodeChunkedReadResponse);
}

Deno.test("ChunkedSeriesFramer: 120-sample chunks, exact samples back, protobufjs agrees", () => {
  const { ts, values } = series(1000);
  const labels: [string, string][] = [["__name__", "power_watts"], ["gpu", "0"]];
  const framer = new ChunkedSeriesFramer();
  const frames = framer.frames(3, encodeLabelBlock(labels), ts, values, 0, ts.length);
  deepStrictEqual(frames.length, 1);
  const [msg] = decodeAll(frames);
  deepStrictEqual(msg.queryIndex, 3);
  deepStrictEqual(msg.series[0].labels, labels);
  const chunks = msg.series[0].chunks;
  deepStrictEqual(chunks.map((c) => decodeXorChunk(c.data).timestampsMs.length), [
    ...Array(8).fill(120),
    40,
  ]);
  const gotTs = chunks.flatMap((c) => decodeXorChunk(c.data).timestampsMs);
  deepStrictEqual(gotTs, ts);
  const gotValues = chunks.flatMap((c) => Array.from(decodeXorChunk(c.data).values));
  deepStrictEqual(gotValues, Array.from(values));
  for (const c of chunks) {
    const d = decodeXorChunk(c.data);
    deepStrictEqual([c.minTimeMs, c.maxTimeMs, c.type], [
      d.timestampsMs[0],
      d.timestampsMs.at(-1),
      1,
    ]);
  }
  const T = prompbType("ChunkedReadResponse");
  const obj = T.toObject(T.decode(splitFrames(frames[0])[0]), { longs: Number });
  deepStrictEqual(obj.query_index, 3);
  deepStrictEqual(obj.chunked_series[0].chunks.length, 9);
  deepStrictEqual(obj.chunked_series[0].chunks[8].max_time_ms, ts[999]);
});

Deno.test("ChunkedSeriesFramer: frames never exceed maxBytesInFrame; a series spans frames", () => {
  const { ts, values } = series(5000);
  const labelBlock = encodeLabelBlock([["__name__", "x"], ["host", "h".repeat(100)]]);
  for (const max of [minFrameBytes(labelBlock), 300, 1000, 4096, 65536]) {
    const frames = new ChunkedSeriesFramer({ maxBytesInFrame: max }).frames(
      0,
      labelBlock,
      ts,
      values,
      100,
      4900,
    );
    for (const f of frames) ok(f.length <= max, `frame of ${f.length} > ${max}`);
    const msgs = decodeAll(frames);
    const got = msgs.flatMap((m) =>
      m.series.flatMap((s) => s.chunks.flatMap((c) => decodeXorChunk(c.data).timestampsMs))
    );
    deepStrictEqual(got, ts.slice(100, 4900));
  }
  throws(
    () => new ChunkedSeriesFramer({ maxBytesInFrame: 100 }).frames(0, labelBlock, ts, values, 0, 1),
    RangeError,
  );
});

Deno.test("splitFrames: CRC and truncation are checked", () => {
  const frame = frameOf(new Uint8Array([0x10, 0x05]));
  deepStrictEqual(Array.from(splitFrames(frame)[0]), [0x10, 0x05]);
  const bad = frame.slice();
  bad[bad.length - 1] ^= 1;
  throws(
    () => splitFrames(bad),
    (e: Error) => e instanceof InputError && /CRC-32C/.test(e.message),
  );
  throws(() => splitFrames(frame.subarray(0, 4)), InputError);
});

Deno.test("ChunkedSeriesFramer: incremental blocks continue chunks; repeated timestamps dropped", () => {
  const { ts, values } = series(300);
  const framer = new ChunkedSeriesFramer();
  framer.beginSeries(0, encodeLabelBlock([["__name__", "x"]]));
  const frames = [
    ...framer.addSamples(ts, values, 0, 100),
    ...framer.addSamples(ts, values, 99, 200), // sample 99 again: dropped
    ...framer.addSamples(ts, values, 200, 300),
    ...framer.endSeries(),
  ];
  const chunks = decodeAll(frames).flatMap((m) => m.series.flatMap((s) => s.chunks));
  deepStrictEqual(chunks.map((c) => decodeXorChunk(c.data).timestampsMs.length), [120, 120, 60]);
  deepStrictEqual(chunks.flatMap((c) => decodeXorChunk(c.data).timestampsMs), ts);
  framer.beginSeries(0, encodeLabelBlock([["__name__", "y"]]));
  deepStrictEqual(framer.endSeries(), []); // no samples, no frame
});
