import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { BitReader, BitReaderError } from "./bit_reader.ts";
import { BitWriter } from "./bit_writer.ts";
import { planRice, RicePlan, RiceScratch, writeResidual } from "./rice.ts";
import { seededRandom } from "../../tests/support/random.ts";

Deno.test("rice: known answer for k = 1 and k = 0", () => {
  // residuals 0, -1, 1, 5, -3 fold to 0, 1, 2, 10, 5;
  // k = 1 codes: 1|0, 1|1, 01|0, 000001|0, 001|1 → 10110100 00001000 11(000000)
  const w = new BitWriter();
  w.writeRice(Int32Array.from([0, -1, 1, 5, -3]), 0, 5, 1);
  w.alignToByte();
  assertEquals(Array.from(w.bytes()), [0xb4, 0x08, 0xc0]);
  // k = 0: unary only: 1, 01, 001, 00000000001, 000001
  const w0 = new BitWriter();
  w0.writeRice(Int32Array.from([0, -1, 1, 5, -3]), 0, 5, 0);
  w0.alignToByte();
  assertEquals(Array.from(w0.bytes()), [0xa4, 0x00, 0x82]);
  const out = new Float64Array(5);
  new BitReader(w.bytes()).readRice(out, 0, 5, 1);
  assertEquals(Array.from(out), [0, -1, 1, 5, -3]);
  new BitReader(w0.bytes()).readRice(out, 0, 5, 0);
  assertEquals(Array.from(out), [0, -1, 1, 5, -3]);
});

Deno.test("rice: round trip of every parameter 0..30 including int32 extremes", () => {
  const r = seededRandom(7);
  for (let k = 0; k <= 30; k++) {
    const vals = Int32Array.from({ length: 200 }, (_, i) => {
      // int32 extremes only where the unary part stays short (q = u >> k < 2^17)
      if (i === 0 && k >= 15) return 2147483647;
      if (i === 1 && k >= 15) return -2147483647;
      const mag = 2 ** Math.min(30, k + 2);
      return Math.round((r() - 0.5) * mag);
    });
    const w = new BitWriter(16);
    w.writeSmall(5, 3); // misalign on purpose
    w.writeRice(vals, 0, vals.length, k);
    w.alignToByte();
    const rd = new BitReader(w.bytes());
    assertEquals(rd.readSmall(3), 5);
    const out = new Float64Array(vals.length);
    rd.readRice(out, 0, vals.length, k);
    assertEquals(Array.from(out), Array.from(vals), `k=${k}`);
  }
});

Deno.test("rice: a residual section (partitions, escapes) reads back", () => {
  const n = 4096;
  const r = seededRandom(3);
  const res = Int32Array.from({ length: n }, (_, i) => {
    if (i < 1024) return 0; // all-zero partitions: escape with 0 bits
    if (i < 2048) return Math.round((r() - 0.5) * 20);
    return Math.round((r() - 0.5) * 2 ** 20);
  });
  const plan = new RicePlan();
  const bits = planRice(res, n, 2, 8, new RiceScratch(), plan);
  const w = new BitWriter();
  writeResidual(w, res, n, 2, plan);
  // the estimate is close to the real size
  const real = w.bitLength;
  if (Math.abs(real - bits) > real * 0.05) throw new Error(`estimate ${bits} vs ${real}`);
  w.alignToByte();
  const rd = new BitReader(w.bytes());
  const method = rd.readSmall(2);
  const order = rd.readSmall(4);
  const out = new Float64Array(n);
  let i = 2;
  for (let p = 0; p < 1 << order; p++) {
    const count = (n >> order) - (p === 0 ? 2 : 0);
    const k = rd.readSmall(method ? 5 : 4);
    if (k === (method ? 31 : 15)) {
      const width = rd.readSmall(5);
      for (let j = 0; j < count; j++) out[i + j] = width ? rd.readSigned(width) : 0;
    } else rd.readRice(out, i, count, k);
    i += count;
  }
  assertEquals(Array.from(out.subarray(2)), Array.from(res.subarray(2)));
});

Deno.test("rice: an over-long code is an error, not a hang", () => {
  const zeros = new Uint8Array(1 << 16);
  zeros[zeros.length - 1] = 1;
  assertThrows(() => new BitReader(zeros).readRice(new Float64Array(1), 0, 1, 20), BitReaderError);
});
