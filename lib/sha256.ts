/**
 * SHA-256 (FIPS 180-4) of short strings, in plain JavaScript: the store names each series by the
 * first 64 bits of the SHA-256 of its key, and a store of a million series hashes a million
 * keys when it opens and when they are first written. `node:crypto`'s `createHash` costs about
 * 2.5 µs per key (an object and several runtime calls each); this costs a fraction of that for
 * keys of a few dozen bytes. The digest is the standard one (tests compare with `node:crypto`).
 *
 * @module
 */

/** The first 32 bits of the fractional parts of the roots `root` of the first `n` primes. */
function primeRootFractions(n: number, root: (x: number) => number): Uint32Array {
  const out = new Uint32Array(n);
  let found = 0;
  for (let p = 2; found < n; p++) {
    let prime = true;
    for (let d = 2; d * d <= p; d++) {
      if (p % d === 0) {
        prime = false;
        break;
      }
    }
    if (!prime) continue;
    const r = root(p);
    out[found++] = Math.floor((r - Math.floor(r)) * 2 ** 32);
  }
  return out;
}

/** §4.2.2: the 64 round constants (cube roots of the first 64 primes). */
const K = primeRootFractions(64, Math.cbrt);
/** §5.3.3: the initial hash value (square roots of the first 8 primes). */
const H0 = primeRootFractions(8, Math.sqrt);

const utf8 = new TextEncoder();
/** The message schedule (§6.2.2 step 1), reused. */
const W = new Int32Array(64);
/** The padded message, reused while it fits (grown for long keys). */
let block = new Uint8Array(256);
let blockView = new DataView(block.buffer);

/** The 8 words of the SHA-256 of `bytes[0, length)` of the padded buffer, into `h`. */
function digest(length: number, h: Int32Array): void {
  // §5.1.1 padding: a 1 bit, zeros, then the length in bits as a 64-bit big-endian integer.
  const padded = Math.ceil((length + 9) / 64) * 64;
  block.fill(0, length, padded);
  block[length] = 0x80;
  const bits = length * 8;
  blockView.setUint32(padded - 8, Math.floor(bits / 2 ** 32));
  blockView.setUint32(padded - 4, bits >>> 0);
  for (let i = 0; i < 8; i++) h[i] = H0[i];
  for (let at = 0; at < padded; at += 64) {
    // §6.2.2 step 1: the message schedule.
    for (let t = 0, i = at; t < 16; t++, i += 4) {
      W[t] = (block[i] << 24) | (block[i + 1] << 16) | (block[i + 2] << 8) | block[i + 3];
    }
    for (let t = 16; t < 64; t++) {
      const w15 = W[t - 15];
      const w2 = W[t - 2];
      const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
      const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
      W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
    }
    // Steps 2–3: the working variables through 64 rounds.
    let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + K[t] + W[t]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    // Step 4: the intermediate hash value.
    h[0] = (h[0] + a) | 0;
    h[1] = (h[1] + b) | 0;
    h[2] = (h[2] + c) | 0;
    h[3] = (h[3] + d) | 0;
    h[4] = (h[4] + e) | 0;
    h[5] = (h[5] + f) | 0;
    h[6] = (h[6] + g) | 0;
    h[7] = (h[7] + hh) | 0;
  }
}

const words = new Int32Array(8);

/** Puts the UTF-8 of `text` at the start of the padded buffer; returns its byte length. */
function load(text: string): number {
  // UTF-8 takes at most 3 bytes per UTF-16 unit; + 72 for the padding.
  const need = text.length * 3 + 72;
  if (need > block.length) {
    block = new Uint8Array(Math.max(need, block.length * 2));
    blockView = new DataView(block.buffer);
  }
  return utf8.encodeInto(text, block).written;
}

const HEX_CODES = new TextEncoder().encode("0123456789abcdef");

/** The first `hexDigits` (at most 64) hex digits of the SHA-256 of the UTF-8 of `text`. */
export function sha256HexPrefix(text: string, hexDigits: number): string {
  digest(load(text), words);
  const codes = new Array<number>(hexDigits);
  for (let i = 0; i < hexDigits; i++) {
    codes[i] = HEX_CODES[(words[i >> 3] >>> (28 - 4 * (i & 7))) & 15];
  }
  return String.fromCharCode.apply(null, codes); // one flat string, not a rope of pieces
}

/** The SHA-256 of the UTF-8 of `text`, as 64 hex digits. */
export function sha256Hex(text: string): string {
  return sha256HexPrefix(text, 64);
}
