/**
 * The install that works everywhere Deno runs: `deno task install` (`deno install --global` with
 * the permission flags and `--config`) gives a `wattwave` command; it and `deno task wattwave`
 * resolve relative paths against the caller's directory.
 */
import { pathExists } from "./support/assert.ts";
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { PERMISSION_FLAGS } from "./support/cli.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const dec = new TextDecoder();
const denoDir = Deno.execPath().replace(/\/[^/]+$/, "");
/**
 * A clean environment, as a user's shell gives: no INIT_CWD from the `deno task test` that runs
 * this test (Deno keeps an INIT_CWD it inherits, as npm does), Deno's cache where it is.
 */
const env: Record<string, string> = {
  PATH: `${denoDir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
};
for (const k of ["HOME", "DENO_DIR", "XDG_CACHE_HOME", "NO_COLOR"]) {
  const v = Deno.env.get(k);
  if (v !== undefined) env[k] = v;
}

async function run(cmd: string, args: string[], cwd: string) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const LINE = '{"name":"x","labels":{"a":"1"},"timestamp":1700000000000,"value":2.5}\n';

Deno.test("deno install --global gives a wattwave command that works from any directory", async () => {
  const installRoot = await Deno.makeTempDir({ prefix: "wattwave-install-" });
  const work = await Deno.makeTempDir({ prefix: "wattwave-elsewhere-" });
  try {
    const inst = await run(Deno.execPath(), [
      "install",
      "--global",
      "--force",
      "--root",
      installRoot,
      "--name",
      "wattwave",
      "--config",
      `${ROOT}deno.json`,
      ...PERMISSION_FLAGS,
      `${ROOT}main.ts`,
    ], work);
    assertEquals(inst.code, 0, inst.stderr);
    const bin = `${installRoot}/bin/wattwave`;
    const v = await run(bin, ["--version"], work);
    assertEquals(v.code, 0, v.stderr);
    assertEquals(v.stdout.trim(), JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).version);
    await Deno.writeTextFile(`${work}/in.ndjson`, LINE);
    const c = await run(bin, ["compress", "--store", "store", "in.ndjson"], work);
    assertEquals(c.code, 0, c.stderr);
    const e = await run(bin, ["export", "--store", "store", "--no-metadata"], work);
    assertEquals(e.stdout, LINE);
    // `deno task wattwave` from another directory: paths relative to the caller's directory.
    const t = await run(Deno.execPath(), [
      "task",
      "--quiet",
      "--config",
      `${ROOT}deno.json`,
      "wattwave",
      "export",
      "--store",
      "store",
      "--no-metadata",
    ], work);
    assertEquals(t.code, 0, t.stderr);
    assertEquals(t.stdout, LINE);
    assert(!(await pathExists(`${ROOT}store`)), "nothing written into the project directory");
  } finally {
    await Deno.remove(installRoot, { recursive: true });
    await Deno.remove(work, { recursive: true });
  }
});
