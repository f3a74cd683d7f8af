import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import {
  byteSpan,
  decodeFrames,
  encodePack,
  rangeSamples,
  rangeSpan,
  type SampleBlock,
} from "./segment.ts";

function bits(values: Float64Array): string[] {
  const w = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
  return Array.from(
    { length: values.length },
    (_, i) => w[2 * i + 1].toString(16).padStart(8, "0") + w[2 * i].toString(16).padStart(8, "0"),
  );
}

/** Series of 1–300 samples: decimals, counters, raw doubles, NaN payloads, jitter, ties. */
function blocks(count: number): SampleBlock[] {
  let seed = 7;
  const r = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const out: SampleBlock[] = [];
  for (let s = 0; s < count; s++) {
    const n = s % 17 === 0 ? 1 : 1 + Math.floor(r() * 300);
    const ts = new Float64Array(n);
    const values = new Float64Array(n);
    const w = new Uint32Array(values.buffer);
    let t = 1_732_350_000_000 + s * 37;
    for (let i = 0; i < n; i++) {
      t += i % 11 === 5 ? 0 : 1000 + Math.floor(r() * 5);
      ts[i] = t;
      const kind = s % 4;
      values[i] = kind === 0
        ? Math.round(r() * 50000) / 100
        : kind === 1
        ? 2 ** 40 + i * 12345
        : kind === 2
        ? r() * 1e-3
        : i;
      if (kind === 3 && i % 9 === 4) w.set([1, 0x7ff80000], 2 * i); // Prometheus' NaN
    }
    out.push({ timestampsMs: ts, values });
  }
  return out;
}

Deno.test("encodePack: every range decodes bit-exact from its own frames only", () => {
  const input = blocks(120);
  const blockSize = 256;
  const { bytes, file, ranges } = encodePack(input, { blockSize });
  assertEquals(file.channels, 3); // dec2 and f64 ranges need a third channel
  assertEquals(file.count, input.reduce((n, b) => n + b.timestampsMs.length, 0));
  assertEquals(file.frames.length, Math.ceil(file.count / blockSize));
  // One-channel (dec) ranges come first in the file.
  const decEnd = Math.max(...ranges.filter((r) => r.mode === "dec").map((r) => r.at + r.count));
  const others = Math.min(...ranges.filter((r) => r.mode !== "dec").map((r) => r.at));
  assert(decEnd <= others, `dec ranges end at ${decEnd}, others start at ${others}`);
  ranges.forEach((r, i) => {
    const span = rangeSpan(r, blockSize, -Infinity, Infinity)!;
    const bs = byteSpan(file, r.at, span);
    // Only the header and the frames overlapping the range.
    assert(bs.lastFrame - bs.firstFrame <= Math.ceil(r.count / blockSize));
    const part = new Uint8Array(file.frames[0] + bs.byteEnd - bs.byteStart);
    part.set(bytes.subarray(0, file.frames[0]));
    part.set(bytes.subarray(bs.byteStart, bs.byteEnd), file.frames[0]);
    const back = rangeSamples(decodeFrames(part, file, bs), r, span);
    assertEquals(Array.from(back.timestampsMs), Array.from(input[i].timestampsMs), `range ${i}`);
    assertEquals(bits(back.values), bits(input[i].values), `range ${i}`);
  });
});

Deno.test("encodePack: time windows inside a long packed range seek by frame", () => {
  const short = blocks(3);
  const n = 5000;
  const ts = new Float64Array(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    ts[i] = 1_000_000 + Math.floor(i / 3) * 1000; // ties in threes, across frame boundaries
    values[i] = i / 4;
  }
  const input = [...short, { timestampsMs: ts, values }];
  const blockSize = 128;
  const { bytes, file, ranges } = encodePack(input, { blockSize });
  const r = ranges[3];
  assert(r.at > 0 && r.seek && r.seek.length > 30);
  for (const [a, b] of [[0, 0], [100, 101], [1000, 1003], [1500, 4999], [4990, 4999]]) {
    const startMs = ts[a];
    const endMs = ts[b];
    const span = rangeSpan(r, blockSize, startMs, endMs)!;
    assert(span.end - span.first <= (b - a) + 3 * blockSize, `window ${a}..${b} decodes too much`);
    const bs = byteSpan(file, r.at, span);
    const back = rangeSamples(decodeFrames(bytes, file, bs), r, span, startMs, endMs);
    const lo = ts.indexOf(startMs);
    const hi = ts.lastIndexOf(endMs) + 1;
    assertEquals(Array.from(back.timestampsMs), Array.from(ts.subarray(lo, hi)), `${a}..${b}`);
    assertEquals(bits(back.values), bits(values.subarray(lo, hi)), `${a}..${b}`);
  }
  assertEquals(rangeSpan(r, blockSize, 0, ts[0] - 1), undefined);
});
