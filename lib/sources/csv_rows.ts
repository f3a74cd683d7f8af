/**
 * Streaming CSV rows with line numbers, on top of `csv-parse` (its Web Streams API,
 * `csv-parse/stream`).
 *
 * Why csv-parse: it is the most used and actively maintained CSV parser for JavaScript (part of
 * the `csv` project, releases every few months, tested against the csv-spectrum RFC 4180 suite),
 * it parses byte chunks incrementally (constant memory), and it already handles what real logs
 * need: RFC 4180 quoting with doubled quotes, quoted newlines, a UTF-8 BOM, CRLF or LF (detected),
 * `#` comment lines, rows of the wrong length (`relax_column_count`) and stray quotes
 * (`relax_quotes`), with the line number and byte count of every record (`on_record` context).
 *
 * Rows are taken in the parser's `on_record` hook and handed out in batches, one batch per input
 * chunk, so no per-row stream or promise overhead is paid.
 *
 * @module
 */
import { type CsvError, parse } from "csv-parse/stream";
import { Buffer } from "node:buffer";

/** Options of {@linkcode readCsvRows}. */
export interface CsvRowsOptions {
  /** Field delimiter. Default `,`. */
  delimiter?: string;
  /** A line starting with this is a comment and skipped (e.g. `#`). Default: no comments. */
  comment?: string;
  /** Drop spaces before a field (nvidia-smi writes `, ` between fields). Default true. */
  ltrim?: boolean;
  /** Longest record accepted, in bytes; a longer one (e.g. an unclosed quote) is a bad row. Default 1 MiB. */
  maxRecordBytes?: number;
  /** Called with the count of bytes consumed so far, once per input chunk (for progress). */
  onBytes?: (bytesRead: number) => void;
}

/** One batch of parsed rows, in file order; a row is either fields or an error message. */
export interface CsvRowBatch {
  /** Number of entries used in the arrays below (they are reused between batches). */
  length: number;
  /** Fields of each row, or `undefined` for a row the parser refused. */
  fields: (string[] | undefined)[];
  /** 1-based line number where each row ends (for a row spanning lines: its last line). */
  lines: number[];
  /** For a refused row or a row of the wrong length: why; otherwise `undefined`. */
  errors: (string | undefined)[];
}

/**
 * Reads CSV rows from a byte stream. The header row is the first row yielded (it is not
 * interpreted here). The batch object and its arrays are reused: consume a batch before asking
 * for the next.
 */
export async function* readCsvRows(
  bytes: ReadableStream<Uint8Array>,
  options: CsvRowsOptions = {},
): AsyncGenerator<CsvRowBatch> {
  const batch: CsvRowBatch = { length: 0, fields: [], lines: [], errors: [] };
  const add = (fields: string[] | undefined, line: number, error: string | undefined) => {
    const i = batch.length++;
    batch.fields[i] = fields;
    batch.lines[i] = line;
    batch.errors[i] = error;
  };
  const parser = parse({
    delimiter: options.delimiter ?? ",",
    bom: true,
    ltrim: options.ltrim ?? true,
    comment: options.comment,
    comment_no_infix: true,
    skip_empty_lines: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_records_with_error: true,
    max_record_size: options.maxRecordBytes ?? 1 << 20,
    on_record: (record: string[], context) => {
      add(record, context.lines, context.error ? shortCsvError(context.error.message) : undefined);
      return null; // handed out through `batch`, not through the stream
    },
    on_skip: (err: CsvError | undefined) => {
      const line = typeof err?.lines === "number" ? err.lines : 0;
      add(undefined, line, shortCsvError(err?.message ?? "unreadable row"));
      return undefined;
    },
  });
  const writer = parser.writable.getWriter();
  // Nothing is enqueued on the readable side, but drain it so that close() can complete.
  const drained = parser.readable.pipeTo(new WritableStream()).catch(() => {});
  const reader = bytes.getReader();
  let bytesRead = 0;
  let closed = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      bytesRead += value.byteLength;
      batch.length = 0;
      await writer.write(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      options.onBytes?.(bytesRead);
      if (batch.length > 0) yield batch;
    }
    batch.length = 0;
    await writer.close();
    closed = true;
    await drained;
    if (batch.length > 0) yield batch;
  } finally {
    reader.releaseLock();
    if (!closed) writer.abort().catch(() => {});
    await bytes.cancel().catch(() => {});
  }
}

/** csv-parse's messages without their "at line N" tails (we print the line ourselves). */
function shortCsvError(message: string): string {
  return message.replace(/\s*(?:at|on) line \d+/g, "").replace(/\s+/g, " ").trim();
}
