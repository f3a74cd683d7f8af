/**
 * Waiting on conditions instead of sleeping: a line reader over a child's stdout whose `next()`
 * waits for the next line with a deadline, and a poll with a deadline.
 *
 * @module
 */

/** A line reader over `stream` (see {@linkcode lineReader}). */
export interface LineReader {
  /** Every line read so far. */
  all: string[];
  /** The next line (undefined at EOF); throws when none comes within `timeoutMs`. */
  next(timeoutMs?: number): Promise<string | undefined>;
  /** Reads up to the first line containing `text` (undefined at EOF). */
  until(text: string, timeoutMs?: number): Promise<string | undefined>;
  /** Reads to EOF. */
  rest(): Promise<void>;
}

/** Reads a child's stdout line by line. */
export function lineReader(stream: ReadableStream<Uint8Array>): LineReader {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const lines: string[] = [];
  let pending: Promise<ReadableStreamReadResult<string>> | undefined;
  const self: LineReader = {
    all: lines,
    async next(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (true) {
        const nl = buf.indexOf("\n");
        if (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          lines.push(line);
          return line;
        }
        pending ??= reader.read();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<"timeout">((r) => {
          timer = setTimeout(() => r("timeout"), Math.max(0, deadline - Date.now()));
        });
        const r = await Promise.race([pending, timeout]);
        clearTimeout(timer);
        if (r === "timeout") throw new Error(`no line within ${timeoutMs} ms`);
        pending = undefined;
        if (r.done) return undefined;
        buf += r.value;
      }
    },
    async until(text, timeoutMs = 30_000) {
      let line: string | undefined;
      do line = await self.next(timeoutMs); while (line !== undefined && !line.includes(text));
      return line;
    },
    async rest() {
      while ((await self.next(60_000)) !== undefined) { /* drain */ }
    },
  };
  return self;
}

/** Polls `cond` every 20 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
