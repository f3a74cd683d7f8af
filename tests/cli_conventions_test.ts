/**
 * The CLI conventions a cron job and a terminal user rely on: one help style, errors that name
 * their object, exit codes, a status line that only the last stage of a pipeline draws.
 */
import { pathExists } from "./support/assert.ts";
import { deepStrictEqual as assertEquals, match as assertMatch, ok as assert } from "node:assert";
import { MAIN_TS, PERMISSION_FLAGS, runWattwave } from "./support/cli.ts";
import { startReceive, startWattwaveServer } from "./support/receive.ts";
import { buildProgram } from "../main.ts";
import { shownDefault } from "../lib/cli/help.ts";

const SUBCOMMANDS = [
  "sample",
  "push",
  "receive",
  "compress",
  "export",
  "inspect",
  "serve-read",
  "replay-csv",
];

Deno.test("--help: defaults as a user types them, required options marked, one style", async () => {
  for (const cmd of buildProgram().commands) {
    for (const option of cmd.options) {
      const d = shownDefault(option);
      if (d === undefined) continue;
      // Sizes as 32MiB, never 33554432; strings unquoted; no [] or {}.
      assert(
        !/^\d{7,}$/.test(d) || option.flags.includes("<n>"),
        `${cmd.name()} ${option.flags}: ${d}`,
      );
      assert(!/^["[{]/.test(d), `${cmd.name()} ${option.flags}: ${d}`);
    }
  }
  for (const name of SUBCOMMANDS) {
    const r = await runWattwave([name, "--help"]);
    assertEquals(r.code, 0, r.stderr);
    assert(!/\(default: [^)]*\) \(default/.test(r.stdout.replace(/\s+/g, " ")), r.stdout);
    assert(!/default: "|default: \[\]|choices: "/.test(r.stdout), r.stdout);
    assert(r.stdout.includes("Example"), `${name} --help has an example`);
  }
  const receive = (await runWattwave(["receive", "--help"])).stdout.replace(/\s+/g, " ");
  assert(receive.includes("(default: 64MiB)") && receive.includes("cores-2"), receive);
  const exp = (await runWattwave(["export", "--help"])).stdout.replace(/\s+/g, " ");
  assert(exp.includes("store directory (required)"), exp);
  const push = (await runWattwave(["push", "--help"])).stdout.replace(/\s+/g, " ");
  assert(push.includes("env: REMOTE_WRITE_URL, required"), push);
  // The top-level description is not broken mid-sentence by a hard newline.
  assert(!buildProgram().description().includes("\n"));
});

Deno.test("errors name their object: a port in use, an input that is a directory, a refused permission", async () => {
  const recv = await startReceive();
  try {
    const port = new URL(recv.baseUrl).port;
    const busy = await runWattwave(["receive", "--port", port]);
    assertEquals(busy.code, 1, busy.stderr);
    assertMatch(
      busy.stderr,
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`),
    );
  } finally {
    await recv.stop();
  }
  const dir = await Deno.makeTempDir();
  try {
    const push = await runWattwave(["push", "--url", "http://127.0.0.1:9/api/v1/write", dir]);
    assertEquals(push.code, 1, push.stderr);
    assertMatch(push.stderr, new RegExp(`${dir}: cannot read input file: it is a directory`));
    // compress with a missing input leaves no store behind.
    const store = `${dir}/store`;
    const missing = await runWattwave(["compress", "--store", store, `${dir}/nope.ndjson`]);
    assertEquals(missing.code, 1, missing.stderr);
    assertMatch(missing.stderr, /nope\.ndjson: cannot open input file/);
    assert(!(await pathExists(store)), "no empty store left behind");
    // A permission the runtime refuses: what to do, not Deno's "run again with --allow-read".
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        `--allow-read=${MAIN_TS.replace(/\/main\.ts$/, "")}`,
        MAIN_TS,
        "export",
        "--store",
        dir,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 1, stderr);
    assertMatch(stderr, /the runtime refused read access to ".*": wattwave needs --allow-read/);
    assert(!stderr.includes("    at "), stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compress --report json writes only the JSON, on stdout; export --no-metadata only samples", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const input = '{"metadata":{"name":"x","type":"gauge"}}\n' +
      '{"name":"x","timestamp":1700000000000,"value":1}\n{"name":"x","timestamp":1700000001000,"value":2}\n';
    const c = await runWattwave(["compress", "--store", `${dir}/s`, "--report", "json"], {
      stdin: input,
    });
    assertEquals(c.code, 0, c.stderr);
    assertEquals(JSON.parse(c.stdout).samples, 2);
    const e = await runWattwave(["export", "--store", `${dir}/s`, "--no-metadata"]);
    assertEquals(e.code, 0, e.stderr);
    assertEquals(e.stdout.trim().split("\n").map((l) => JSON.parse(l).value), [1, 2]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("on a terminal only the last stage of a pipeline draws its status line, cleared before the summary", async () => {
  const recv = await startReceive();
  const dir = await Deno.makeTempDir();
  try {
    const rows = ["timestamp,value"];
    for (let i = 0; i < 40; i++) rows.push(`${1700000000 + i},${i}`);
    await Deno.writeTextFile(`${dir}/a.csv`, rows.join("\n") + "\n");
    const run = (args: string[]) =>
      [Deno.execPath(), "run", "--quiet", ...PERMISSION_FLAGS, MAIN_TS, ...args].map((a) =>
        `'${a}'`
      ).join(" ");
    // replay-csv paced at 20 rows/s (2 s) | push: both on the terminal `script` gives them.
    const pipeline = `${run(["replay-csv", "--speed", "1", "--metric", "x", `${dir}/a.csv`])} | ` +
      `${run(["push", "--url", recv.url, "--batch-size", "5", "--flush-interval", "100ms"])}`;
    const out = await new Deno.Command("script", {
      args: ["-qec", pipeline.replaceAll("'--speed' '1'", "'--speed' '20'"), "/dev/null"],
      stdout: "piped",
      stderr: "piped",
      env: { COLUMNS: "200" },
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, text);
    assert(text.includes("\r\x1b[Kpush: "), JSON.stringify(text));
    assert(!text.includes("\x1b[Kreplay-csv:"), JSON.stringify(text)); // not the last stage
    // The summary comes after the line was cleared, on a line of its own.
    const summaryAt = text.indexOf("wattwave push: read 40 samples (0 bad lines), sent 40");
    assert(summaryAt > 0 && text.slice(0, summaryAt).endsWith("\r\x1b[K"), JSON.stringify(text));
  } finally {
    await recv.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--web.listen-address host:port on every server; --bind/--port aliases; serve-read's own port", async () => {
  const recv = await startWattwaveServer(["receive", "--web.listen-address", "127.0.0.1:0"]);
  try {
    assertMatch(recv.url, /^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/write$/);
    assertEquals(await fetch(`${recv.baseUrl}/-/healthy`).then((r) => r.body?.cancel()), undefined);
  } finally {
    await recv.stop();
  }
  const v6 = await startWattwaveServer(["receive", "--web.listen-address", "[::1]:0"]);
  try {
    assertMatch(v6.url, /^http:\/\/\[::1\]:\d+\/api\/v1\/write$/);
  } finally {
    await v6.stop();
  }
  const both = await runWattwave(["receive", "--web.listen-address", ":9201", "--port", "1"]);
  assertEquals(both.code, 2, both.stderr);
  assertMatch(both.stderr, /--web.listen-address replaces --bind and --port/);
  const bad = await runWattwave(["serve-read", "--store", "x", "--web.listen-address", "9201"]);
  assertEquals(bad.code, 2, bad.stderr);
  assertMatch(bad.stderr, /expected host:port, :port or \[ipv6\]:port/);
  const help = (await runWattwave(["serve-read", "--help"])).stdout.replace(/\s+/g, " ");
  assert(help.includes("(default: 127.0.0.1:9202)"), help);
});
