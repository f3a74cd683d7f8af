/**
 * `deno task compile`: builds `dist/wattwave` with `deno compile`, the permissions the tool
 * needs, the prompb schemas and every worker module of `lib/workers/modules.ts` (workers are
 * started from URLs, which `deno compile` cannot find by itself).
 *
 * @module
 */
import { PERMISSION_FLAGS } from "../lib/cli/permissions.ts";
import { WORKER_MODULES } from "../lib/workers/modules.ts";

const root = new URL("../", import.meta.url).pathname;
const includes = Object.values(WORKER_MODULES).flatMap((url) => [
  "--include",
  url.pathname.slice(root.length),
]);
const args = [
  "compile",
  ...PERMISSION_FLAGS,
  "--include",
  "proto",
  ...includes,
  "--output",
  "dist/wattwave",
  "main.ts",
  ...Deno.args,
];
console.error(`deno ${args.join(" ")}`);
const status = await new Deno.Command(Deno.execPath(), { args, cwd: root }).spawn().status;
Deno.exit(status.code);
