/**
 * One remote-write request of many series × 1 sample (default 1,000,000) into `receive` (NDJSON
 * to /dev/null) and `receive --store`: time to the answer, peak RSS of the server (and its RSS
 * before the request), and the slowest `/-/healthy` answer while the request was in progress
 * (polled every 20 ms by a process of its own).
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

/** Polls the URL given every 20 ms until its stdin closes, then prints the slowest answer, ms. */
const POLLER = `
const url = Deno.args[0];
let worst = 0;
let polling = true;
(async () => { for await (const _ of Deno.stdin.readable) {} polling = false; })();
while (polling) {
  const t = performance.now();
  await (await fetch(url)).text();
  worst = Math.max(worst, performance.now() - t);
  await new Promise((r) => setTimeout(r, 20));
}
console.log(worst.toFixed(0));
`;
const modes = arg("mode", "plain,store").split(",");

/** A WriteRequest body of `n` series × 1 sample, two labels (6.9 MiB for a million, 50 MiB decoded). */
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

function rssMiB(pid: number, field = "VmHWM"): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(
      Deno.readTextFileSync(`/proc/${pid}/status`),
    );
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
      // The poller is a process of its own: in this one, collecting the garbage of building the
      // body would count as the server's pauses.
      const poller = new Deno.Command(Deno.execPath(), {
        args: ["eval", POLLER, `${recv.baseUrl}/-/healthy`],
        stdin: "piped",
        stdout: "piped",
      }).spawn();
      await new Promise((r) => setTimeout(r, 300)); // the poller is up
      const idleMiB = rssMiB(recv.pid, "VmRSS");
      const t0 = performance.now();
      const res = await fetch(recv.url, {
        method: "POST",
        headers: { "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf" },
        body: body as BodyInit,
      });
      await res.text();
      const seconds = (performance.now() - t0) / 1000;
      await poller.stdin.close();
      const worstMs = Number(new TextDecoder().decode((await poller.output()).stdout));
      console.log(
        `${mode}: ${res.status} in ${seconds.toFixed(1)} s, peak RSS ${
          rssMiB(recv.pid).toFixed(0)
        } MiB (idle ${idleMiB.toFixed(0)} MiB), slowest /-/healthy ${worstMs.toFixed(0)} ms`,
      );
    } finally {
      await recv.stop();
      await Deno.remove(dir, { recursive: true });
    }
  }
}
