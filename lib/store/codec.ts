/**
 * The store's view of the FLAC codec: encode channels and learn the frame byte offsets, decode
 * a whole stream or only the frames covering a sample range.
 *
 * TEMPORARY SHIM while lib/flac is being written: raw int32 frames, NOT FLAC.
 *
 * @module
 */

/** A frame of an encoded stream. */
export interface FrameInfo {
  /** Index of its first sample. */
  sampleOffset: number;
  /** Byte offset of the frame in the stream. */
  byteOffset: number;
  /** Samples in it. */
  sampleCount: number;
}

/** Encoded stream and its frames. */
export interface EncodedStream {
  /** The stream bytes. */
  bytes: Uint8Array;
  /** Its frames in order. */
  frames: FrameInfo[];
}

/** Encodes channels (same length) as a stream at `bitsPerSample`, `blockSize` samples per frame. */
export function encodeChannels(
  channels: Int32Array[],
  options: { bitsPerSample: number; sampleRate: number; blockSize: number; level?: number },
): EncodedStream {
  const n = channels[0].length;
  const c = channels.length;
  const bytes = new Uint8Array(8 + n * c * 4);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, c, true);
  view.setUint32(4, n, true);
  const frames: FrameInfo[] = [];
  let off = 8;
  for (let s = 0; s < n; s += options.blockSize) {
    const count = Math.min(options.blockSize, n - s);
    frames.push({ sampleOffset: s, byteOffset: off, sampleCount: count });
    for (let i = s; i < s + count; i++) {
      for (let ch = 0; ch < c; ch++) {
        view.setInt32(off, channels[ch][i], true);
        off += 4;
      }
    }
  }
  return { bytes, frames };
}

/** Decodes the frames covering samples [firstSample, lastSample]; returns channels starting at `firstSample` of the result. */
export function decodeChannels(
  bytes: Uint8Array,
  range?: { firstSample: number; lastSample: number },
): { channels: Int32Array[]; firstSample: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const c = view.getUint32(0, true);
  const n = view.getUint32(4, true);
  const first = range?.firstSample ?? 0;
  const last = range?.lastSample ?? n - 1;
  const channels = Array.from({ length: c }, () => new Int32Array(last - first + 1));
  for (let i = first; i <= last; i++) {
    for (let ch = 0; ch < c; ch++) {
      channels[ch][i - first] = view.getInt32(8 + (i * c + ch) * 4, true);
    }
  }
  return { channels, firstSample: first };
}
