/**
 * replay-csv: throughput and memory on a large CSV, and `replay-csv | push` into
 * VictoriaMetrics against `curl` posting the same CSV to VictoriaMetrics' own CSV import.
 *
 *   deno run -A bench/replay_csv_bench.ts [--rows 5000000] [--reps 3] [--data ../shared/data/nab]
 *
 * The CSV is built from the real NAB monitoring series (every `*.csv` under `--data`): each file
 * is moved so that it ends a minute ago (unix-second timestamps), then repeated with a `replica`
 * label until `--rows` rows are reached: `timestamp,file,replica,value`, in time order per series.
 *
 * 1. `wattwave replay-csv --speed max --label-columns file,replica --metric nab_value FILE >/dev/null`,
 *    `--reps` times: wall time (median), rows/s, peak RSS (GNU time's %M).
 * 2. In one run, each against a fresh VictoriaMetrics: `replay-csv FILE | push --url .../api/v1/write`
 *    vs `curl --data-binary @FILE '.../api/v1/import/csv?format=1:time:unix_s,2:label:file,...'`
 *    (the same bytes; VictoriaMetrics skips the header row it cannot parse). Wall times, the ratio,
 *    and the sample count VictoriaMetrics holds afterwards.
 *
 * @module
 */
import { startVictoria, type VictoriaHandle } from "../tests/support/victoria.ts";
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

const ROWS = Number(arg("rows", "5000000"));
const REPS = Number(arg("reps", "3"));
const DATA = nabDataArg();

// Real series in unix seconds, moved to end a minute ago; values as written in the files.
const nowS = Math.floor(Date.now() / 1000);
const base = (await readNabSeries(DATA)).map((s) => {
  const ts = s.timestampsMs.map((t) => t / 1000);
  const shift = nowS - 60 - Math.max(...ts);
  return { file: s.file, ts: ts.map((t) => t + shift), values: s.values };
});
const perCopy = base.reduce((n, s) => n + s.ts.length, 0);
const copies = Math.ceil(ROWS / perCopy);
const dir = await Deno.makeTempDir({ prefix: "wattwave-bench-replay-" });
const csvPath = `${dir}/nab_replicated.csv`;
{
  const f = await Deno.open(csvPath, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  await f.write(enc.encode("timestamp,file,replica,value\n"));
  for (let c = 0; c < copies; c++) {
    let text = "";
    for (const s of base) {
      const mid = `,${s.file},r${c},`;
      for (let i = 0; i < s.ts.length; i++) text += s.ts[i] + mid + s.values[i] + "\n";
    }
    await f.write(enc.encode(text));
  }
  f.close();
}
const total = copies * perCopy;
const csvBytes = (await Deno.stat(csvPath)).size;
console.log(
  `${fmt(total)} rows in ${
    fmt(base.length * copies)
  } series (${base.length} NAB files × ${copies} replicas), ` +
    `CSV ${fmt(csvBytes / 1048576, 1)} MiB`,
);

const main = new URL("../main.ts", import.meta.url).pathname;
const deno = Deno.execPath();
const replayArgs = [
  "replay-csv",
  "--speed",
  "max",
  "--label-columns",
  "file,replica",
  "--metric",
  "nab_value",
  csvPath,
];
const replayArgv = [deno, "run", "--quiet", ...PERMISSION_FLAGS, main, ...replayArgs];

// 1. replay-csv alone.
const seconds: number[] = [];
const rss: number[] = [];
for (let rep = 0; rep < REPS; rep++) {
  const r = await timeCommand(replayArgv);
  if (r.code !== 0) throw new Error(`replay-csv failed: ${r.stderr}`);
  seconds.push(r.seconds);
  rss.push(r.peakRssMiB);
  console.log(
    `  replay-csv --speed max > /dev/null: ${r.seconds.toFixed(2)} s, ${
      fmt(total / r.seconds)
    } rows/s, ` +
      `peak RSS ${r.peakRssMiB.toFixed(0)} MiB`,
  );
}
const replayS = median(seconds);

// 2. replay-csv | push vs curl → /api/v1/import/csv.
async function landed(vm: VictoriaHandle): Promise<number> {
  await fetch(`${vm.url}/internal/force_flush`).then((x) => x.body?.cancel());
  const q = await (await fetch(
    `${vm.url}/api/v1/query?query=${
      encodeURIComponent("sum(count_over_time(nab_value[10y]))")
    }&time=${Date.now() / 1000}`,
  )).json();
  return Number(q.data.result[0]?.value[1] ?? 0);
}
const pipeline: Record<string, { s: number; rss: number; landed: number }> = {};
for (const who of ["wattwave", "curl"] as const) {
  const vm = await startVictoria();
  try {
    const q = (s: string) => `'${s.replaceAll("'", `'"'"'`)}'`;
    const argv = who === "wattwave"
      ? [
        "sh",
        "-c",
        `${replayArgv.map(q).join(" ")} | ${
          [
            deno,
            "run",
            "--quiet",
            ...PERMISSION_FLAGS,
            main,
            "push",
            "--url",
            `${vm.url}/api/v1/write`,
          ]
            .map(q).join(" ")
        }`,
      ]
      : curlPostArgv(
        csvPath,
        `${vm.url}/api/v1/import/csv?format=1:time:unix_s,2:label:file,3:label:replica,4:metric:nab_value`,
      );
    const r = await timeCommand(argv);
    if (who === "wattwave" && r.code !== 0) throw new Error(`replay | push failed: ${r.stderr}`);
    if (who === "curl" && r.code !== 0) throw new Error(`curl failed: ${r.stderr}`);
    pipeline[who] = { s: r.seconds, rss: r.peakRssMiB, landed: await landed(vm) };
    console.log(
      `  ${who}: ${r.seconds.toFixed(2)} s, peak RSS ${r.peakRssMiB.toFixed(0)} MiB, ` +
        `VictoriaMetrics holds ${fmt(pipeline[who].landed)} samples`,
    );
  } finally {
    await vm.stop();
  }
}

console.log("\n| measurement | wall s | rows/s | peak RSS MiB |");
console.log("| --- | ---: | ---: | ---: |");
console.log(
  `| replay-csv --speed max > /dev/null (median of ${REPS}) | ${replayS.toFixed(2)} | ${
    fmt(total / replayS)
  } | ${fmt(Math.max(...rss))} |`,
);
const w = pipeline.wattwave;
const c = pipeline.curl;
console.log(
  `| replay-csv \\| push → VictoriaMetrics remote write | ${w.s.toFixed(2)} | ${
    fmt(total / w.s)
  } | ${fmt(w.rss)} |`,
);
console.log(
  `| curl → VictoriaMetrics /api/v1/import/csv | ${c.s.toFixed(2)} | ${fmt(total / c.s)} | ${
    fmt(c.rss)
  } |`,
);
console.log(
  `replay-csv | push ÷ curl CSV import wall time: ${(w.s / c.s).toFixed(2)}× (goal ≤ 1.5×)`,
);
if (w.landed !== total || c.landed !== total) {
  console.log(`WARNING: expected ${fmt(total)} samples in VictoriaMetrics each time`);
}
await Deno.remove(dir, { recursive: true });
