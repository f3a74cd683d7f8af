/**
 * Byte-array helpers shared by every concern.
 *
 * @module
 */

/** Concatenates byte arrays into one new array (one array in: a copy of it). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
