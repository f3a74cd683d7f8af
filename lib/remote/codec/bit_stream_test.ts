import { assertEquals } from "../../../tests/support/assert.ts";
import { BitReader, BitWriter, XorValueReader, XorValueWriter } from "./bit_stream.ts";

// Prometheus' varbit buckets: value bits after a prefix of 1…8 ones (`varbit.go`); signed values
// in a w-bit bucket span -(2^(w-1) - 1) … 2^(w-1).
const INT_EDGES: [number, number][] = [ // value, bits written (prefix + value)
  [0, 1],
  [1, 5],
  [4, 5],
  [-3, 5],
  [5, 9],
  [-4, 9],
  [32, 9],
  [-31, 9],
  [33, 13],
  [-32, 13],
  [256, 13],
  [-255, 13],
  [257, 17],
  [2048, 17],
  [-2047, 17],
  [2049, 24],
  [131072, 24],
  [-131071, 24],
  [131073, 32],
  [2 ** 24, 32],
  [-(2 ** 24 - 1), 32],
  [2 ** 24 + 1, 64],
  [2 ** 53 - 1, 64],
  [-(2 ** 53 - 1), 64],
  [1_700_000_000_000, 64],
];

Deno.test("varbit ints: each bucket edge takes the width Prometheus gives it and reads back", () => {
  for (const [v, bits] of INT_EDGES) {
    const w = new BitWriter(0);
    w.varbitInt(v);
    assertEquals(w.bitLength, bits, `width of ${v}`);
    assertEquals(new BitReader(w.bytes(), 0).varbitInt(), v, `value ${v}`);
  }
});

Deno.test("varbit uints: bucket edges and the 64-bit escape read back", () => {
  const edges: [number, number][] = [
    [0, 1],
    [7, 5],
    [8, 9],
    [63, 9],
    [64, 13],
    [511, 13],
    [512, 17],
    [4095, 17],
    [4096, 24],
    [2 ** 18 - 1, 24],
    [2 ** 18, 32],
    [2 ** 25 - 1, 32],
    [2 ** 25, 64],
    [2 ** 53 - 1, 64],
  ];
  for (const [v, bits] of edges) {
    const w = new BitWriter(0);
    w.varbitUint(v);
    assertEquals(w.bitLength, bits, `width of ${v}`);
    assertEquals(new BitReader(w.bytes(), 0).varbitUint(), v, `value ${v}`);
  }
});

Deno.test("XOR values: every bit pattern round-trips through the shared window", () => {
  const values = [0, -0, 1, 1, 1.5, NaN, Infinity, -Infinity, 5e-324, 1e308, 3.14159, 2 ** 52];
  const view = new DataView(new ArrayBuffer(8));
  const words = (x: number): [number, number] => {
    view.setFloat64(0, x);
    return [view.getUint32(0), view.getUint32(4)];
  };
  const w = new BitWriter(0);
  const xw = new XorValueWriter();
  const [h0, l0] = words(values[0]);
  xw.reset(h0, l0);
  for (const v of values.slice(1)) xw.write(w, ...words(v));
  const r = new BitReader(w.bytes(), 0);
  const xr = new XorValueReader();
  xr.start(h0, l0);
  const out: [number, number] = [0, 0];
  for (const v of values.slice(1)) {
    xr.read(r, out);
    assertEquals(out, words(v), `value ${v}`);
  }
});

Deno.test("a stream ending on a byte after a whole-byte write keeps Prometheus' empty trailing byte", () => {
  const w = new BitWriter(0);
  w.bits(0xab, 8);
  assertEquals(Array.from(w.bytes()), [0xab, 0]);
  w.bits(1, 3);
  w.bits(0, 5);
  assertEquals(Array.from(w.bytes()), [0xab, 0x20]); // a bit-wise end: no extra byte
});
