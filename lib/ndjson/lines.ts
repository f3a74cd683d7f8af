/**
 * Splitting byte streams into lines, as Web Streams, in constant memory per line.
 *
 * @module
 */

/** A batch of complete lines from one chunk of input, with the 1-based number of the first. */
export interface LineBatch {
  /** The lines, without `\n` or `\r\n`. */
  lines: string[];
  /** Line number of `lines[0]` in its source (1-based). */
  firstLineNo: number;
}

/** Options of {@linkcode LineBatchStream}. */
export interface LineBatchStreamOptions {
  /** Longest line kept, in characters; a longer one becomes an {@linkcode OVERSIZED_LINE_MARK} line. Default 1 MiB. */
  maxLineChars?: number;
  /** Whether to drop a leading UTF-8 byte order mark. Default true. */
  stripBom?: boolean;
}

/**
 * Text → batches of lines. One output batch per input chunk keeps per-line stream overhead low.
 * A final line without a newline is emitted too; `\r\n` is accepted.
 */
export class LineBatchStream extends TransformStream<string, LineBatch> {
  constructor(options: LineBatchStreamOptions = {}) {
    const maxLineChars = options.maxLineChars ?? 1 << 20;
    let stripBom = options.stripBom ?? true;
    let partial = "";
    let skipped = 0; // characters of an oversized line dropped so far (0: not in one)
    let lineNo = 1;
    const cut = (line: string) => (line.endsWith("\r") ? line.slice(0, -1) : line);
    /** The line that stands for an oversized one: its length, never its text. */
    const oversized = (tail: string) => OVERSIZED_LINE_MARK + String(skipped + tail.length);
    super({
      transform(chunk, controller) {
        if (stripBom && chunk.length > 0) {
          if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
          stripBom = false;
        }
        let text = partial + chunk;
        let start = 0;
        const lines: string[] = [];
        for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
          const line = cut(text.slice(start, nl));
          lines.push(skipped > 0 ? oversized(line) : line);
          skipped = 0;
          start = nl + 1;
        }
        partial = text.slice(start);
        text = "";
        if (partial.length > maxLineChars) { // drop the text, keep counting until its newline
          skipped += partial.length;
          partial = "";
        }
        if (lines.length) {
          controller.enqueue({ lines, firstLineNo: lineNo });
          lineNo += lines.length;
        }
      },
      flush(controller) {
        if (partial.length || skipped > 0) {
          controller.enqueue({
            lines: [skipped > 0 ? oversized(partial) : cut(partial)],
            firstLineNo: lineNo,
          });
        }
      },
    });
  }
}

/**
 * Prefix of the line {@linkcode LineBatchStream} emits in place of one longer than
 * `maxLineChars`, followed by that line's length: readers report it as a bad line.
 */
export const OVERSIZED_LINE_MARK = "\u0000oversized line:";

/** Bytes → batches of lines (UTF-8). */
export function linesOf(
  bytes: ReadableStream<Uint8Array>,
  options: LineBatchStreamOptions = {},
): ReadableStream<LineBatch> {
  return bytes.pipeThrough(new TextDecoderStream()).pipeThrough(new LineBatchStream(options));
}
