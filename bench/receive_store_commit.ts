/**
 * Commit latency of `receive --store` into a store of N series, as Prometheus would see it: the
 * time to the 204 of a remote-write request of N series × 1 sample (the store's first fill), of
 * a second one (a scrape of every series), then of 1-series requests (median of `--reps`), and
 * the server's peak RSS. Run it in an old checkout too for before/after figures.
 *
 *   deno run -A bench/receive_store_commit.ts [--series 1000,10000,100000,1000000] [--reps 9]
 *
 * @module
 */
import { millionSeriesBody } from "./million_series.ts";
import { startReceive } from "../tests/support/receive.ts";
import { arg, median, peakRssMiB } from "./support.ts";

const sizes = arg("series", "1000,10000,100000,1000000").split(",").map(Number);
const reps = Number(arg("reps", "9"));
const T0 = 1_700_000_000_000;

async function post(url: string, body: Uint8Array): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf" },
    body: body as BodyInit,
  });
  await res.text();
  if (res.status !== 204) throw new Error(`receive answered ${res.status}`);
  return performance.now() - t0;
}

for (const n of sizes) {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-receive-commit-" });
  const recv = await startReceive(["--store", dir, "--quiet"]);
  try {
    const fillMs = await post(recv.url, millionSeriesBody(n, T0));
    const scrapeMs = await post(recv.url, millionSeriesBody(n, T0 + 15_000));
    const one: number[] = [];
    for (let r = 0; r < reps; r++) {
      one.push(await post(recv.url, millionSeriesBody(1, T0 + 30_000 + r)));
    }
    console.log(
      `${n} series: first request ${fillMs.toFixed(0)} ms, scrape request (${n} samples) ` +
        `${scrapeMs.toFixed(0)} ms, 1-sample request median ${median(one).toFixed(1)} ms ` +
        `(max ${Math.max(...one).toFixed(1)}), server peak RSS ${
          peakRssMiB(recv.pid)?.toFixed(0)
        } MiB`,
    );
  } finally {
    await recv.stop();
    await Deno.remove(dir, { recursive: true });
  }
}
