/**
 * Mapping a block of float64 values to FLAC integer channels, losslessly, and back.
 *
 * - `dec` (1 channel): every captured value v is `n / 10^scale` with `n` a 32-bit integer; the
 *   channel holds `n`. RAPL microjoules (scale 0), `69.85` W (scale 2) and CPU % land here.
 * - `dec2` (2 channels): the same decimal `n`, up to 2^53, split as `n = hi * 2^32 + (lo >>> 0)`;
 *   channel 0 holds `hi` (usually constant: a FLAC CONSTANT subframe), channel 1 holds `lo` as int32.
 * - `f64` (2 channels): the fallback for blocks that no scale captures: the IEEE-754 bits of
 *   each value, channel 0 the high word, channel 1 the low word, both reinterpreted as int32.
 *
 * In `dec`/`dec2`, the few values no scale captures (NaN with any payload, StaleNaN, ±Inf, -0,
 * subnormals, doubles needing more than 15 decimals) are kept in an exception list of
 * `(index, hi word, lo word)`; their channel slot repeats the previous `n`, so prediction stays smooth.
 * A block takes `f64` when exceptions would cost more than the raw bits.
 *
 * Decoding divides by the same power of ten the encoder checked, so every value comes back
 * bit for bit (the encoder only accepts `n` when `n / 10^scale` reproduces the exact bits).
 *
 * @module
 */

/** Largest decimal scale tried (10^15: about the 15.95 significant digits a double holds). */
export const MAX_SCALE = 15;

/** Powers of ten 10^0 … 10^22, all exact in float64. */
const POW10: number[] = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

const TWO32 = 4294967296;
const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;
const NO_EXCEPTIONS = new Uint32Array(0);

/**
 * The channels of one-value ranges are views of a shared slab: a commit of a million
 * one-sample series otherwise allocates a million ArrayBuffers (each one a malloc and a GC
 * finaliser). Views keep their slab alive only while their range is being encoded.
 */
let oneValueSlab = new Int32Array(0);
let oneValueAt = 0;

/** A one-element channel holding `n` (a view of {@linkcode oneValueSlab}). */
function oneValueChannel(n: number): Int32Array {
  if (oneValueAt === oneValueSlab.length) {
    oneValueSlab = new Int32Array(16384);
    oneValueAt = 0;
  }
  const ch = oneValueSlab.subarray(oneValueAt, oneValueAt + 1);
  oneValueAt++;
  ch[0] = n;
  return ch;
}

/** How a block's values were mapped (kept in the store index). */
export type ValueMode = "dec" | "dec2" | "f64";

/** The integer form of a block of values. */
export interface MappedValues {
  /** The mapping used. */
  mode: ValueMode;
  /** Decimal scale k (values are `n / 10^k`); 0 for `f64`. */
  scale: number;
  /** The FLAC channels for the values (1 for `dec`, 2 for `dec2` and `f64`). */
  channels: Int32Array[];
  /** Exceptions as flat triples `[index, hiWord, loWord, ...]` (empty for `f64`). */
  exceptions: Uint32Array;
}

/** Options of {@linkcode mapValues}. */
export interface MapValuesOptions {
  /** Largest decimal scale tried. Default {@linkcode MAX_SCALE}. */
  maxScale?: number;
}

/**
 * The smallest k ≤ maxScale with `Math.round(v * 10^k) / 10^k` bit-identical to v and the
 * numerator a safe integer, or -1 when none (NaN, ±Inf, -0, subnormals, long decimals).
 */
export function minimalScale(v: number, maxScale = MAX_SCALE): number {
  if (v !== v || v === Infinity || v === -Infinity) return -1;
  if (v === 0) return Object.is(v, -0) ? -1 : 0;
  for (let k = 0; k <= maxScale; k++) {
    const p = POW10[k];
    const n = Math.round(v * p);
    if (!Number.isSafeInteger(n)) return -1;
    if (n / p === v) return k;
  }
  return -1;
}

/** Words of a little-endian Float64Array, for bit-exact copies (V8 may canonicalise NaN). */
function wordsOf(values: Float64Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
}

/** Whether this platform stores float64 little-endian (the word layout assumed throughout). */
export const LITTLE_ENDIAN = new Uint8Array(new Float64Array([-0]).buffer)[7] === 0x80;

/**
 * The scale at which one value is `n / 10^scale` with `n` a 32-bit integer (what
 * {@linkcode mapValues} picks for a block of that one value), or -1 when there is none (its
 * numerator: `Math.round(v * 10^scale)`, see {@linkcode oneValueNumerator}).
 */
export function oneValueScale(v: number, maxScale = MAX_SCALE): number {
  const k = minimalScale(v, maxScale);
  if (k < 0) return -1;
  const n = Math.round(v * POW10[k]);
  return n >= INT32_MIN && n <= INT32_MAX && n / POW10[k] === v ? k : -1;
}

/** The channel value of one value at a scale {@linkcode oneValueScale} gave. */
export function oneValueNumerator(v: number, scale: number): number {
  return Math.round(v * POW10[scale]);
}

/**
 * Maps `count` values (from `values`, which must stay unchanged) to integer channels.
 * Picks the decimal scale minimising an estimate of the encoded size.
 */
export function mapValues(values: Float64Array, options: MapValuesOptions = {}): MappedValues {
  const maxScale = options.maxScale ?? MAX_SCALE;
  const count = values.length;
  if (count === 1) {
    // One value (a series sampled once per commit, as in a scrape of many series): the general
    // path below picks the same scale, without its five scratch arrays.
    const k = minimalScale(values[0], maxScale);
    if (k >= 0) {
      const n = Math.round(values[0] * POW10[k]);
      if (n >= INT32_MIN && n <= INT32_MAX && n / POW10[k] === values[0]) {
        return { mode: "dec", scale: k, channels: [oneValueChannel(n)], exceptions: NO_EXCEPTIONS };
      }
    }
  }
  const words = wordsOf(values);
  const kOf = new Int8Array(count);
  const histogram = new Int32Array(maxScale + 1);
  let none = 0;
  for (let i = 0; i < count; i++) {
    const k = minimalScale(values[i], maxScale);
    kOf[i] = k;
    if (k < 0) none++;
    else histogram[k]++;
  }
  // Cost in bits: each extra decimal digit ≈ 3.32 bits on every sample; an exception ≈ 96 bits.
  let bestScale = 0;
  let bestCost = Infinity;
  let above = count - none;
  for (let k = 0; k <= maxScale; k++) {
    above -= histogram[k];
    const exceptions = none + above;
    const cost = 3.32 * k * count + 96 * exceptions;
    if (cost < bestCost) {
      bestCost = cost;
      bestScale = k;
    }
    if (above === 0) break;
  }
  const p = POW10[bestScale];
  const numerators = new Float64Array(count);
  const isException = new Uint8Array(count);
  let exceptionCount = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < count; i++) {
    const k = kOf[i];
    let n = NaN;
    if (k >= 0 && k <= bestScale) {
      n = Math.round(values[i] * p);
      // A value valid at a smaller scale stays valid at a larger one while n is a safe integer.
      if (!Number.isSafeInteger(n) || n / p !== values[i]) n = NaN;
    }
    if (n !== n) {
      isException[i] = 1;
      exceptionCount++;
    } else {
      numerators[i] = n;
      if (n < min) min = n;
      if (n > max) max = n;
    }
  }
  // Raw bits cost about 40 bits a sample (noisy low word + predictable high word).
  if (exceptionCount === count || exceptionCount * 96 > count * 40) {
    return mapF64(words, count);
  }
  // Placeholders: the previous captured numerator (the first captured one before any).
  let previous = 0;
  for (let i = 0; i < count; i++) {
    if (!isException[i]) {
      previous = numerators[i];
      break;
    }
  }
  const exceptions = new Uint32Array(exceptionCount * 3);
  let e = 0;
  for (let i = 0; i < count; i++) {
    if (isException[i]) {
      numerators[i] = previous;
      exceptions[e++] = i;
      exceptions[e++] = words[2 * i + 1];
      exceptions[e++] = words[2 * i];
    } else previous = numerators[i];
  }
  if (min >= INT32_MIN && max <= INT32_MAX) {
    const channel = new Int32Array(count);
    for (let i = 0; i < count; i++) channel[i] = numerators[i];
    return { mode: "dec", scale: bestScale, channels: [channel], exceptions };
  }
  const hiChannel = new Int32Array(count);
  const loChannel = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const n = numerators[i];
    const hi = Math.floor(n / TWO32);
    hiChannel[i] = hi;
    loChannel[i] = (n - hi * TWO32) | 0;
  }
  return { mode: "dec2", scale: bestScale, channels: [hiChannel, loChannel], exceptions };
}

function mapF64(words: Uint32Array, count: number): MappedValues {
  const hiChannel = new Int32Array(count);
  const loChannel = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    hiChannel[i] = words[2 * i + 1] | 0;
    loChannel[i] = words[2 * i] | 0;
  }
  return {
    mode: "f64",
    scale: 0,
    channels: [hiChannel, loChannel],
    exceptions: new Uint32Array(0),
  };
}

/**
 * Rebuilds values `from … from+out.length-1` of a block into `out`, bit for bit.
 * `channels` hold the decoded samples starting at block index `channelStart`; exceptions use
 * block indexes.
 */
export function unmapValues(
  mode: ValueMode,
  scale: number,
  channels: Int32Array[],
  exceptions: Uint32Array,
  out: Float64Array,
  options: { from?: number; channelStart?: number } = {},
): void {
  const from = options.from ?? 0;
  const offset = from - (options.channelStart ?? 0);
  const count = out.length;
  const words = wordsOf(out);
  if (mode === "f64") {
    const [hi, lo] = channels;
    for (let i = 0; i < count; i++) {
      words[2 * i + 1] = hi[offset + i];
      words[2 * i] = lo[offset + i];
    }
    return;
  }
  const p = POW10[scale];
  if (mode === "dec") {
    const ch = channels[0];
    for (let i = 0; i < count; i++) out[i] = ch[offset + i] / p;
  } else {
    const [hi, lo] = channels;
    for (let i = 0; i < count; i++) out[i] = (hi[offset + i] * TWO32 + (lo[offset + i] >>> 0)) / p;
  }
  for (let e = 0; e < exceptions.length; e += 3) {
    const i = exceptions[e] - from;
    if (i < 0 || i >= count) continue;
    words[2 * i + 1] = exceptions[e + 1];
    words[2 * i] = exceptions[e + 2];
  }
}
