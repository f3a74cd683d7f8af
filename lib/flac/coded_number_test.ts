import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { codedNumberLength, readCodedNumber, writeCodedNumber } from "./coded_number.ts";

const cases: [number, number[]][] = [
  [0, [0x00]],
  [0x7f, [0x7f]],
  [0x80, [0xc2, 0x80]],
  [0x7ff, [0xdf, 0xbf]],
  [0x800, [0xe0, 0xa0, 0x80]],
  [0xffff, [0xef, 0xbf, 0xbf]],
  [0x10000, [0xf0, 0x90, 0x80, 0x80]],
  [0x1fffff, [0xf7, 0xbf, 0xbf, 0xbf]],
  [0x200000, [0xf8, 0x88, 0x80, 0x80, 0x80]],
  [0x3ffffff, [0xfb, 0xbf, 0xbf, 0xbf, 0xbf]],
  [0x4000000, [0xfc, 0x84, 0x80, 0x80, 0x80, 0x80]],
  [0x7fffffff, [0xfd, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf]],
  [0x80000000, [0xfe, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80]],
  [2 ** 36 - 1, [0xfe, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf]],
];

Deno.test("coded numbers: known answers both ways", () => {
  for (const [value, bytes] of cases) {
    const out = new Uint8Array(8);
    const len = writeCodedNumber(value, out, 1);
    assertEquals(Array.from(out.subarray(1, 1 + len)), bytes, `write ${value}`);
    assertEquals(codedNumberLength(value), bytes.length);
    const back = readCodedNumber(Uint8Array.from(bytes), 0, bytes.length, 7);
    assertEquals(back, { value, length: bytes.length }, `read ${value}`);
  }
});

Deno.test("coded numbers: frame numbers are at most 6 bytes; bad bytes are reported", () => {
  const seven = Uint8Array.from(cases[cases.length - 1][1]);
  assertEquals(typeof readCodedNumber(seven, 0, 7, 6).error, "string");
  assertEquals(typeof readCodedNumber(Uint8Array.from([0x80]), 0, 1).error, "string");
  assertEquals(typeof readCodedNumber(Uint8Array.from([0xc2, 0x00]), 0, 2).error, "string");
  assertEquals(typeof readCodedNumber(Uint8Array.from([0xff, 0xbf]), 0, 2).error, "string");
  assertEquals(
    readCodedNumber(Uint8Array.from([0xe0, 0xa0]), 0, 2).error,
    "truncated coded number",
  );
  assertThrows(() => writeCodedNumber(2 ** 36, new Uint8Array(8), 0), RangeError);
  assertThrows(() => writeCodedNumber(-1, new Uint8Array(8), 0), RangeError);
});
