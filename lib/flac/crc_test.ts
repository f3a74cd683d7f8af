import { assertEquals } from "../../tests/support/assert.ts";
import { crc16, crc8 } from "./crc.ts";

const check = new TextEncoder().encode("123456789");

Deno.test("crc8: known answer (poly 0x07, init 0) for '123456789'", () => {
  assertEquals(crc8(check), 0xf4);
  assertEquals(crc8(new Uint8Array(0)), 0);
});

Deno.test("crc16: known answer (poly 0x8005, init 0, CRC-16/UMTS) for '123456789'", () => {
  assertEquals(crc16(check), 0xfee8);
});

Deno.test("crc8: the header of a frame libFLAC wrote (flac 1.4.2 -5, 48 kHz mid/side 16-bit)", () => {
  // FF F8: sync, fixed blocking; CA: 4096 samples, 48 kHz; A8: mid/side, 16 bit; 00: frame 0
  assertEquals(crc8(Uint8Array.from([0xff, 0xf8, 0xca, 0xa8, 0x00])), 0x30);
});

Deno.test("crc8/crc16: incremental equals one shot", () => {
  assertEquals(crc16(check, 4, 9, crc16(check, 0, 4)), crc16(check));
  assertEquals(crc8(check, 4, 9, crc8(check, 0, 4)), crc8(check));
});
