/**
 * The few error classes wattwave uses. Only `main.ts` maps them to exit codes:
 * {@linkcode UsageError} → 2, everything else → 1.
 *
 * @module
 */

/** The command line was wrong: a bad flag, a missing option, a value out of range. Exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Input data was malformed: an NDJSON line, a CSV row, a FLAC stream, a protobuf body. */
export class InputError extends Error {
  override name = "InputError";
  /** Where the bad input was (for example `stdin:12` or `byte 4096, frame 3`), when known. */
  readonly where?: string;
  constructor(message: string, options: { where?: string; cause?: unknown } = {}) {
    super(options.where ? `${options.where}: ${message}` : message, { cause: options.cause });
    this.where = options.where;
  }
}

/** A remote peer failed: an HTTP status or a network error, and whether a retry could succeed. */
export class RemoteError extends Error {
  override name = "RemoteError";
  /** The HTTP status, or 0 for a network error (no answer). */
  readonly status: number;
  /** Whether sending the same request again may succeed (network errors, 5xx, 429). */
  readonly retryable: boolean;
  /** For 429 and 503: how long the peer asked us to wait, in milliseconds. */
  readonly retryAfterMs?: number;
  /** The request cannot work with this configuration at all (a blocked port, no permission). */
  readonly permanent: boolean;
  /** HTTP attempts made before giving up (set by the sender; 1 when not retried). */
  attempts = 1;
  constructor(
    message: string,
    options: {
      status: number;
      retryable: boolean;
      retryAfterMs?: number;
      permanent?: boolean;
      cause?: unknown;
    },
  ) {
    super(message, { cause: options.cause });
    this.status = options.status;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.permanent = options.permanent ?? false;
  }
}

/** A run finished but did not do everything it was asked (bad lines skipped, samples dropped). Exit 1, no stack. */
export class IncompleteRunError extends Error {
  override name = "IncompleteRunError";
}

/**
 * What to do when the Deno runtime refused a permission (`NotCapable`): Deno's own text says
 * "run again with the --allow-read flag", which means nothing to a user of the `wattwave` command.
 * Returns undefined for any other error.
 */
export function permissionHint(err: unknown): string | undefined {
  if (!(err instanceof Deno.errors.NotCapable)) return undefined;
  const m = /^Requires (\w+) access to (.+?), run again with the (--allow-\w+) flag/.exec(
    err.message,
  );
  if (!m) return `the runtime refused a permission (${err.message})`;
  return `the runtime refused ${m[1]} access to ${m[2]}: wattwave needs ` +
    `--allow-read --allow-write --allow-net --allow-env --allow-run --allow-sys; run the ` +
    `installed \`wattwave\` command or \`deno task wattwave\`, which grant them, or add ${m[3]} ` +
    `to your \`deno run\``;
}

/** Describes any thrown value in one line, for logs. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
