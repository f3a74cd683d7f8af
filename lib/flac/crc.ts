/**
 * The two checksums of a FLAC frame (RFC 9639 section 9.1.8 and 9.3): CRC-8 over the frame
 * header (polynomial x^8 + x^2 + x + 1, initial 0) and CRC-16 over the whole frame
 * (polynomial x^16 + x^15 + x^2 + 1, initial 0). Table driven, no reflection.
 *
 * @module
 */

const CRC8_TABLE = new Uint8Array(256);
const CRC16_TABLE = new Uint16Array(256);

for (let i = 0; i < 256; i++) {
  let c8 = i;
  for (let b = 0; b < 8; b++) c8 = (c8 & 0x80) ? ((c8 << 1) ^ 0x07) & 0xff : (c8 << 1) & 0xff;
  CRC8_TABLE[i] = c8;
  let c16 = i << 8;
  for (let b = 0; b < 8; b++) {
    c16 = (c16 & 0x8000) ? ((c16 << 1) ^ 0x8005) & 0xffff : (c16 << 1) & 0xffff;
  }
  CRC16_TABLE[i] = c16;
}

// CRC16_TABLE2[a]: the CRC contribution of byte a followed by one zero byte (slice-by-2)
const CRC16_TABLE2 = new Uint16Array(256);
for (let a = 0; a < 256; a++) {
  const t = CRC16_TABLE[a];
  CRC16_TABLE2[a] = ((t << 8) & 0xffff) ^ CRC16_TABLE[t >>> 8];
}

/** CRC-8 (poly 0x07, init `crc`) of `bytes[start, end)`. */
export function crc8(bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number {
  for (let i = start; i < end; i++) crc = CRC8_TABLE[crc ^ bytes[i]];
  return crc;
}

/** CRC-16 (poly 0x8005, init `crc`) of `bytes[start, end)`. */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number {
  let i = start;
  // two bytes per step
  for (; i + 1 < end; i += 2) {
    const x = crc ^ ((bytes[i] << 8) | bytes[i + 1]);
    crc = CRC16_TABLE2[x >>> 8] ^ CRC16_TABLE[x & 0xff];
  }
  for (; i < end; i++) {
    crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[(crc >>> 8) ^ bytes[i]];
  }
  return crc;
}
