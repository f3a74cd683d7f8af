import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import snappy from "snappyjs";
import {
  snappyDecode,
  snappyEncode,
  snappyEncodeLiteral,
  snappyLiteralHeader,
  snappyLiteralHeaderLength,
} from "./snappy.ts";

/** Deterministic bytes: runs of repeats mixed with noise (what compressors meet). */
function testBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = (x & 3) === 0 ? out[Math.max(0, i - 18)] : x >>> 24;
  }
  return out;
}

Deno.test("snappy literal: header bytes for each literal length class", () => {
  deepStrictEqual([...snappyLiteralHeader(0)], [0x00]);
  deepStrictEqual([...snappyLiteralHeader(1)], [0x01, 0x00]); // length 1: tag (1-1)<<2
  deepStrictEqual([...snappyLiteralHeader(60)], [60, 59 << 2]);
  deepStrictEqual([...snappyLiteralHeader(61)], [61, 60 << 2, 60]); // 1 length byte
  deepStrictEqual([...snappyLiteralHeader(256)], [0x80, 0x02, 60 << 2, 255]);
  deepStrictEqual([...snappyLiteralHeader(257)], [0x81, 0x02, 61 << 2, 0x00, 0x01]);
  deepStrictEqual(
    [...snappyLiteralHeader(0x1000001)],
    [0x81, 0x80, 0x80, 0x08, 63 << 2, 0x00, 0x00, 0x00, 0x01],
  );
  for (
    const n of [0, 1, 59, 60, 61, 255, 256, 257, 65536, 65537, 2 ** 24, 2 ** 24 + 1, 2 ** 32 - 1]
  ) {
    strictEqual(snappyLiteralHeader(n).length, snappyLiteralHeaderLength(n), `n=${n}`);
  }
  throws(() => snappyLiteralHeader(2 ** 32), RangeError);
  throws(() => snappyLiteralHeader(-1), RangeError);
});

Deno.test("snappy literal: snappyjs and our decoder read it back, every length class", () => {
  const sizes = [0, 1, 2, 59, 60, 61, 62, 255, 256, 257, 1000, 65535, 65536, 65537, 70_000];
  sizes.push(2 ** 24 + 3); // a 4-byte literal length
  for (const n of sizes) {
    const data = testBytes(n, n + 7);
    const block = snappyEncodeLiteral(data);
    strictEqual(block.length, snappyLiteralHeaderLength(n) + n);
    deepStrictEqual(new Uint8Array(snappy.uncompress(block)), data, `snappyjs, n=${n}`);
    deepStrictEqual(snappyDecode(block, n), data, `snappyDecode, n=${n}`);
  }
});

Deno.test("snappy literal: fuzz against snappyjs (random lengths and contents)", () => {
  let seed = 99;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let round = 0; round < 300; round++) {
    const n = Math.floor(rand() ** 3 * 300_000);
    const data = testBytes(n, round + 1);
    const block = snappyEncodeLiteral(data);
    deepStrictEqual(new Uint8Array(snappy.uncompress(block)), data, `round ${round}, n=${n}`);
    // The compressed form of the same bytes decodes to the same thing.
    deepStrictEqual(new Uint8Array(snappy.uncompress(snappy.compress(data))), data);
  }
});

Deno.test("snappyDecode: a preamble claiming more than the block could decode to is refused before allocating", () => {
  // 64 MiB claimed (preamble 0x80 0x80 0x80 0x20), then a 1-byte literal: 7 bytes in all.
  const block = new Uint8Array([0x80, 0x80, 0x80, 0x20, 0x00, 0x41, 0x00]);
  throws(() => snappyDecode(block, 128 * 1024 * 1024), /cannot decode to the 67108864 bytes/);
  // Real blocks at their best ratio stay accepted.
  const zeros = new Uint8Array(1 << 20);
  deepStrictEqual(snappyDecode(snappyEncode(zeros), 1 << 21), zeros);
});

Deno.test("snappyDecode: strict — wrong decoded length, bad copy offsets and cut elements are malformed", () => {
  const cases: [string, number[], RegExp][] = [
    [
      "preamble 10, a 3-byte literal",
      [10, 2 << 2, 1, 2, 3],
      /decodes to 3 bytes, its preamble claims 10/,
    ],
    ["preamble 3, a 5-byte literal", [3, 4 << 2, 1, 2, 3, 4, 5], /output longer than the 3 bytes/],
    ["copy offset beyond the output", [8, 1 << 2, 1, 2, 1, 5], /copy offset 5 .* before the start/],
    ["copy offset 0", [8, 1 << 2, 1, 2, 1, 0], /copy offset 0/],
    ["copy cut short", [2, 1 << 2, 1, 2, 9], /copy cut/],
    ["literal runs past the block", [4, 3 << 2, 1], /runs past the block/],
  ];
  for (const [name, bytes, why] of cases) {
    throws(() => snappyDecode(new Uint8Array(bytes), 1 << 20), why, name);
  }
});

Deno.test("snappyDecode: reads what snappyjs compresses, overlapping copies included", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const data = testBytes(seed * 977, seed);
    deepStrictEqual(snappyDecode(snappyEncode(data), 1 << 24), data, `seed ${seed}`);
  }
  const runs = new Uint8Array(100_000).fill(7); // one long overlapping copy chain
  deepStrictEqual(snappyDecode(snappyEncode(runs), 1 << 24), runs);
});
