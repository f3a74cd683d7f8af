/**
 * A status line on a terminal: one line on stderr rewritten in place (rate, progress, last
 * error), cleared before any log line and before the summary, then redrawn.
 *
 * In a pipeline only the last stage draws (`sample | push`: push), so that two stages never
 * overwrite each other's line: a stage draws only when stderr is a terminal and its stdout is
 * not a pipe.
 *
 * @module
 */

const enc = new TextEncoder();
const CLEAR = enc.encode("\r\x1b[K");

/**
 * Whether stdout is a pipe (this process is not the last stage of a pipeline). Deno has no
 * fstat and refuses to stat `/dev/stdout` without --allow-all, so `test -p /dev/stdout` is
 * asked with our stdout (once, ~10 ms, only when stderr is a terminal).
 */
function stdoutIsPipe(): boolean {
  try {
    return new Deno.Command("test", {
      args: ["-p", "/dev/stdout"],
      stdin: "null",
      stdout: "inherit",
      stderr: "null",
    }).outputSync().code === 0;
  } catch {
    return !Deno.stdout.isTerminal(); // no `test`: only a stage writing to the terminal draws
  }
}

/** Whether this process should draw a status line: stderr a terminal, stdout not a pipe. */
export function shouldDrawStatus(): boolean {
  if (drawStatus === undefined) {
    try {
      drawStatus = Deno.stderr.isTerminal() && !stdoutIsPipe();
    } catch {
      drawStatus = false;
    }
  }
  return drawStatus;
}
let drawStatus: boolean | undefined;

/** Options of {@linkcode StatusLine}. */
export interface StatusLineOptions {
  /** Draw at all. Default {@linkcode shouldDrawStatus}(). */
  enabled?: boolean;
  /** Where bytes go. Default stderr (synchronous writes). */
  write?: (bytes: Uint8Array) => void;
  /** Terminal width the line is cut to, in characters. Default the terminal's, else 100. */
  columns?: number;
}

/** One line rewritten in place on stderr while enabled; log lines pass above it. */
export class StatusLine {
  /** Whether the line is drawn (else {@linkcode draw} does nothing, {@linkcode log} just logs). */
  readonly enabled: boolean;
  readonly #write: (bytes: Uint8Array) => void;
  readonly #columns: number;
  #text = "";
  #shown = false;

  /** A status line (see {@linkcode StatusLineOptions} for defaults). */
  constructor(options: StatusLineOptions = {}) {
    this.enabled = options.enabled ?? shouldDrawStatus();
    this.#write = options.write ?? ((b) => {
      let at = 0;
      while (at < b.length) at += Deno.stderr.writeSync(b.subarray(at));
    });
    let columns = options.columns;
    if (columns === undefined) {
      try {
        columns = Deno.consoleSize().columns;
      } catch {
        columns = 100;
      }
    }
    this.#columns = Math.max(20, columns);
  }

  /** Shows `text` (cut to the terminal's width) in place of the previous status. */
  draw(text: string): void {
    if (!this.enabled) return;
    this.#text = text.length >= this.#columns ? text.slice(0, this.#columns - 2) + "…" : text;
    this.#write(enc.encode(`\r\x1b[K${this.#text}`));
    this.#shown = true;
  }

  /** Writes one log line on stderr above the status line, which is then drawn again. */
  log(line: string): void {
    if (!this.enabled) {
      console.error(line);
      return;
    }
    this.#write(enc.encode(`\r\x1b[K${line}\n${this.#shown ? this.#text : ""}`));
  }

  /** Removes the status line (before a summary, on exit). */
  clear(): void {
    if (!this.#shown) return;
    this.#write(CLEAR);
    this.#shown = false;
    this.#text = "";
  }
}
