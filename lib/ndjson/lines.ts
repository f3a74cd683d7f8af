/**
 * Splitting byte streams into lines without decoding them: a batch of line ranges per input
 * chunk, in constant memory per line. Parsers read the bytes directly and decode text only when
 * they need it (see `fast_parse.ts`), so no string is made for most lines.
 *
 * @module
 */

/**
 * The complete lines of one chunk of input: line `i` is `bytes[starts[i], ends[i])`, without
 * `\n` or `\r\n`. A line longer than the limit is not kept: its `starts[i]` is -1 and
 * `ends[i]` its length in bytes.
 */
export interface ByteLineBatch {
  /** The bytes the ranges index (an input chunk, or a line joined across chunks). */
  bytes: Uint8Array;
  /** Start of each line in `bytes`, or -1 for an oversized line. */
  starts: number[];
  /** End (exclusive) of each line in `bytes`, or the byte length of an oversized line. */
  ends: number[];
  /** Line number of the first line in its source (1-based). */
  firstLineNo: number;
}

/** Options of {@linkcode byteLinesOf}. */
export interface ByteLinesOptions {
  /** Longest line kept, in bytes; a longer one is reported by its length only. Default 1 MiB. */
  maxLineBytes?: number;
  /** Whether to drop a UTF-8 byte order mark at the start of the stream. Default true. */
  stripBom?: boolean;
}

const LF = 10;
const CR = 13;

/** Whether `bytes[start, end)` begins with the UTF-8 byte order mark EF BB BF. */
function hasBom(bytes: Uint8Array, start: number, end: number): boolean {
  return end - start >= 3 && bytes[start] === 0xef && bytes[start + 1] === 0xbb &&
    bytes[start + 2] === 0xbf;
}

/**
 * Bytes → batches of line ranges. A final line without a newline is emitted too; `\r\n` is
 * accepted. Each batch is valid until the next one is requested.
 */
export async function* byteLinesOf(
  stream: ReadableStream<Uint8Array>,
  options: ByteLinesOptions = {},
): AsyncGenerator<ByteLineBatch> {
  const maxLineBytes = options.maxLineBytes ?? 1 << 20;
  let bomPending = options.stripBom ?? true;
  let carry = new Uint8Array(1024); // the unfinished line, copied out of its chunk
  let carryLen = 0;
  let skipped = 0; // bytes of an oversized line dropped so far (0: not in one)
  let lineNo = 1;

  /** The batch of the one line in `bytes[0, end)` (carried across chunks) or of an oversized line. */
  const carried = (bytes: Uint8Array, end: number): ByteLineBatch => {
    const crlf = end > 0 && bytes[end - 1] === CR;
    if (crlf) end--;
    let batch: ByteLineBatch;
    if (skipped > 0) {
      batch = { bytes, starts: [-1], ends: [skipped - (crlf ? 1 : 0)], firstLineNo: lineNo };
    } else {
      const start = bomPending && lineNo === 1 && hasBom(bytes, 0, end) ? 3 : 0;
      batch = { bytes, starts: [start], ends: [end], firstLineNo: lineNo };
    }
    bomPending = false;
    skipped = 0;
    lineNo++;
    return batch;
  };

  for await (const chunk of stream) {
    let pos = 0;
    if (carryLen > 0 || skipped > 0) {
      const nl = chunk.indexOf(LF);
      const upTo = nl < 0 ? chunk.length : nl;
      if (skipped > 0) skipped += upTo;
      else if (carryLen + upTo > maxLineBytes) {
        skipped = carryLen + upTo;
        carryLen = 0;
      } else {
        if (carryLen + upTo > carry.length) {
          const grown = new Uint8Array(Math.max(carry.length * 2, carryLen + upTo));
          grown.set(carry.subarray(0, carryLen));
          carry = grown;
        }
        carry.set(chunk.subarray(0, upTo), carryLen);
        carryLen += upTo;
      }
      if (nl < 0) continue;
      const len = carryLen;
      carryLen = 0;
      yield skipped > 0 ? carried(chunk, nl) : carried(carry, len);
      pos = nl + 1;
    }
    const starts: number[] = [];
    const ends: number[] = [];
    const firstLineNo = lineNo;
    for (let nl = chunk.indexOf(LF, pos); nl !== -1; nl = chunk.indexOf(LF, pos)) {
      let start = pos;
      const end = nl > pos && chunk[nl - 1] === CR ? nl - 1 : nl;
      if (bomPending) {
        if (lineNo === 1 && hasBom(chunk, start, end)) start += 3;
        bomPending = false;
      }
      starts.push(start);
      ends.push(end);
      lineNo++;
      pos = nl + 1;
    }
    const rest = chunk.length - pos;
    if (rest > maxLineBytes) skipped = rest; // drop the text, keep counting until its newline
    else if (rest > 0) {
      if (rest > carry.length) carry = new Uint8Array(Math.max(carry.length * 2, rest));
      carry.set(chunk.subarray(pos));
      carryLen = rest;
    }
    if (starts.length) yield { bytes: chunk, starts, ends, firstLineNo };
  }
  if (carryLen > 0 || skipped > 0) yield carried(carry, carryLen);
}

/** Options of {@linkcode splitLines}. */
export interface SplitLinesOptions {
  /** Length of an oversized line (see {@linkcode ByteLineBatch}) that came before `bytes`, or -1. Default -1. */
  oversizedBefore?: number;
  /** Whether `bytes` starts its stream: a byte order mark on its first line is dropped. Default false. */
  streamStart?: boolean;
}

/**
 * The lines of `bytes`, whole lines of a stream cut by the caller at a newline, as ranges with
 * {@linkcode byteLinesOf}'s conventions (`\r\n` accepted, a last line without `\n` kept). An
 * oversized line that preceded `bytes` comes first (start -1).
 */
export function splitLines(
  bytes: Uint8Array,
  options: SplitLinesOptions = {},
): { starts: number[]; ends: number[] } {
  const oversized = options.oversizedBefore ?? -1;
  const starts: number[] = [];
  const ends: number[] = [];
  if (oversized >= 0) {
    starts.push(-1);
    ends.push(oversized);
  }
  let pos = 0;
  while (pos < bytes.length) {
    let nl = bytes.indexOf(LF, pos);
    if (nl === -1) nl = bytes.length;
    let start = pos;
    if (pos === 0 && options.streamStart && oversized < 0 && hasBom(bytes, 0, nl)) start = 3;
    starts.push(start);
    ends.push(nl > pos && bytes[nl - 1] === CR ? nl - 1 : nl);
    pos = nl + 1;
  }
  return { starts, ends };
}
