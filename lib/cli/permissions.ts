/**
 * The Deno permissions wattwave runs with: what `deno task wattwave`, `deno task compile` and the
 * CLI tests grant (`--allow-run` is for `nvidia-smi`, `--allow-sys` for the core count).
 *
 * @module
 */

/** The permission flags, in the order `deno.json` lists them. */
export const PERMISSION_FLAGS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
];
