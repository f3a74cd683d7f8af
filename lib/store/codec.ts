/**
 * The store's view of the FLAC codec (`lib/flac`): encode channels and learn each frame's byte
 * offset, decode a whole stream or only the frames covering a sample range.
 *
 * @module
 */
import { decodeFlac, decodeFlacRange, encodeFlacWithIndex } from "../flac/mod.ts";

/** A frame of an encoded stream. */
export interface FrameInfo {
  /** Index of its first sample. */
  sampleOffset: number;
  /** Byte offset of the frame header from the start of the stream. */
  byteOffset: number;
  /** Samples in it. */
  sampleCount: number;
}

/** Encoded stream and its frames. */
export interface EncodedStream {
  /** The FLAC stream. */
  bytes: Uint8Array;
  /** Its frames in order. */
  frames: FrameInfo[];
}

/** Encodes channels (same length) as FLAC at `bitsPerSample`, `blockSize` samples per frame. */
export function encodeChannels(
  channels: Int32Array[],
  options: { bitsPerSample: number; sampleRate: number; blockSize: number; level?: number },
): EncodedStream {
  const { bytes, frames } = encodeFlacWithIndex(channels, options);
  return { bytes, frames };
}

/**
 * Decodes a FLAC stream: all of it (MD5 checked), or with `range` only the frames covering
 * samples [firstSample, lastSample] (CRCs checked), seeking with `seek` (frame start samples
 * and byte offsets, ascending; frame 0 may be omitted). Channels start at `firstSample`.
 */
export function decodeChannels(
  bytes: Uint8Array,
  range?: { firstSample: number; lastSample: number },
  seek: { sampleOffset: number; byteOffset: number }[] = [],
): { channels: Int32Array[]; firstSample: number } {
  if (!range) return { channels: decodeFlac(bytes).channels, firstSample: 0 };
  const frames = seek.map((f, i) => {
    const next = seek[i + 1];
    return {
      sampleOffset: f.sampleOffset,
      byteOffset: f.byteOffset,
      sampleCount: next ? next.sampleOffset - f.sampleOffset : 0,
      byteLength: (next ? next.byteOffset : bytes.length) - f.byteOffset,
    };
  });
  const r = decodeFlacRange(bytes, { ...range, frames });
  return { channels: r.channels, firstSample: r.firstSample };
}
