import { createHash } from "node:crypto";
import { assertEquals } from "../../tests/support/assert.ts";
import { SampleMd5, samplesMd5 } from "./md5.ts";

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

Deno.test("md5: known answers (empty, 'abc' as 8-bit samples)", () => {
  assertEquals(hex(samplesMd5([new Int32Array(0)], 16)), "d41d8cd98f00b204e9800998ecf8427e");
  assertEquals(
    hex(samplesMd5([Int32Array.from([0x61, 0x62, 0x63])], 8)),
    "900150983cd24fb0d6963f7d28e17f72",
  );
});

Deno.test("md5: little-endian signed, (bps+7)/8 bytes, channels interleaved", () => {
  const expected = (bytes: number[]) =>
    hex(new Uint8Array(createHash("md5").update(Uint8Array.from(bytes)).digest()));
  // 12-bit: 2 bytes each; -2 = FE FF
  assertEquals(
    hex(samplesMd5([Int32Array.from([-2, 0x7ff])], 12)),
    expected([0xfe, 0xff, 0xff, 0x07]),
  );
  // 20-bit stereo: 3 bytes each, interleaved L R L R
  assertEquals(
    hex(samplesMd5([Int32Array.from([1, -1]), Int32Array.from([0x12345, -0x80000])], 20)),
    expected([1, 0, 0, 0x45, 0x23, 0x01, 0xff, 0xff, 0xff, 0x00, 0x00, 0xf8]),
  );
  // 32-bit: 4 bytes
  assertEquals(
    hex(samplesMd5([Int32Array.from([-2147483648, 2147483647])], 32)),
    expected([0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0x7f]),
  );
  // 4-bit: 1 byte, sign-extended
  assertEquals(hex(samplesMd5([Int32Array.from([-8, 7])], 4)), expected([0xf8, 0x07]));
});

Deno.test("md5: incremental updates equal one shot", () => {
  const a = Int32Array.from({ length: 1000 }, (_, i) => (i * 7919) % 65536 - 32768);
  const h = new SampleMd5(16);
  h.update([a], 0, 333);
  h.update([a], 333, 667);
  assertEquals(hex(h.digest()), hex(samplesMd5([a], 16)));
});
