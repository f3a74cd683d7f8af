import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { decodeXorChunk, SAMPLES_PER_CHUNK, XorChunkEncoder } from "./xor_chunk.ts";
import { seededRandom } from "../../../tests/support/random.ts";

function roundTrip(ts: number[], values: Float64Array): void {
  const enc = new XorChunkEncoder(8); // tiny start: exercises growth
  const view = new DataView(values.buffer);
  for (let i = 0; i < ts.length; i++) enc.appendFrom(ts, view, i);
  strictEqual(enc.count, ts.length);
  const got = decodeXorChunk(enc.bytes().slice());
  deepStrictEqual(got.timestampsMs, ts);
  deepStrictEqual(new Uint8Array(got.values.buffer), new Uint8Array(values.buffer));
}

Deno.test("XOR chunk: every timestamp bucket and value window round-trips bit-exactly", () => {
  const ts = [-123_456, -100_000, -100_000, 0, 1, 8193, 16_386, 16_386 + 65_537 + 8193];
  let t = ts[ts.length - 1];
  let d = 8193 + 65_537;
  for (const dod of [-8191, 8192, -65_535, 65_536, -524_287, 524_288, 524_289, -524_288, 2 ** 40]) {
    d += dod;
    if (d < 0) d = 0;
    t += d;
    ts.push(t);
  }
  ts.push(t + d); // dod 0
  const values = new Float64Array(ts.length);
  const v = new DataView(values.buffer);
  const special = [0, -0, 1, 1, 1.5, Infinity, -Infinity, 5e-324, -1e308, 0.1, 0.2, 1 / 3];
  for (let i = 0; i < values.length; i++) values[i] = special[i % special.length];
  v.setUint32(3 * 8 + 4, 0x7ff00000, true); // the stale marker, bits kept exactly
  v.setUint32(3 * 8, 2, true);
  v.setUint32(4 * 8 + 4, 0x7ff80000, true); // Prometheus' normal NaN
  v.setUint32(4 * 8, 1, true);
  roundTrip(ts, values);
});

Deno.test("XOR chunk: random walks, gauges and counters", () => {
  const r = seededRandom(42);
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + Math.floor(r() * SAMPLES_PER_CHUNK);
    const ts: number[] = [];
    const values = new Float64Array(n);
    let t = Math.floor(r() * 2e12);
    let x = r() * 1000;
    for (let i = 0; i < n; i++) {
      t += trial % 3 === 0 ? 1000 : Math.floor(r() * (trial % 2 ? 2000 : 5e6));
      ts.push(t);
      x += trial % 4 === 0 ? Math.floor(r() * 10) : (r() - 0.5) * 10 ** (r() * 10 - 5);
      values[i] = trial % 5 === 0 ? Math.round(x) : x;
    }
    roundTrip(ts, values);
  }
});

Deno.test("XOR chunk: header, reset, reuse and errors", () => {
  const enc = new XorChunkEncoder();
  enc.append(1000, 0x3ff00000, 0); // 1.0
  enc.append(2000, 0x3ff00000, 0);
  enc.append(3000, 0x3ff00000, 0);
  const b = enc.bytes();
  deepStrictEqual([b[0], b[1]], [0, 3]); // 2 bytes: count, big-endian
  strictEqual(enc.minTimeMs, 1000);
  strictEqual(enc.maxTimeMs, 3000);
  // zig-zag varint of 1000 is 2000 = 0xd0 0x0f; 1.0 = 3ff0000000000000; uvarint 1000 = 0xe8 0x07;
  // then '0' (same value), '0' (dod 0), '0' (same value): 3 bits.
  deepStrictEqual(
    Array.from(b),
    [0, 3, 0xd0, 0x0f, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xe8, 0x07, 0x00],
  );
  throws(() => enc.append(2999, 0, 0), RangeError);
  // Ending on a byte boundary after whole-byte fields leaves Prometheus' empty trailing byte.
  const one = new XorChunkEncoder();
  one.append(1000, 0x3ff00000, 0);
  deepStrictEqual(Array.from(one.bytes()), [0, 1, 0xd0, 0x0f, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0]);
  one.append(2000, 0x3ff00000, 0);
  deepStrictEqual(one.bytes().length, 15); // the '0' bit went into that byte
  enc.reset();
  strictEqual(enc.count, 0);
  enc.append(5, 0, 0);
  deepStrictEqual(decodeXorChunk(enc.bytes()).timestampsMs, [5]);
  throws(() => decodeXorChunk(new Uint8Array([0, 2, 0x02])), RangeError);
  ok(decodeXorChunk(new Uint8Array([0, 0])).timestampsMs.length === 0);
});
