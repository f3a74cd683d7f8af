/**
 * Commit latency of a store holding N series: one commit of N series × 1 sample (a scrape of
 * every series), then 1-sample commits (median of `--reps`), the time to open the store again,
 * and this process's peak RSS. Run it in an old checkout too for before/after figures.
 *
 *   deno run -A bench/store_commit.ts [--series 1000,10000,100000] [--reps 5]
 *
 * @module
 */
import { Store } from "../lib/store/mod.ts";
import { arg } from "./support.ts";

const sizes = arg("series", "1000,10000,100000").split(",").map(Number);
const reps = Number(arg("reps", "5"));
const T0 = 1_700_000_000_000;

function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
  return Number(m?.[1] ?? NaN) / 1024;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const n of sizes) {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-commit-" });
  try {
    const store = await Store.open(dir);
    const scrape = async (t: number) => {
      for (let i = 0; i < n; i++) {
        await store.append([["__name__", "probe"], ["id", String(i)]], [t], new Float64Array([i]));
      }
      const t0 = performance.now();
      await store.commit();
      return performance.now() - t0;
    };
    const fillMs = await scrape(T0);
    const scrapeMs = await scrape(T0 + 15_000);
    const one: number[] = [];
    for (let r = 0; r < reps; r++) {
      await store.append(
        [["__name__", "probe"], ["id", "1"]],
        [T0 + 30_000 + r],
        new Float64Array([r]),
      );
      const t0 = performance.now();
      await store.commit();
      one.push(performance.now() - t0);
    }
    await store.close();
    const t0 = performance.now();
    const again = await Store.open(dir, { readOnly: true });
    const openMs = performance.now() - t0;
    const series = again.stats().series;
    console.log(
      `${n} series: first commit ${fillMs.toFixed(0)} ms, scrape commit (${n} samples) ` +
        `${scrapeMs.toFixed(0)} ms, 1-sample commit median ${median(one).toFixed(1)} ms ` +
        `(max ${Math.max(...one).toFixed(1)}), open ${openMs.toFixed(0)} ms (${series} series), ` +
        `peak RSS ${peakRssMiB().toFixed(0)} MiB`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
