/**
 * Deterministic test signals for the FLAC tests (not used by the codec): constants, ramps,
 * random noise, full-scale extremes and telemetry-like shapes (RAPL energy counters, GPU power
 * in 0.01 W, CPU % in 0.01 %), clamped to a bit depth.
 *
 * @module
 */
import { seededRandom } from "../../tests/support/random.ts";
import { encodeFlacWithIndex } from "./encoder.ts";
import { parseFrameHeader } from "./frame_header.ts";
import { writeCodedNumber } from "./coded_number.ts";
import { crc16, crc8 } from "./crc.ts";

/** Names of the shapes {@linkcode signal} makes. */
export const SHAPES = [
  "constant",
  "ramp",
  "random",
  "extremes",
  "rapl_counter",
  "gpu_power",
  "cpu_percent",
] as const;

/** One of {@linkcode SHAPES}. */
export type Shape = typeof SHAPES[number];

/** `n` samples of `shape` fitting in `bps` signed bits, seeded by `seed`. */
export function signal(shape: Shape, n: number, bps: number, seed = 1): Int32Array {
  const lo = -(2 ** (bps - 1));
  const hi = 2 ** (bps - 1) - 1;
  const r = seededRandom(seed);
  const out = new Int32Array(n);
  const clamp = (v: number) => Math.max(lo, Math.min(hi, Math.round(v)));
  switch (shape) {
    case "constant": {
      const v = clamp((r() - 0.5) * hi);
      out.fill(v);
      break;
    }
    case "ramp":
      for (let i = 0; i < n; i++) out[i] = clamp(lo + ((hi - lo) * i) / Math.max(1, n - 1));
      break;
    case "random":
      for (let i = 0; i < n; i++) out[i] = clamp(lo + r() * (hi - lo + 1) - 0.5);
      break;
    case "extremes":
      for (let i = 0; i < n; i++) out[i] = r() < 0.5 ? lo : hi;
      break;
    case "rapl_counter": {
      // cumulative energy counter that wraps at the top of the range, like energy_uj
      let acc = 0;
      const span = hi - lo + 1;
      for (let i = 0; i < n; i++) {
        acc += Math.round((hi / 4096) * (0.5 + r()));
        out[i] = clamp(lo + (acc % span));
      }
      break;
    }
    case "gpu_power": {
      // watts × 100 with load phases and noise, scaled into the range
      const scale = Math.min(1, hi / 70000);
      for (let i = 0; i < n; i++) {
        const phase = Math.floor(i / 700) % 3;
        const base = phase === 0 ? 6500 : phase === 1 ? 35000 : 62000;
        out[i] = clamp((base + (r() - 0.5) * 1500 + 800 * Math.sin(i / 40)) * scale);
      }
      break;
    }
    case "cpu_percent": {
      // percent × 100, 0..10000, bursty
      const scale = Math.min(1, hi / 10000);
      let v = 2000;
      for (let i = 0; i < n; i++) {
        v += (r() - 0.5) * 600;
        if (r() < 0.01) v = r() * 10000;
        v = Math.max(0, Math.min(10000, v));
        out[i] = clamp(Math.round(v) * scale);
      }
      break;
    }
  }
  return out;
}

/** All shapes one after another, `each` samples per shape. */
export function mixedSignal(each: number, bps: number, seed = 1): Int32Array {
  const out = new Int32Array(each * SHAPES.length);
  SHAPES.forEach((s, i) => out.set(signal(s, each, bps, seed + i), i * each));
  return out;
}

/**
 * A stream in the old variable-blocksize convention (as flake wrote): the blocking strategy bit
 * says "fixed", STREAMINFO's minimum and maximum block sizes differ, and each frame header codes
 * its first sample's number, not a frame number. Built from single-frame encodings of each
 * block, renumbered, CRCs recomputed.
 */
export function oldVariableBlocksizeStream(signal: Int32Array, blockSizes: number[]): Uint8Array {
  const whole = encodeFlacWithIndex([signal], { bitsPerSample: 16, blockSize: 4096 });
  const head = whole.bytes.slice(0, whole.frames[0].byteOffset);
  const v = new DataView(head.buffer);
  v.setUint16(8, Math.min(...blockSizes)); // STREAMINFO: 16 bits minimum block size
  v.setUint16(10, Math.max(...blockSizes)); // 16 bits maximum block size
  const parts: Uint8Array[] = [head];
  let first = 0;
  for (const n of blockSizes) {
    const one = encodeFlacWithIndex([signal.subarray(first, first + n)], {
      bitsPerSample: 16,
      blockSize: n,
    });
    const f = one.frames[0];
    const frame = one.bytes.subarray(f.byteOffset, f.byteOffset + f.byteLength);
    const h = parseFrameHeader(frame, 0, frame.length);
    if (!("header" in h)) throw new Error("cannot parse the test frame");
    const coded = new Uint8Array(8);
    const codedLength = writeCodedNumber(first, coded, 0); // the first sample's number
    const oldCodedLength = 1; // frame number 0
    const tail = frame.subarray(4 + oldCodedLength, h.header.length - 1); // block size, rate
    const body = frame.subarray(h.header.length, frame.length - 2);
    const out = new Uint8Array(4 + codedLength + tail.length + 1 + body.length + 2);
    out.set(frame.subarray(0, 4), 0); // sync, blocking bit 0 ("fixed"), codes
    out.set(coded.subarray(0, codedLength), 4);
    out.set(tail, 4 + codedLength);
    const headerEnd = 4 + codedLength + tail.length;
    out[headerEnd] = crc8(out, 0, headerEnd); // 8 bits: header CRC-8
    out.set(body, headerEnd + 1);
    const crc = crc16(out, 0, out.length - 2); // 16 bits: frame CRC-16
    out[out.length - 2] = crc >> 8;
    out[out.length - 1] = crc & 0xff;
    parts.push(out);
    first += n;
  }
  const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return bytes;
}
