import { strictEqual } from "node:assert/strict";
import { crc32c } from "./crc32c.ts";

Deno.test("crc32c: known check values", () => {
  const enc = new TextEncoder();
  strictEqual(crc32c(enc.encode("123456789")), 0xe3069283); // the standard check value
  strictEqual(crc32c(new Uint8Array(0)), 0);
  strictEqual(crc32c(new Uint8Array(32)), 0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
  strictEqual(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43); // RFC 3720 B.4: 32 bytes of 0xff
  const inc = new Uint8Array(32).map((_, i) => i);
  strictEqual(crc32c(inc), 0x46dd794e); // RFC 3720 B.4: incrementing bytes
});

Deno.test("crc32c: slicing agrees with the byte-wise tail for every length and split", () => {
  const data = new Uint8Array(100).map((_, i) => (i * 37 + 11) & 0xff);
  for (let n = 0; n <= data.length; n++) {
    const whole = crc32c(data.subarray(0, n));
    for (const split of [0, 1, 7, Math.floor(n / 2)]) {
      if (split > n) continue;
      strictEqual(crc32c(data.subarray(split, n), crc32c(data.subarray(0, split))), whole);
    }
  }
});
