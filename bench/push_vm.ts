/**
 * push: `wattwave push` of a large NDJSON file into VictoriaMetrics' remote write vs `curl`
 * posting the same samples to VictoriaMetrics' own JSON-lines import (`/api/v1/import`), in one
 * run, alternating, each against a fresh VictoriaMetrics. Prints wall times (medians), the ratio,
 * and peak RSS of both clients.
 *
 *   deno run -A bench/push_vm.ts [--samples 2000000] [--reps 3] [--data ../shared/data/nab]
 *
 * The samples are the Numenta NAB monitoring series (real data), replicated with a `replica`
 * label to reach the requested count and moved to recent timestamps.
 *
 * @module
 */
import { startVictoria } from "../tests/support/victoria.ts";
import { PERMISSION_FLAGS } from "../tests/support/cli.ts";
import {
  arg,
  curlPostArgv,
  fmt,
  median,
  nabDataArg,
  readNabSeries,
  timeCommand,
} from "./support.ts";

const SAMPLES = Number(arg("samples", "2000000"));
const REPS = Number(arg("reps", "3"));
const DATA = nabDataArg();

// Values as numbers: the NDJSON and VictoriaMetrics' JSON both carry them as JSON numbers.
const base = (await readNabSeries(DATA)).map((s) => ({
  file: s.file,
  ts: s.timestampsMs,
  values: s.values.map(Number),
}));
const perCopy = base.reduce((n, s) => n + s.ts.length, 0);
const copies = Math.ceil(SAMPLES / perCopy);
const dir = await Deno.makeTempDir({ prefix: "wattwave-bench-push-" });
const ndjsonPath = `${dir}/samples.ndjson`;
const vmPath = `${dir}/samples.vm.jsonl`;
{
  const nd = await Deno.open(ndjsonPath, { write: true, create: true, truncate: true });
  const vm = await Deno.open(vmPath, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  const nowMs = Date.now();
  for (let c = 0; c < copies; c++) {
    let ndText = "";
    let vmText = "";
    for (const s of base) {
      const shift = nowMs - s.ts[s.ts.length - 1] - 60_000;
      const labels = { file: s.file, replica: String(c) };
      const head = `{"name":"nab_value","labels":${JSON.stringify(labels)},"timestamp":`;
      const shifted = s.ts.map((t) => t + shift);
      for (let i = 0; i < shifted.length; i++) {
        ndText += `${head}${shifted[i]},"value":${s.values[i]}}\n`;
      }
      vmText += JSON.stringify({
        metric: { __name__: "nab_value", ...labels },
        values: s.values,
        timestamps: shifted,
      }) +
        "\n";
    }
    await nd.write(enc.encode(ndText));
    await vm.write(enc.encode(vmText));
  }
  nd.close();
  vm.close();
}
const total = copies * perCopy;
const ndBytes = (await Deno.stat(ndjsonPath)).size;
console.log(
  `${fmt(total)} samples in ${
    base.length * copies
  } series (${base.length} NAB files × ${copies}), ` +
    `NDJSON ${fmt(ndBytes / 1048576, 1)} MiB, VM JSON lines ${
      fmt((await Deno.stat(vmPath)).size / 1048576, 1)
    } MiB`,
);

const main = new URL("../main.ts", import.meta.url).pathname;
const CLIENTS = [
  "wattwave",
  "wattwave --parse-workers 0",
  "wattwave --parse-workers 2",
  "wattwave --batch-size 10000",
  "wattwave --queue-dir",
  "curl",
] as const;
const queueBytes: number[] = [];
const runs: Record<string, { s: number[]; rss: number[] }> = {};
for (const c of CLIENTS) runs[c] = { s: [], rss: [] };
for (let rep = 0; rep < REPS; rep++) {
  for (const who of CLIENTS) {
    const vm = await startVictoria();
    const push = [
      Deno.execPath(),
      "run",
      ...PERMISSION_FLAGS,
      main,
      "push",
      "--url",
      `${vm.url}/api/v1/write`,
    ];
    const queueDir = `${dir}/queue-${rep}`;
    const flags = who === "wattwave --queue-dir"
      ? ["--queue-dir", queueDir]
      : who.split(" ").slice(1);
    const argv = who === "curl"
      ? curlPostArgv(vmPath, `${vm.url}/api/v1/import`)
      : [...push, ...flags, ndjsonPath];
    const r = await timeCommand(argv);
    if (r.code !== 0) throw new Error(`${who} failed: ${r.stderr}`);
    const qb = /queued \d+ in (\d+) bytes/.exec(r.stderr);
    if (qb) queueBytes.push(Number(qb[1]));
    // Both ends must have landed every sample: ask VictoriaMetrics.
    await fetch(`${vm.url}/internal/force_flush`).then((x) => x.body?.cancel());
    const q = await (await fetch(
      `${vm.url}/api/v1/query?query=count_over_time(nab_value[10y])&time=${Date.now() / 1000}`,
    )).json();
    const landed = q.data.result.reduce(
      (n: number, x: { value: [number, string] }) => n + Number(x.value[1]),
      0,
    );
    await vm.stop();
    runs[who].s.push(r.seconds);
    runs[who].rss.push(r.peakRssMiB);
    console.log(
      `  ${who}: ${r.seconds.toFixed(2)} s, peak RSS ${
        r.peakRssMiB.toFixed(0)
      } MiB, VictoriaMetrics holds ${fmt(landed)} samples`,
    );
  }
}
const c = median(runs.curl.s);
console.log("\n| client | wall s (median) | samples/s | peak RSS MiB | ÷ curl |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const who of CLIENTS) {
  const w = median(runs[who].s);
  const name = who === "curl" ? "curl → /api/v1/import" : `${who} → /api/v1/write`;
  console.log(
    `| ${name} | ${w.toFixed(2)} | ${fmt(total / w)} | ${fmt(Math.max(...runs[who].rss))} | ${
      (w / c).toFixed(2)
    }× |`,
  );
}
if (queueBytes.length) {
  const w = median(runs["wattwave --queue-dir"].s) / median(runs.wattwave.s);
  console.log(
    `\n--queue-dir: ${(median(queueBytes) / total).toFixed(3)} queue bytes per sample, ` +
      `wall time ${w.toFixed(2)}× plain wattwave`,
  );
}
await Deno.remove(dir, { recursive: true });
