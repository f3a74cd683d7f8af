import { assert, assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { InputError } from "../errors.ts";
import {
  decodeFlac,
  decodeFlacRange,
  decodeFlacStream,
  encodeFlac,
  encodeFlacWithIndex,
  FlacEncoder,
  FlacStreamDecoder,
  readFlacMetadata,
  samplesMd5,
} from "./mod.ts";
import { mixedSignal, signal } from "./test_signals.ts";
import { seededRandom } from "../../tests/support/random.ts";

function same(a: Int32Array[], b: Int32Array[], what: string): void {
  assertEquals(a.length, b.length, `${what}: channel count`);
  for (let c = 0; c < a.length; c++) {
    assertEquals(a[c].length, b[c].length, `${what}: length of channel ${c}`);
    for (let i = 0; i < a[c].length; i++) {
      if (a[c][i] !== b[c][i]) {
        throw new Error(`${what}: channel ${c} sample ${i}: ${a[c][i]} !== ${b[c][i]}`);
      }
    }
  }
}

Deno.test("codec: round trip over bit depths 4–32, 1/2/3/8 channels, levels 0/5/8", () => {
  for (const bps of [4, 5, 8, 12, 16, 17, 20, 24, 27, 28, 31, 32]) {
    for (const nch of [1, 2, 3, 8]) {
      const chans = Array.from({ length: nch }, (_, c) => mixedSignal(700, bps, bps * 10 + c));
      // make stereo pairs correlated so decorrelation gets chosen
      if (nch >= 2) chans[1] = chans[1].map((v, i) => (i % 3 ? chans[0][i] : v));
      for (const level of nch === 8 ? [5] : [0, 5, 8]) {
        const bytes = encodeFlac(chans, { bitsPerSample: bps, level, blockSize: 1024 });
        const d = decodeFlac(bytes);
        same(d.channels, chans, `bps ${bps} ch ${nch} level ${level}`);
        assertEquals(d.bitsPerSample, bps);
        assertEquals(d.md5, samplesMd5(chans, bps));
        assert(d.md5Checked);
      }
    }
  }
});

Deno.test("codec: block sizes 16, 4096, 65535 and a short last block; sample rates incl. 0", () => {
  const x = mixedSignal(3000, 16, 5);
  for (const blockSize of [16, 17, 4096, 65535]) {
    for (const sampleRate of [0, 1, 1000, 44100, 65535, 96000, 700000, 1048575]) {
      const input = x.subarray(0, blockSize === 16 ? 1000 : x.length);
      const bytes = encodeFlac([input], { bitsPerSample: 16, blockSize, sampleRate, level: 2 });
      const d = decodeFlac(bytes);
      same(d.channels, [input], `block ${blockSize} rate ${sampleRate}`);
      assertEquals(d.sampleRate, sampleRate);
      assertEquals(d.metadata.streamInfo.maxBlockSize, blockSize);
    }
  }
  // fewer samples than one block, and no samples at all
  for (const n of [0, 1, 5, 15]) {
    const input = signal("random", n, 24, n);
    const d = decodeFlac(encodeFlac([input, input], { bitsPerSample: 24 }));
    same(d.channels, [input, input], `n ${n}`);
  }
});

Deno.test("codec: full-scale 32-bit extremes, stereo, every level", () => {
  const l = signal("extremes", 5000, 32, 1);
  const r = signal("extremes", 5000, 32, 2);
  for (let level = 0; level <= 8; level++) {
    same(
      decodeFlac(encodeFlac([l, r], { bitsPerSample: 32, level })).channels,
      [l, r],
      `L${level}`,
    );
  }
  const bad = Int32Array.from([0, 128]);
  assertThrows(() => encodeFlac([bad], { bitsPerSample: 8 }), InputError);
});

Deno.test("codec: telemetry compresses (counter, constant, power)", () => {
  const counter = Int32Array.from({ length: 20000 }, (_, i) => 1000000 + i * 15);
  const constant = new Int32Array(20000).fill(4200);
  const power = signal("gpu_power", 20000, 24, 9);
  const bytes = encodeFlac([counter, constant, power], { bitsPerSample: 24 });
  assert(bytes.length < 20000 * 3 * 3 * 0.25, `compressed to ${bytes.length} bytes`);
  const c = encodeFlac([counter], { bitsPerSample: 24 });
  assert(c.length < 1000, `a linear counter takes ${c.length} bytes`);
});

Deno.test("codec: validation of options", () => {
  const x = [new Int32Array(10)];
  assertThrows(() => encodeFlac(x, { bitsPerSample: 3 }), RangeError);
  assertThrows(() => encodeFlac(x, { bitsPerSample: 33 }), RangeError);
  assertThrows(() => encodeFlac(x, { bitsPerSample: 16, blockSize: 15 }), RangeError);
  assertThrows(() => encodeFlac(x, { bitsPerSample: 16, blockSize: 65536 }), RangeError);
  assertThrows(() => encodeFlac(x, { bitsPerSample: 16, level: 9 }), RangeError);
  assertThrows(() => encodeFlac(x, { bitsPerSample: 16, sampleRate: 1048576 }), RangeError);
  assertThrows(
    () => encodeFlac(Array.from({ length: 9 }, () => x[0]), { bitsPerSample: 16 }),
    RangeError,
  );
  assertThrows(() => encodeFlac([x[0], new Int32Array(9)], { bitsPerSample: 16 }), RangeError);
});

Deno.test("codec: metadata blocks (SEEKTABLE, VORBIS_COMMENT, APPLICATION, PADDING) round trip", () => {
  const x = mixedSignal(3000, 16, 2);
  const bytes = encodeFlac([x], {
    bitsPerSample: 16,
    blockSize: 1024,
    seekPointInterval: 4096,
    comments: { WATTWAVE_SERIES: 'power{gpu="0"}', START_MS: "1700000000000" },
    applications: [{ id: "wwv1", data: Uint8Array.from([1, 2, 3]) }],
    padding: 100,
  });
  const d = decodeFlac(bytes);
  same(d.channels, [x], "with metadata");
  const m = d.metadata;
  assertEquals(m.comments, [["WATTWAVE_SERIES", 'power{gpu="0"}'], ["START_MS", "1700000000000"]]);
  assertEquals(m.vendor, "wattwave flac");
  assertEquals(m.applications.map((a) => [a.id, Array.from(a.data)]), [["wwv1", [1, 2, 3]]]);
  const points = m.seekTable!;
  assertEquals(points.length, Math.ceil(x.length / 4096));
  assertEquals(points.map((p) => p.sampleNumber), [0, 4096, 8192, 12288, 16384, 20480]);
  for (const p of points) {
    // each point names a frame header
    const at = m.audioOffset + p.byteOffset;
    assertEquals([bytes[at], bytes[at + 1]], [0xff, 0xf8]);
    assertEquals(p.frameSamples, Math.min(1024, x.length - p.sampleNumber));
  }
});

Deno.test("codec: streaming encoder (odd-sized writes) equals whole-buffer encoding", () => {
  const a = mixedSignal(2000, 20, 3);
  const b = mixedSignal(2000, 20, 4);
  const whole = encodeFlac([a, b], { bitsPerSample: 20, blockSize: 1000 });
  const enc = new FlacEncoder({ channels: 2, bitsPerSample: 20, blockSize: 1000 });
  const parts: Uint8Array[] = [enc.header()];
  const r = seededRandom(1);
  for (let o = 0; o < a.length;) {
    const n = Math.min(a.length - o, Math.floor(r() * 2500));
    parts.push(enc.write([a.subarray(o, o + n), b.subarray(o, o + n)]));
    o += n;
  }
  const done = enc.finish();
  assertEquals(done.header.length, parts[0].length);
  parts[0] = done.header;
  parts.push(done.tail);
  const streamed = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    streamed.set(p, o);
    o += p.length;
  }
  assertEquals(streamed, whole);
  assertEquals(done.streamInfo.totalSamples, a.length);
  assert(
    done.streamInfo.minFrameSize > 0 &&
      done.streamInfo.maxFrameSize >= done.streamInfo.minFrameSize,
  );
});

Deno.test("codec: streaming decoder with random chunking yields the same samples", async () => {
  const x = mixedSignal(5000, 24, 8);
  const y = mixedSignal(5000, 24, 9);
  const bytes = encodeFlac([x, y], { bitsPerSample: 24, blockSize: 4096 });
  const r = seededRandom(5);
  const chunks: Uint8Array[] = [];
  for (let o = 0; o < bytes.length;) {
    const n = 1 + Math.floor(r() * 3000);
    chunks.push(bytes.slice(o, o + n));
    o += n;
  }
  const got = [new Int32Array(x.length), new Int32Array(x.length)];
  let frames = 0;
  let sawMeta = false;
  let ended = false;
  for await (const ev of decodeFlacStream(ReadableStream.from(chunks))) {
    if (ev.type === "metadata") sawMeta = true;
    if (ev.type === "frame") {
      assertEquals(ev.frame.frameNumber, frames++);
      got[0].set(ev.frame.channels[0], ev.frame.sampleOffset);
      got[1].set(ev.frame.channels[1], ev.frame.sampleOffset);
    }
    if (ev.type === "end") {
      ended = true;
      assert(ev.summary.md5Checked);
      assertEquals(ev.summary.totalSamples, x.length);
    }
  }
  assert(sawMeta && ended);
  same(got, [x, y], "streamed");
  // a truncated stream is reported at the end
  const dec = new FlacStreamDecoder();
  dec.push(bytes.subarray(0, bytes.length - 3));
  assertThrows(() => dec.end(), InputError);
});

Deno.test("codec: range decoding with a frame index, a SEEKTABLE, or neither", () => {
  const x = mixedSignal(3000, 16, 11);
  const { bytes, frames } = encodeFlacWithIndex([x], { bitsPerSample: 16, blockSize: 512 });
  const withTable = encodeFlac([x], { bitsPerSample: 16, blockSize: 512, seekPointInterval: 2048 });
  assertEquals(frames.length, Math.ceil(x.length / 512));
  assertEquals(frames[3].sampleOffset, 1536);
  const ranges: [number, number][] = [[0, 0], [0, 511], [511, 512], [1000, 7000], [20000, 20999], [
    x.length - 5,
    x.length + 100,
  ], [x.length + 1, x.length + 10]];
  for (const [first, last] of ranges) {
    const want = x.subarray(first, Math.min(last, x.length - 1) + 1);
    const a = decodeFlacRange(bytes, { firstSample: first, lastSample: last, frames });
    same(a.channels, [want], `index ${first}..${last}`);
    assertEquals(a.firstSample, first);
    const b = decodeFlacRange(withTable, { firstSample: first, lastSample: last });
    same(b.channels, [want], `seektable ${first}..${last}`);
    const c = decodeFlacRange(bytes, { firstSample: first, lastSample: last });
    same(c.channels, [want], `scan ${first}..${last}`);
    if (first > 2048 && first < x.length) {
      // only the covering frames are decoded
      assert(
        a.framesDecoded <= Math.ceil((last - first + 1) / 512) + 1,
        `${a.framesDecoded} frames`,
      );
      assert(
        b.framesDecoded <= Math.ceil((last - first + 1) / 512) + 5,
        `${b.framesDecoded} frames`,
      );
    }
  }
  assertEquals(readFlacMetadata(withTable).seekTable!.length, Math.ceil(x.length / 2048));
});
