import { assertEquals } from "../../../tests/support/assert.ts";
import {
  floatCustomHistogram,
  histogramSeries,
  integerHistogram,
} from "../../../tests/support/histograms.ts";
import type { NativeHistogram } from "../../model/histogram.ts";
import { formatHistogramObject } from "../../ndjson/histogram_line.ts";
import {
  decodeHistogramChunk,
  HistogramChunkEncoder,
  HISTOGRAMS_PER_CHUNK,
} from "./histogram_chunk.ts";

/** Encodes `hs` into chunks as serve-read does; returns each chunk's bytes. */
function encodeAll(hs: NativeHistogram[]): Uint8Array[] {
  const enc = new HistogramChunkEncoder();
  const chunks: Uint8Array[] = [];
  for (const h of hs) {
    if (!enc.canAppend(h)) {
      chunks.push(enc.bytes().slice());
      enc.reset();
    }
    enc.append(h);
  }
  if (enc.count) chunks.push(enc.bytes().slice());
  return chunks;
}

// What survives a chunk: everything but the reset hint of a chunk's later samples (always "no"
// there, as Prometheus reads them) and the fields of a stale marker (it carries only its sum).
function comparable(h: NativeHistogram): string {
  return String(h.timestampMs) + formatHistogramObject({ ...h, resetHint: 0 });
}

Deno.test("histogram chunks: a series with a layout change, a reset and a stale marker round-trips", () => {
  const hs = histogramSeries(1_700_000_000_000, 400);
  const chunks = encodeAll(hs);
  // 120 per chunk; a new chunk at the layout change, the reset and the stale marker's successor
  assertEquals(chunks.length >= 5, true);
  const back = chunks.flatMap((c) => decodeHistogramChunk(c));
  assertEquals(back.length, hs.length);
  for (let i = 0; i < hs.length - 1; i++) {
    assertEquals(comparable(back[i]), comparable(hs[i]), `#${i}`);
  }
  assertEquals(back.at(-1)!.sum.nanBits, "7ff0000000000002");
  // the reset hint of the sample that reset is in its chunk's header
  assertEquals(back[266].resetHint, 1);
  for (const c of chunks) {
    assertEquals(((c[0] << 8) | c[1]) <= HISTOGRAMS_PER_CHUNK, true);
  }
});

Deno.test("histogram chunks: custom bounds, gauge hint and a raw zero threshold round-trip", () => {
  const g = { ...floatCustomHistogram(5), isFloat: false, positiveCounts: new Float64Array(0) };
  g.positiveDeltas = [1, 2, -1];
  g.count = { value: 5 };
  g.zeroCount = { value: 0 };
  g.sum = { value: 2.5 };
  g.customValues = new Float64Array([0.1, 0.5, 1, 1e300, -3]).subarray(0, 3);
  const g2 = { ...g, timestampMs: 6, positiveDeltas: [0, 0, 0], count: { value: 0 } };
  const chunks = encodeAll([g, g2, integerHistogram(7)]);
  assertEquals(chunks.length, 2);
  const back = chunks.flatMap((c) => decodeHistogramChunk(c));
  assertEquals(back.map(comparable), [g, g2, integerHistogram(7)].map(comparable));
  assertEquals(back[0].resetHint, 3);
  assertEquals(back[1].resetHint, 3);
});

Deno.test("float histogram chunks: counts, custom bounds and a stale marker round-trip", () => {
  const hs: NativeHistogram[] = [];
  for (let i = 0; i < 150; i++) {
    const h = floatCustomHistogram(1000 * i);
    h.resetHint = 0;
    h.count = { value: 7.5 + i * 0.25 };
    h.sum = { value: i * 1.1 };
    h.positiveCounts = new Float64Array([1.5 + i / 8, 2, 4 + i / 16]);
    hs.push(h);
  }
  hs.push(floatCustomHistogram(200_000)); // stale (its sum), gauge: a chunk of its own
  const enc = new HistogramChunkEncoder();
  const chunks: Uint8Array[] = [];
  for (const h of hs) {
    if (!enc.canAppend(h)) {
      assertEquals(enc.encoding, 3);
      chunks.push(enc.bytes().slice());
      enc.reset();
    }
    enc.append(h);
  }
  chunks.push(enc.bytes().slice());
  assertEquals(chunks.length, 3);
  const back = chunks.flatMap((c) => decodeHistogramChunk(c, 3));
  for (let i = 0; i < 150; i++) assertEquals(comparable(back[i]), comparable(hs[i]), `#${i}`);
  assertEquals(back[150].sum.nanBits, "7ff0000000000002");
  assertEquals(back[150].isFloat, true);
});

Deno.test("histogram chunks: integer and float histograms do not share a chunk; a cut chunk is an error", () => {
  const enc = new HistogramChunkEncoder();
  enc.append(integerHistogram(0));
  assertEquals(enc.canAppend(floatCustomHistogram(1)), false);
  const [chunk] = encodeAll([integerHistogram(1), integerHistogram(2)]);
  let err = "";
  try {
    decodeHistogramChunk(chunk.subarray(0, chunk.length - 4));
  } catch (e) {
    err = (e as Error).message;
  }
  assertEquals(err, "histogram chunk is truncated");
});
