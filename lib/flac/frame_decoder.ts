/**
 * Decoding one FLAC frame (RFC 9639 section 9): header checks against STREAMINFO, the
 * subframes of every type, wasted bits, stereo decorrelation and the CRC-16. Samples are
 * reconstructed exactly in doubles (a 33-bit side channel and 32-bit LPC fit well below 2^53)
 * and written to Int32Array outputs.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { BitReader, BitReaderError, BitReaderOverrun } from "./bit_reader.ts";
import { crc16 } from "./crc.ts";
import { ChannelAssignment, type FrameHeader, parseFrameHeader } from "./frame_header.ts";
import type { StreamInfo } from "./metadata.ts";

/** Largest block size a frame header can state. */
export const MAX_FRAME_BLOCK_SIZE = 65536;

/** A decoded frame's description; its samples are in the decoder until the next frame. */
export interface DecodedFrameInfo {
  /** The parsed header. */
  header: FrameHeader;
  /** Bits per sample in effect (from the header or STREAMINFO). */
  bitsPerSample: number;
  /** Frame length in bytes, CRC-16 included. */
  length: number;
}

/** Decodes frames one at a time into reusable buffers. */
export class FrameDecoder {
  #sub: Float64Array[] = [];
  #reader = new BitReader(new Uint8Array(0));
  #coefs = new Float64Array(32);
  #n = 0;
  #assignment = 0;

  /**
   * Decodes the frame at `bytes[offset]`, reading no further than `end`. Returns null when the
   * frame does not fit in `bytes[offset, end)` (truncated, or more data needed when
   * streaming). Throws an {@linkcode InputError} naming the byte offset and frame number for
   * anything malformed, including CRC mismatches.
   */
  decode(
    bytes: Uint8Array,
    offset: number,
    end: number,
    info: StreamInfo,
    frameIndex: number,
    streamOffset = 0,
  ): DecodedFrameInfo | null {
    const where = `byte ${streamOffset + offset}, frame ${frameIndex}`;
    // STREAMINFO's minimum and maximum block sizes differ: the old variable-blocksize
    // convention numbers frames by their first sample even under a "fixed" blocking bit.
    const hp = parseFrameHeader(bytes, offset, end, {
      sampleNumbered: info.minBlockSize !== info.maxBlockSize,
    });
    if ("truncated" in hp) return null;
    if ("error" in hp) throw new InputError(hp.error, { where });
    const h = hp.header;
    const bps = h.bitsPerSample || info.bitsPerSample;
    if (h.bitsPerSample && h.bitsPerSample !== info.bitsPerSample) {
      throw new InputError(
        `frame says ${h.bitsPerSample} bits per sample, STREAMINFO says ${info.bitsPerSample}`,
        { where },
      );
    }
    if (h.channels !== info.channels) {
      throw new InputError(
        `frame has ${h.channels} channels, STREAMINFO says ${info.channels}`,
        { where },
      );
    }
    if (h.sampleRate && info.sampleRate && h.sampleRate !== info.sampleRate) {
      throw new InputError(
        `frame sample rate ${h.sampleRate} Hz differs from STREAMINFO's ${info.sampleRate} Hz`,
        { where },
      );
    }
    const n = h.blockSize;
    while (this.#sub.length < h.channels) this.#sub.push(new Float64Array(0));
    for (let c = 0; c < h.channels; c++) {
      if (this.#sub[c].length < n) this.#sub[c] = new Float64Array(Math.max(n, 4096));
    }
    const r = this.#reader;
    r.buf = bytes;
    r.end = end;
    r.seekByte(offset + h.length);
    try {
      for (let c = 0; c < h.channels; c++) {
        const a = h.channelAssignment;
        const side = (a === ChannelAssignment.LEFT_SIDE && c === 1) ||
          (a === ChannelAssignment.SIDE_RIGHT && c === 0) ||
          (a === ChannelAssignment.MID_SIDE && c === 1);
        this.#subframe(r, this.#sub[c], n, bps + (side ? 1 : 0));
      }
      r.alignToByte();
      if (r.overrun) return null;
    } catch (e) {
      if (e instanceof BitReaderOverrun || r.pos > end) return null;
      if (e instanceof BitReaderError) throw new InputError(e.message, { where });
      throw e;
    }
    const crcPos = r.bytePosition;
    if (crcPos + 2 > end) return null;
    const stored = (bytes[crcPos] << 8) | bytes[crcPos + 1]; // 16 bits: frame CRC-16
    const computed = crc16(bytes, offset, crcPos);
    if (stored !== computed) {
      throw new InputError(
        `frame CRC-16 mismatch (computed ${computed.toString(16)}, stored ${stored.toString(16)})`,
        { where },
      );
    }
    this.#n = n;
    this.#assignment = h.channelAssignment;
    return { header: h, bitsPerSample: bps, length: crcPos + 2 - offset };
  }

  #subframe(r: BitReader, out: Float64Array, n: number, bps: number): void {
    if (r.readSmall(1) !== 0) throw new BitReaderError("subframe padding bit is set"); // 1 bit: zero
    const type = r.readSmall(6); // 6 bits: subframe type
    let wasted = 0;
    if (r.readSmall(1)) wasted = r.readUnary(bps) + 1; // wasted-bits flag, unary count - 1
    if (wasted >= bps) throw new BitReaderError(`${wasted} wasted bits of ${bps}`);
    const sbps = bps - wasted;
    if (type === 0) {
      out.fill(r.readSigned(sbps), 0, n); // CONSTANT: one value
    } else if (type === 1) {
      for (let i = 0; i < n; i++) out[i] = r.readSigned(sbps); // VERBATIM: every sample
    } else if (type >= 8 && type <= 12) {
      const order = type - 8; // FIXED predictor order
      if (order > n) throw new BitReaderError(`FIXED order ${order} exceeds block size ${n}`);
      for (let i = 0; i < order; i++) out[i] = r.readSigned(sbps); // warm-up samples
      this.#residual(r, out, n, order);
      restoreFixed(out, n, order);
    } else if (type >= 32) {
      const order = type - 31; // LPC order
      if (order > n) throw new BitReaderError(`LPC order ${order} exceeds block size ${n}`);
      for (let i = 0; i < order; i++) out[i] = r.readSigned(sbps); // warm-up samples
      const precision = r.readSmall(4) + 1; // 4 bits: coefficient precision - 1
      if (precision === 16) throw new BitReaderError("invalid LPC coefficient precision 0b1111");
      const shift = r.readSigned(5); // 5 bits: prediction right shift
      if (shift < 0) throw new BitReaderError(`negative LPC shift ${shift}`);
      const coefs = this.#coefs;
      for (let j = 0; j < order; j++) coefs[j] = r.readSigned(precision); // coefficients
      this.#residual(r, out, n, order);
      restoreLpc(out, n, coefs, order, shift);
    } else {
      throw new BitReaderError(`reserved subframe type ${type}`);
    }
    if (wasted > 0) {
      const m = 2 ** wasted;
      for (let i = 0; i < n; i++) out[i] *= m;
    }
  }

  #residual(r: BitReader, out: Float64Array, n: number, order: number): void {
    const method = r.readSmall(2); // 2 bits: coding method
    if (method > 1) throw new BitReaderError(`reserved residual coding method ${method}`);
    const porder = r.readSmall(4); // 4 bits: partition order
    const psize = n >> porder;
    if ((psize << porder) !== n) {
      throw new BitReaderError(`block size ${n} not divisible into 2^${porder} partitions`);
    }
    if (psize < order) {
      throw new BitReaderError(`partition of ${psize} samples is shorter than order ${order}`);
    }
    const pbits = method === 1 ? 5 : 4;
    const escape = (1 << pbits) - 1;
    const parts = 1 << porder;
    let i = order;
    for (let p = 0; p < parts; p++) {
      const count = p === 0 ? psize - order : psize;
      const k = r.readSmall(pbits); // 4 or 5 bits: Rice parameter
      if (k === escape) {
        const width = r.readSmall(5); // 5 bits: raw bits per residual
        if (width === 0) out.fill(0, i, i + count);
        else for (let j = 0; j < count; j++) out[i + j] = r.readSigned(width); // raw residuals
      } else {
        r.readRice(out, i, count, k); // Rice codes
      }
      i += count;
    }
  }

  /**
   * Writes samples `[first, first + count)` of the last decoded frame to `targets[c]` at
   * `targetOffset`, undoing the stereo decorrelation.
   */
  output(targets: Int32Array[], targetOffset: number, first = 0, count = this.#n - first): void {
    const s = this.#sub;
    const end = first + count;
    const t0 = targets[0], t1 = targets[1];
    let o = targetOffset;
    switch (this.#assignment) {
      case ChannelAssignment.LEFT_SIDE: {
        const l = s[0], d = s[1];
        for (let i = first; i < end; i++, o++) {
          t0[o] = l[i];
          t1[o] = l[i] - d[i];
        }
        return;
      }
      case ChannelAssignment.SIDE_RIGHT: {
        const d = s[0], rr = s[1];
        for (let i = first; i < end; i++, o++) {
          t0[o] = d[i] + rr[i];
          t1[o] = rr[i];
        }
        return;
      }
      case ChannelAssignment.MID_SIDE: {
        const m = s[0], d = s[1];
        for (let i = first; i < end; i++, o++) {
          const side = d[i];
          const mid2 = m[i] * 2 + (side & 1);
          t0[o] = (mid2 + side) / 2;
          t1[o] = (mid2 - side) / 2;
        }
        return;
      }
      default:
        for (let c = 0; c < targets.length; c++) {
          const src = s[c], dst = targets[c];
          for (let i = first, oo = targetOffset; i < end; i++, oo++) dst[oo] = src[i];
        }
    }
  }
}

/** Undoes a FIXED predictor in place (`x[0, order)` are warm-up samples, the rest residuals). */
function restoreFixed(x: Float64Array, n: number, order: number): void {
  switch (order) {
    case 0:
      return;
    case 1:
      for (let i = 1; i < n; i++) x[i] += x[i - 1];
      return;
    case 2:
      for (let i = 2; i < n; i++) x[i] += 2 * x[i - 1] - x[i - 2];
      return;
    case 3:
      for (let i = 3; i < n; i++) x[i] += 3 * x[i - 1] - 3 * x[i - 2] + x[i - 3];
      return;
    default:
      for (let i = 4; i < n; i++) {
        x[i] += 4 * x[i - 1] - 6 * x[i - 2] + 4 * x[i - 3] - x[i - 4];
      }
  }
}

/** Undoes an LPC predictor in place. */
function restoreLpc(
  x: Float64Array,
  n: number,
  c: Float64Array,
  order: number,
  shift: number,
): void {
  const inv = 2 ** -shift;
  if (order === 1) {
    const c0 = c[0];
    for (let i = 1; i < n; i++) x[i] += Math.floor(c0 * x[i - 1] * inv);
    return;
  }
  if (order === 2) {
    const c0 = c[0], c1 = c[1];
    for (let i = 2; i < n; i++) x[i] += Math.floor((c0 * x[i - 1] + c1 * x[i - 2]) * inv);
    return;
  }
  if (order <= 8) {
    const c0 = c[0], c1 = c[1], c2 = c[2];
    const c3 = order > 3 ? c[3] : 0, c4 = order > 4 ? c[4] : 0, c5 = order > 5 ? c[5] : 0;
    const c6 = order > 6 ? c[6] : 0, c7 = order > 7 ? c[7] : 0;
    // the first 8 samples: generic, then a fixed-width unrolled loop (zero coefficients pad)
    const start = Math.min(8, n);
    for (let i = order; i < start; i++) {
      let s = 0;
      for (let j = 0; j < order; j++) s += c[j] * x[i - 1 - j];
      x[i] += Math.floor(s * inv);
    }
    for (let i = start; i < n; i++) {
      const s = c0 * x[i - 1] + c1 * x[i - 2] + c2 * x[i - 3] + c3 * x[i - 4] + c4 * x[i - 5] +
        c5 * x[i - 6] + c6 * x[i - 7] + c7 * x[i - 8];
      x[i] += Math.floor(s * inv);
    }
    return;
  }
  for (let i = order; i < n; i++) {
    let s = 0;
    for (let j = 0; j < order; j++) s += c[j] * x[i - 1 - j];
    x[i] += Math.floor(s * inv);
  }
}
