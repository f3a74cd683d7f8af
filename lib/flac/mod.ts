/**
 * wattwave's FLAC codec (RFC 9639), for integer series of 4–32 bits in 1–8 channels.
 *
 * - {@linkcode encodeFlac} / {@linkcode decodeFlac}: whole buffers.
 * - {@linkcode encodeFlacWithIndex} + {@linkcode decodeFlacRange}: decode only the frames that
 *   cover a sample range (the index gives each frame's sample and byte range; a SEEKTABLE,
 *   written with `seekPointInterval`, works too).
 * - {@linkcode FlacEncoder}, {@linkcode FlacStreamDecoder}, {@linkcode decodeFlacStream}:
 *   streaming forms with memory bounded by the block size.
 *
 * Choices where RFC 9639 leaves room:
 * - fixed block size (default 4096, 16–65535), the last block may be shorter; STREAMINFO's
 *   min/max block size are the configured size; frame headers carry the sample rate and bits
 *   per sample as codes when one exists (so a damaged STREAMINFO is noticed), else defer to
 *   STREAMINFO (sample rate 0 is allowed and written as "see STREAMINFO");
 * - levels 0–8 (default 5): 0–1 FIXED order by |residual| sums (0 without stereo); 2 exact
 *   FIXED order choice; 3–8 add LPC (Tukey(0.5) window, orders 4/6/8/8/12/12) and partition orders
 *   up to 8 or 10; `tuning` overrides (LPC orders to 32, precision search, more windows);
 * - stereo: all four decorrelations are tried for 2 channels up to 31 bits per sample; at 32
 *   bits the encoder codes channels independently (the decoder reads 33-bit side channels);
 * - residuals must lie in ±(2^31 − 1): a predictor whose residual does not is dropped, and
 *   VERBATIM is the fallback;
 * - no SEEKTABLE, VORBIS_COMMENT, APPLICATION or PADDING unless asked for;
 * - the decoder is strict: CRC-8/CRC-16, consecutive frame numbers, the sample count and the
 *   MD5 are checked, and a frame disagreeing with STREAMINFO (channels, bits, rate) is an error.
 *
 * @module
 */
export {
  DEFAULT_BLOCK_SIZE,
  DEFAULT_LEVEL,
  type EncodedFlac,
  encodeFlac,
  type EncodeFlacOptions,
  encodeFlacWithIndex,
  FlacEncoder,
  type FlacEncoderOptions,
  type FlacEncoderResult,
  type FrameIndexEntry,
  LEVELS,
  VENDOR,
} from "./encoder.ts";
export type { EncoderTuning } from "./subframe_encoder.ts";
export type { WindowSpec } from "./lpc.ts";
export {
  type DecodedFlac,
  type DecodedFrame,
  type DecodedRange,
  decodeFlac,
  decodeFlacRange,
  decodeFlacStream,
  type DecodeOptions,
  type DecodeRangeOptions,
  FlacStreamDecoder,
  type FlacStreamEvent,
  readFlacMetadata,
  type StreamSummary,
} from "./decoder.ts";
export {
  type ApplicationBlock,
  type FlacMetadata,
  isFlac,
  type SeekPoint,
  type StreamInfo,
} from "./metadata.ts";
export { samplesMd5 } from "./md5.ts";
