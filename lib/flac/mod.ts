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
