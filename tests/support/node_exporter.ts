/**
 * A real prometheus-node-exporter on 127.0.0.1 for scrape tests.
 *
 * @module
 */
import { freePort, waitForHttp } from "./net.ts";
import { peerBin } from "./peers.ts";

/** A running node-exporter: its `host:port` target and a stop function. */
export interface NodeExporterHandle {
  target: string;
  stop(): Promise<void>;
}

/** Starts node-exporter with a few cheap collectors. */
export async function startNodeExporter(): Promise<NodeExporterHandle> {
  const port = freePort();
  const child = new Deno.Command(peerBin("node-exporter"), {
    args: [
      `--web.listen-address=127.0.0.1:${port}`,
      "--collector.disable-defaults",
      "--collector.loadavg",
      "--collector.meminfo",
      "--collector.cpu",
      "--collector.time",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const target = `127.0.0.1:${port}`;
  await waitForHttp(`http://${target}/metrics`, 30_000);
  return {
    target,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
    },
  };
}
