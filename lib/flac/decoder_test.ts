import { assert, assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { InputError } from "../errors.ts";
import { crc8 } from "./crc.ts";
import { decodeFlac, encodeFlac, FlacStreamDecoder, readFlacMetadata } from "./mod.ts";
import { mixedSignal, oldVariableBlocksizeStream } from "./test_signals.ts";
import { seededRandom } from "../../tests/support/random.ts";

const left = mixedSignal(160, 16, 21);
const right = mixedSignal(160, 16, 22).map((v, i) => (i % 2 ? v : left[i]));
const good = encodeFlac([left, right], { bitsPerSample: 16, blockSize: 256, sampleRate: 1000 });

function equalsInput(channels: Int32Array[]): boolean {
  if (channels.length !== 2 || channels[0].length !== left.length) return false;
  for (let i = 0; i < left.length; i++) {
    if (channels[0][i] !== left[i] || channels[1][i] !== right[i]) return false;
  }
  return true;
}

/** Decodes; returns "error" for an InputError, "same" for the original samples, else fails. */
function outcome(bytes: Uint8Array, what: string): "error" | "same" {
  let d;
  try {
    d = decodeFlac(bytes);
  } catch (e) {
    if (e instanceof InputError) return "error";
    throw new Error(`${what}: ${e}`);
  }
  if (!equalsInput(d.channels)) throw new Error(`${what}: wrong samples returned without error`);
  return "same";
}

Deno.test("decoder: one flipped bit anywhere is reported or harmless, never wrong data", () => {
  const audio = readFlacMetadata(good).audioOffset;
  const bad = good.slice();
  let silent = 0;
  for (let byte = 0; byte < good.length; byte++) {
    for (let bit = 0; bit < 8; bit++) {
      bad[byte] ^= 1 << bit;
      const r = outcome(bad, `flip byte ${byte} bit ${bit}`);
      bad[byte] ^= 1 << bit;
      if (r === "same") {
        // only fields that do not describe the samples may change silently: the
        // STREAMINFO block sizes (bytes 8..11) and frame sizes (12..17)
        assert(
          byte >= 8 && byte < 18,
          `flip at byte ${byte} (audio starts at ${audio}) went unnoticed`,
        );
        silent++;
      }
    }
  }
  assert(silent <= 80, `${silent} silent flips`);
});

Deno.test("decoder: every truncation is reported, with the byte offset", () => {
  for (let n = 0; n < good.length; n++) {
    const e = assertThrows(() => decodeFlac(good.subarray(0, n)), InputError);
    assert(e.message.length > 0);
  }
  const e = assertThrows(() => decodeFlac(good.subarray(0, good.length - 1)), InputError);
  assert(/byte \d+/.test(e.message), e.message);
});

Deno.test("decoder: damage messages name the frame and what is wrong", () => {
  const audio = readFlacMetadata(good).audioOffset;
  const bad = good.slice();
  bad[audio + 10] ^= 0x10; // inside frame 0
  const e = assertThrows(() => decodeFlac(bad), InputError);
  assert(/frame 0/.test(e.message), e.message);
  const md = good.slice();
  md[8 + 4 + 18] ^= 1; // first MD5 byte of STREAMINFO
  assert(/MD5/.test(assertThrows(() => decodeFlac(md), InputError).message));
  assert(
    /not a FLAC stream/.test(
      assertThrows(() => decodeFlac(new Uint8Array(10)), InputError).message,
    ),
  );
});

Deno.test("decoder: random bytes and random frames give errors quickly, never crashes", () => {
  const r = seededRandom(99);
  const audio = readFlacMetadata(good).audioOffset;
  const t0 = performance.now();
  for (let k = 0; k < 400; k++) {
    const junk = Uint8Array.from(
      { length: 64 + Math.floor(r() * 4000) },
      () => Math.floor(r() * 256),
    );
    // plain junk
    assertThrows(() => decodeFlac(junk), InputError);
    // valid metadata, junk frames (often starting with a valid-looking sync code)
    const mixed = new Uint8Array(audio + junk.length);
    mixed.set(good.subarray(0, audio));
    mixed.set(junk, audio);
    if (k % 2) {
      mixed[audio] = 0xff;
      mixed[audio + 1] = 0xf8;
    }
    assertThrows(() => decodeFlac(mixed), InputError);
    const s = new FlacStreamDecoder();
    assertThrows(() => {
      s.push(mixed);
      s.end();
    }, InputError);
  }
  assert(performance.now() - t0 < 20000, "fuzzing took too long");
});

Deno.test("decoder: lying sizes do not cause huge allocations", () => {
  // STREAMINFO claims 2^36 - 1 samples and 65535-sample blocks; the stream holds one tiny frame
  const x = Int32Array.from([1, 2, 3]);
  const bytes = encodeFlac([x], { bitsPerSample: 16 });
  const lie = bytes.slice();
  lie[8 + 4 + 13] |= 0x0f; // top 4 bits of total samples
  lie.fill(0xff, 8 + 4 + 14, 8 + 4 + 18);
  assert(/STREAMINFO says/.test(assertThrows(() => decodeFlac(lie), InputError).message));
  // a frame header claiming 65536 samples with a CONSTANT subframe per frame, repeated
  const audio = readFlacMetadata(bytes).audioOffset;
  const frame = [0xff, 0xf8, 0x70, 0x08, 0x00, 0xff, 0xff]; // 16-bit block size - 1 = 65535
  frame.push(crc8(Uint8Array.from(frame)));
  const huge = Uint8Array.from([
    ...bytes.subarray(0, audio),
    ...frame,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
  ]);
  assertThrows(() => decodeFlac(huge), InputError);
  // a metadata block longer than the input
  const longBlock = bytes.slice(0, 12);
  longBlock[4] = 0x84; // last block, VORBIS_COMMENT... with length from the next 3 bytes
  longBlock[5] = 0xff;
  assertThrows(() => decodeFlac(longBlock), InputError);
});

Deno.test("decoder: a frame that disagrees with STREAMINFO is rejected", () => {
  const mono = encodeFlac([left], { bitsPerSample: 16, blockSize: 256 });
  const audio = readFlacMetadata(mono).audioOffset;
  const bad = mono.slice();
  bad[audio + 3] = (1 << 4) | (bad[audio + 3] & 0x0f); // channel assignment: 2 channels
  bad[audio + 5] = crc8(bad, audio, audio + 5); // keep the header CRC right
  assert(/channels/.test(assertThrows(() => decodeFlac(bad), InputError).message));
  assertEquals(decodeFlac(mono).channels[0], left);
});

Deno.test("decoder: the old variable-blocksize convention (fixed bit, sample numbers, min ≠ max)", () => {
  const sizes = [1000, 3000, 200, 4096, 704];
  const all = mixedSignal(2000, 16, 7);
  const signal = all.subarray(0, sizes.reduce((a, b) => a + b, 0));
  const bytes = oldVariableBlocksizeStream(signal, sizes);
  const d = decodeFlac(bytes); // MD5 checked against STREAMINFO's
  assertEquals(d.channels[0], signal);
  // Streaming, in small chunks, gives the same samples with each frame's first sample right.
  const s = new FlacStreamDecoder();
  const got = new Int32Array(signal.length);
  const starts: number[] = [];
  for (let i = 0; i < bytes.length; i += 97) {
    for (const f of s.push(bytes.subarray(i, i + 97))) {
      got.set(f.channels[0], f.sampleOffset);
      starts.push(f.sampleOffset);
    }
  }
  s.end();
  assertEquals(starts, [0, 1000, 4000, 4200, 8296]);
  assertEquals(got, signal);
});
