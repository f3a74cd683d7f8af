/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as remote read's streamed frames carry it.
 * Slicing-by-8 over eight 256-entry tables.
 *
 * @module
 */

const POLY = 0x82f63b78;
const TABLES = new Uint32Array(8 * 256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  TABLES[i] = c >>> 0;
}
for (let t = 1; t < 8; t++) {
  for (let i = 0; i < 256; i++) {
    const prev = TABLES[(t - 1) * 256 + i];
    TABLES[t * 256 + i] = ((prev >>> 8) ^ TABLES[prev & 0xff]) >>> 0;
  }
}

/** CRC-32C of `bytes`, continuing from `crc` (0 to start), as an unsigned 32-bit number. */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  const T = TABLES;
  let c = ~crc;
  let i = 0;
  const n = bytes.length;
  for (; i + 8 <= n; i += 8) {
    const a = c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    c = T[7 * 256 + (a & 0xff)] ^ T[6 * 256 + ((a >>> 8) & 0xff)] ^
      T[5 * 256 + ((a >>> 16) & 0xff)] ^ T[4 * 256 + (a >>> 24)] ^
      T[3 * 256 + bytes[i + 4]] ^ T[2 * 256 + bytes[i + 5]] ^
      T[256 + bytes[i + 6]] ^ T[bytes[i + 7]];
  }
  for (; i < n; i++) c = T[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
