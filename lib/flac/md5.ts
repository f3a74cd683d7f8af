/**
 * MD5 of decoded samples as FLAC's STREAMINFO defines it (RFC 9639 section 8.2): every sample
 * as a little-endian signed integer of ceil(bitsPerSample / 8) bytes, channels interleaved.
 * Web Crypto has no MD5, so this uses `node:crypto`.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";

/** Incremental MD5 over blocks of per-channel samples. Reuses one byte buffer. */
export class SampleMd5 {
  #hash: Hash = createHash("md5");
  #bytesPerSample: number;
  #scratch: Uint8Array = new Uint8Array(0);

  /** A hasher for samples of `bitsPerSample` bits (4–32). */
  constructor(bitsPerSample: number) {
    this.#bytesPerSample = (bitsPerSample + 7) >> 3;
  }

  /** Hashes samples `[offset, offset + count)` of every channel, interleaved. */
  update(channels: ArrayLike<Int32Array>, offset: number, count: number): void {
    const nch = channels.length;
    const bps = this.#bytesPerSample;
    const need = count * nch * bps;
    if (this.#scratch.length < need) this.#scratch = new Uint8Array(Math.max(need, 4096));
    const out = this.#scratch;
    let p = 0;
    if (nch === 1) {
      const c = channels[0];
      if (bps === 2) {
        for (let i = offset, e = offset + count; i < e; i++) {
          const v = c[i];
          out[p] = v;
          out[p + 1] = v >> 8;
          p += 2;
        }
      } else if (bps === 3) {
        for (let i = offset, e = offset + count; i < e; i++) {
          const v = c[i];
          out[p] = v;
          out[p + 1] = v >> 8;
          out[p + 2] = v >> 16;
          p += 3;
        }
      } else if (bps === 4) {
        for (let i = offset, e = offset + count; i < e; i++) {
          const v = c[i];
          out[p] = v;
          out[p + 1] = v >> 8;
          out[p + 2] = v >> 16;
          out[p + 3] = v >> 24;
          p += 4;
        }
      } else {
        for (let i = offset, e = offset + count; i < e; i++) {
          const v = c[i];
          for (let b = 0; b < bps; b++) out[p++] = v >> (8 * b);
        }
      }
    } else {
      for (let i = offset, e = offset + count; i < e; i++) {
        for (let ch = 0; ch < nch; ch++) {
          const v = channels[ch][i];
          for (let b = 0; b < bps; b++) out[p++] = v >> (8 * b);
        }
      }
    }
    this.#hash.update(out.subarray(0, p));
  }

  /** The 16-byte digest (the hasher cannot be used afterwards). */
  digest(): Uint8Array {
    return new Uint8Array(this.#hash.digest());
  }
}

/** MD5 of whole channels, as {@linkcode SampleMd5} computes it. */
export function samplesMd5(channels: Int32Array[], bitsPerSample: number): Uint8Array {
  const h = new SampleMd5(bitsPerSample);
  const n = channels.length ? channels[0].length : 0;
  const step = 65536;
  for (let off = 0; off < n; off += step) h.update(channels, off, Math.min(step, n - off));
  return h.digest();
}
