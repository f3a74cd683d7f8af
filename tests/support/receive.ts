/**
 * Starting `wattwave receive` on a free port for a test and reading what it prints.
 *
 * @module
 */
import { spawnWattwave } from "./cli.ts";
import { collect } from "./net.ts";

/** A running `wattwave receive`. */
export interface ReceiveHandle {
  /** The remote-write URL. */
  url: string;
  /** Base URL (`http://127.0.0.1:PORT`). */
  baseUrl: string;
  /** Sends SIGTERM and returns exit code, stdout and stderr. */
  stop(): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Starts `wattwave receive --port 0 args...` and waits for its "listening on" line. */
export async function startReceive(args: string[] = []): Promise<ReceiveHandle> {
  const child = spawnWattwave(["receive", "--port", "0", ...args]);
  const stdout = collect(child.stdout);
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  let url = "";
  const deadline = Date.now() + 30_000;
  while (!url) {
    if (Date.now() > deadline) throw new Error(`receive did not start: ${stderr}`);
    const { done, value } = await reader.read();
    if (done) throw new Error(`receive exited: ${stderr}`);
    stderr += value;
    const m = /listening on (http:\/\/\S+)/.exec(stderr);
    if (m) url = m[1];
  }
  const rest = (async () => {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      stderr += value;
    }
  })();
  return {
    url,
    baseUrl: new URL(url).origin,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      const status = await child.status;
      await rest;
      return { code: status.code, stdout: await stdout, stderr };
    },
  };
}
