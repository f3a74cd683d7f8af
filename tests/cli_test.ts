/**
 * The command table as a user meets it: help, version, exit codes.
 */
import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { runWattwave } from "./support/cli.ts";
import { VERSION } from "../lib/version.ts";

const SUBCOMMANDS = ["sample", "push", "receive", "compress", "export", "serve-read", "replay-csv"];

Deno.test("wattwave --help lists every subcommand and the exit codes", async () => {
  const r = await runWattwave(["--help"]);
  assertEquals(r.code, 0);
  for (const c of SUBCOMMANDS) assertMatch(r.stdout, new RegExp(`\\n  ${c}\\b`));
  assertMatch(r.stdout, /Exit codes: 0 ok, 1 runtime\/input\/remote failure, 2 usage error/);
});

Deno.test("wattwave --version prints the version", async () => {
  const r = await runWattwave(["--version"]);
  assertEquals([r.code, r.stdout.trim()], [0, VERSION]);
});

Deno.test("every subcommand's --help shows options with defaults and an example", async () => {
  for (const c of SUBCOMMANDS) {
    const r = await runWattwave([c, "--help"]);
    assertEquals(r.code, 0, `${c}: ${r.stderr}`);
    assertMatch(r.stdout, /Example/, c);
    assertMatch(r.stdout, /--/, c);
    if (!/not built yet/.test(r.stdout)) assertMatch(r.stdout, /default/, c);
  }
});

Deno.test("usage errors exit 2 and say what was wrong", async () => {
  const unknown = await runWattwave(["frobnicate"]);
  assertEquals(unknown.code, 2);
  assertMatch(unknown.stderr, /unknown command 'frobnicate'/);
  const badOption = await runWattwave(["receive", "--nope"]);
  assertEquals(badOption.code, 2);
  assertMatch(badOption.stderr, /unknown option '--nope'/);
  const badPort = await runWattwave(["receive", "--port", "70000"]);
  assertEquals(badPort.code, 2);
  assertMatch(badPort.stderr, /expected a port 0-65535 \(got "70000"\)/);
  const badFormat = await runWattwave(["receive", "--format", "xml"]);
  assertEquals(badFormat.code, 2);
  assert(/Allowed choices are ndjson, arroyo/.test(badFormat.stderr), badFormat.stderr);
});

Deno.test("a missing input file is a clear error, exit 1", async () => {
  const r = await runWattwave([
    "push",
    "--url",
    "http://127.0.0.1:1/api/v1/write",
    "/nonexistent/x.ndjson",
  ]);
  assertEquals(r.code, 1);
  assertMatch(r.stderr, /\/nonexistent\/x\.ndjson: cannot open input file/);
  assert(!/at .*\.ts:\d+/.test(r.stderr), "no stack trace");
});
