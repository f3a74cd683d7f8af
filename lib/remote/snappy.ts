/**
 * Snappy block format (not the framed format), as remote write and read use it.
 * Wraps `snappyjs`, with the decoded length checked from the preamble before anything is allocated.
 *
 * @module
 */
import snappy from "snappyjs";
import { InputError } from "../errors.ts";

/** The decoded length would exceed the caller's limit. */
export class SnappyTooLargeError extends InputError {
  override name = "SnappyTooLargeError";
  /** Decoded length the preamble claims. */
  readonly decodedBytes: number;
  constructor(decodedBytes: number, maxDecodedBytes: number) {
    super(`snappy body decodes to ${decodedBytes} bytes, over the limit of ${maxDecodedBytes}`);
    this.decodedBytes = decodedBytes;
  }
}

/** Reads the uvarint preamble of a snappy block: the decoded length. Throws on a malformed preamble. */
export function snappyDecodedLength(block: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= block.length) throw new InputError("malformed snappy: truncated length preamble");
    const b = block[i];
    n += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) {
      if (n > 0xffffffff) break;
      return n;
    }
  }
  throw new InputError("malformed snappy: length preamble longer than 32 bits");
}

/** Compresses one block. */
export function snappyEncode(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return snappy.compress(bytes);
}

/** Decompresses one block, refusing bodies that would decode to more than `maxDecodedBytes`. */
export function snappyDecode(block: Uint8Array, maxDecodedBytes: number): Uint8Array {
  const length = snappyDecodedLength(block);
  if (length > maxDecodedBytes) throw new SnappyTooLargeError(length, maxDecodedBytes);
  try {
    return snappy.uncompress(block, maxDecodedBytes);
  } catch (err) {
    throw new InputError(`malformed snappy: ${(err as Error).message}`);
  }
}
