/**
 * One remote-write request of many series × 1 sample (default 1,000,000) into `receive` (NDJSON
 * to /dev/null) and `receive --store`: time to the answer, peak RSS of the server, and the
 * slowest `/-/healthy` answer while the request was in progress (polled every 20 ms).
 *
 *   deno run -A bench/million_series.ts [--series 1000000] [--mode plain,store]
 *
 * @module
 */
import { encodeWriteRequest } from "../lib/remote/codec/write_request.ts";
import { snappyEncode } from "../lib/remote/codec/snappy.ts";
import { startReceive } from "../tests/support/receive.ts";
import { arg } from "./support.ts";

const seriesCount = Number(arg("series", "1000000"));
const modes = arg("mode", "plain,store").split(",");

/** A WriteRequest body of `n` series × 1 sample, two labels (~7 MiB for a million, ~40 MiB decoded). */
export function millionSeriesBody(n: number, timestampMs = 1_700_000_000_000): Uint8Array {
  const series = [];
  for (let i = 0; i < n; i++) {
    series.push({
      labels: [
        ["__name__", "probe"],
        ["id", String(i)],
      ] as [string, string][],
      timestampsMs: [timestampMs],
      values: new Float64Array([i * 0.5]),
    });
  }
  return snappyEncode(encodeWriteRequest(series));
}

function rssMiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

if (import.meta.main) {
  const body = millionSeriesBody(seriesCount);
  console.log(`${seriesCount} series x 1 sample: body ${(body.length / 2 ** 20).toFixed(1)} MiB`);
  for (const mode of modes) {
    const dir = await Deno.makeTempDir();
    const recv = await startReceive(mode === "store" ? ["--store", dir, "--quiet"] : ["--quiet"]);
    try {
      let worstMs = 0;
      let polling = true;
      const poll = (async () => {
        while (polling) {
          const t = performance.now();
          await (await fetch(`${recv.baseUrl}/-/healthy`)).text();
          worstMs = Math.max(worstMs, performance.now() - t);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const t0 = performance.now();
      const res = await fetch(recv.url, {
        method: "POST",
        headers: { "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf" },
        body,
      });
      await res.text();
      const seconds = (performance.now() - t0) / 1000;
      polling = false;
      await poll;
      console.log(
        `${mode}: ${res.status} in ${seconds.toFixed(1)} s, peak RSS ${
          rssMiB(recv.pid).toFixed(0)
        } MiB, slowest /-/healthy ${worstMs.toFixed(0)} ms`,
      );
    } finally {
      await recv.stop();
      await Deno.remove(dir, { recursive: true });
    }
  }
}
