/**
 * Starting wattwave's servers (`receive`, `serve-read`) on a free port for a test, and reading
 * what they print.
 *
 * @module
 */
import { spawnWattwave } from "./cli.ts";
import { collect } from "./net.ts";

/** A running wattwave server. */
export interface ServerHandle {
  /** The URL from its "listening on" line (the write or read endpoint). */
  url: string;
  /** Base URL (`http://127.0.0.1:PORT`). */
  baseUrl: string;
  /** Process id (for `/proc/<pid>/status` in benchmarks). */
  pid: number;
  /** Sends SIGTERM and returns exit code, stdout and stderr. */
  stop(): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Starts `wattwave args...` (which must listen on `--port 0`) and waits for its "listening on" line. */
export async function startWattwaveServer(
  args: string[],
  options: { prefix?: string[]; env?: Record<string, string> } = {},
): Promise<ServerHandle> {
  const child = spawnWattwave(args, { prefix: options.prefix, env: options.env });
  const stdout = collect(child.stdout);
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  let url = "";
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    while (!url) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`wattwave ${args[0]} exited: ${stderr}`);
      stderr += value;
      url = /listening on (https?:\/\/\S+)/.exec(stderr)?.[1] ?? "";
    }
  } finally {
    clearTimeout(timer);
  }
  const rest = (async () => {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      stderr += value;
    }
  })();
  let stopped: Promise<{ code: number; stdout: string; stderr: string }> | undefined;
  return {
    url,
    baseUrl: new URL(url).origin,
    pid: child.pid,
    stop() {
      stopped ??= (async () => {
        try {
          child.kill("SIGTERM");
        } catch { /* gone */ }
        const status = await child.status;
        await rest;
        return { code: status.code, stdout: await stdout, stderr };
      })();
      return stopped;
    },
  };
}

/** Starts `wattwave receive --port 0 args...` (under `prefix`, e.g. `prlimit`, when given). */
export function startReceive(
  args: string[] = [],
  options: { prefix?: string[]; env?: Record<string, string> } = {},
): Promise<ServerHandle> {
  return startWattwaveServer(["receive", "--port", "0", ...args], options);
}

/** Starts `wattwave serve-read --port 0 args...`; `stop()` of the result returns its stderr. */
export async function startServeRead(
  args: string[],
): Promise<{ baseUrl: string; stop(): Promise<string> }> {
  const s = await startWattwaveServer(["serve-read", "--port", "0", ...args]);
  return { baseUrl: s.baseUrl, stop: async () => (await s.stop()).stderr };
}
