/**
 * A real VictoriaMetrics (Debian's `victoria-metrics`) on 127.0.0.1 with its own data dir.
 *
 * @module
 */
import { collect, freePort, waitForHttp } from "./net.ts";
import { peerBin } from "./peers.ts";

/** A running VictoriaMetrics. */
export interface VictoriaHandle {
  /** Base URL. */
  url: string;
  /** Its process id (for RSS readings). */
  pid: number;
  /** Its data directory. */
  dataDir: string;
  /** Stops it, removes the data directory (unless `keepData`), returns its log. */
  stop(options?: { keepData?: boolean }): Promise<string>;
}

/** Starts VictoriaMetrics and waits for `/health`. */
export async function startVictoria(flags: string[] = []): Promise<VictoriaHandle> {
  const port = freePort();
  const dataDir = await Deno.makeTempDir({ prefix: "wattwave-vm-" });
  const child = new Deno.Command(peerBin("victoria-metrics"), {
    args: [
      `-httpListenAddr=127.0.0.1:${port}`,
      `-storageDataPath=${dataDir}`,
      "-loggerLevel=ERROR",
      "-retentionPeriod=100y",
      ...flags,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log = collect(child.stderr);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health`, 60_000);
  return {
    url,
    pid: child.pid,
    dataDir,
    async stop(options = {}) {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      if (!options.keepData) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      return await log;
    },
  };
}
