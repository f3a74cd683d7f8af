import { deepStrictEqual as assertEquals } from "node:assert";
import { mapValues, minimalScale, unmapValues } from "./value_map.ts";

function bitsOf(values: Float64Array): string[] {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
  const out: string[] = [];
  for (let i = 0; i < values.length; i++) {
    out.push(
      words[2 * i + 1].toString(16).padStart(8, "0") + words[2 * i].toString(16).padStart(8, "0"),
    );
  }
  return out;
}

function fromBits(hex: string[]): Float64Array {
  const out = new Float64Array(hex.length);
  const words = new Uint32Array(out.buffer);
  hex.forEach((h, i) => {
    words[2 * i + 1] = parseInt(h.slice(0, 8), 16);
    words[2 * i] = parseInt(h.slice(8), 16);
  });
  return out;
}

function roundTrip(values: Float64Array): ReturnType<typeof mapValues> {
  const mapped = mapValues(values);
  const out = new Float64Array(values.length);
  unmapValues(mapped.mode, mapped.scale, mapped.channels, mapped.exceptions, out);
  assertEquals(bitsOf(out), bitsOf(values));
  return mapped;
}

Deno.test("minimalScale finds the decimal scale", () => {
  assertEquals(minimalScale(42), 0);
  assertEquals(minimalScale(69.85), 2);
  assertEquals(minimalScale(0.1), 1);
  assertEquals(minimalScale(-0), -1);
  assertEquals(minimalScale(NaN), -1);
  assertEquals(minimalScale(Infinity), -1);
  assertEquals(minimalScale(5e-324), -1);
  assertEquals(minimalScale(Math.PI), 15);
  assertEquals(minimalScale(1 / 3), -1);
  assertEquals(minimalScale(0.123456789012345), 15);
});

Deno.test("decimal blocks map to one 32-bit channel", () => {
  const m = roundTrip(new Float64Array([69.85, 70.1, 71, 0, -3.25]));
  assertEquals(m.mode, "dec");
  assertEquals(m.scale, 2);
  assertEquals(Array.from(m.channels[0]), [6985, 7010, 7100, 0, -325]);
});

Deno.test("large integers map to two channels", () => {
  const m = roundTrip(new Float64Array([2 ** 53, 2 ** 53 - 1, -(2 ** 53), 1e12, 12345678901]));
  assertEquals(m.mode, "dec2");
  assertEquals(m.scale, 0);
});

Deno.test("specials become exceptions and round-trip bit for bit", () => {
  const values = fromBits([
    "7ff0000000000002", // StaleNaN
    "4051766666666666", // 69.85
    "7ff8000000000001", // Prometheus NaN
    "8000000000000000", // -0
    "7ff0000000000000", // +Inf
    "fff0000000000000", // -Inf
    "0000000000000001", // smallest subnormal
    "7ff4000000000abc", // signalling NaN with payload
  ]);
  const v = new Float64Array(32);
  v.set(values);
  for (let i = values.length; i < v.length; i++) v[i] = i / 4;
  const m = roundTrip(v);
  assertEquals(m.mode, "dec");
  assertEquals(m.exceptions.length / 3, 7);
});

Deno.test("arbitrary doubles fall back to raw bits", () => {
  const v = new Float64Array(100);
  for (let i = 0; i < v.length; i++) v[i] = Math.sin(i) * 1e3;
  const m = roundTrip(v);
  assertEquals(m.mode, "f64");
});

Deno.test("unmapValues decodes a sub-range with exceptions", () => {
  const v = new Float64Array([1.5, 2.5, NaN, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5]);
  const m = mapValues(v);
  const channels = m.channels.map((c) => c.subarray(2));
  const out = new Float64Array(3);
  unmapValues(m.mode, m.scale, channels, m.exceptions, out, { from: 3, channelStart: 2 });
  assertEquals(Array.from(out), [3.5, 4.5, 5.5]);
  unmapValues(m.mode, m.scale, channels, m.exceptions, out, { from: 2, channelStart: 2 });
  assertEquals(bitsOf(out), bitsOf(v.subarray(2, 5)));
});

Deno.test("mapValues: a single value round-trips bit for bit (the one-value fast path)", () => {
  const cases = [0, -0, 1, -1, 69.85, 0.1, 1e20, -2147483648, 2147483648, 5e-324, NaN, Infinity];
  for (const v of cases) {
    const values = Float64Array.of(v);
    const m = mapValues(values);
    const out = new Float64Array(1);
    unmapValues(m.mode, m.scale, m.channels, m.exceptions, out);
    const a = new Uint32Array(values.buffer);
    const b = new Uint32Array(out.buffer);
    if (a[0] !== b[0] || a[1] !== b[1]) throw new Error(`${v} came back as ${out[0]} (${m.mode})`);
  }
});
