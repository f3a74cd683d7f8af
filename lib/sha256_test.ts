import { strictEqual } from "node:assert/strict";
import { createHash } from "node:crypto";
import { sha256Hex, sha256HexPrefix } from "./sha256.ts";

const reference = (s: string) => createHash("sha256").update(s).digest("hex");

Deno.test("sha256Hex: the FIPS 180-4 test vectors", () => {
  strictEqual(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  strictEqual(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  strictEqual(
    sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
});

Deno.test("sha256Hex: equals node:crypto for every length across block edges and any UTF-8", () => {
  let s = "";
  for (let n = 0; n < 300; n++) {
    strictEqual(sha256Hex(s), reference(s), `length ${n}`);
    s += n % 7 === 0 ? "é" : n % 11 === 0 ? "\u{1F600}" : n % 13 === 0 ? "\xff" : "k";
  }
  const long = "x\xfe".repeat(50_000) + "\u20ac";
  strictEqual(sha256Hex(long), reference(long));
  strictEqual(sha256Hex("abc"), reference("abc")); // after growing the buffer
  for (let i = 0; i < 200; i++) {
    const key = `metric_${i}\xffinstance\xfe10.0.${i}.1:9100\xffjob\xfenode`;
    strictEqual(sha256HexPrefix(key, 16), reference(key).slice(0, 16));
  }
});
