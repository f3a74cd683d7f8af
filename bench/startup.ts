/**
 * Benchmark: start-up of the CLI. For each tree given (the working tree, and with `--before DIR`
 * another checkout such as the commit before a change), in one run, interleaved:
 * - `wattwave --version`: wall time and peak RSS;
 * - `wattwave push` of a one-line file into a closed port with `--max-retries 0`: wall time and
 *   peak RSS of a whole short run;
 * - `wattwave sample --period 1s` on a fixture powercap tree (no GPU): time to its first sample
 *   line, and its RSS after 5 ticks (a long-running sampler's footprint).
 * Medians over `--reps` (default 7).
 *
 * Usage: deno run -A bench/startup.ts [--before /path/to/old/checkout] [--reps 7]
 *
 * @module
 */
import { makePowercapTree } from "../tests/fixtures/powercap_tree.ts";
import { PERMISSION_FLAGS } from "../lib/cli/permissions.ts";
import { fmt, median, timeCommand } from "./support.ts";

const args = Deno.args;
function arg(name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}
const REPS = Number(arg("--reps", "7"));
const here = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const trees: [string, string][] = [["after", here]];
const before = arg("--before", "");
if (before) trees.unshift(["before", before]);

const argv = (tree: string, rest: string[]) => [
  Deno.execPath(),
  "run",
  "--quiet",
  ...PERMISSION_FLAGS,
  `${tree}/main.ts`,
  ...rest,
];

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Starts `sample`, returns ms to its first sample line and RSS (MiB) after `ticks` ticks. */
async function sampleRun(tree: string, root: string, ticks: number) {
  const t0 = performance.now();
  const child = new Deno.Command(argv(tree, [])[0], {
    args: [
      ...argv(tree, ["sample", "--no-gpu", "--powercap-root", root, "--period", "1s"]).slice(1),
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let firstMs = NaN;
  let seen = 0;
  while (seen < ticks) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
    if (Number.isNaN(firstMs) && text.includes('"timestamp"')) firstMs = performance.now() - t0;
    seen = text.split('"node_rapl_package_joules_total","labels":{"index":"0"').length - 1;
  }
  const rss = rssMiB(child.pid);
  child.kill("SIGTERM");
  await reader.cancel().catch(() => {});
  await child.status;
  return { firstMs, rss };
}

const tree = await makePowercapTree();
const input = await Deno.makeTempFile({ suffix: ".ndjson" });
await Deno.writeTextFile(input, '{"name":"x","timestamp":1700000000000,"value":1}\n');
const results = new Map<string, Record<string, number[]>>();
for (const [name] of trees) {
  results.set(name, {
    versionS: [],
    versionMiB: [],
    pushS: [],
    pushMiB: [],
    firstMs: [],
    sampleMiB: [],
  });
}
try {
  for (let rep = 0; rep < REPS; rep++) {
    for (const [name, dir] of trees) {
      const r = results.get(name)!;
      const v = await timeCommand(argv(dir, ["--version"]));
      r.versionS.push(v.seconds);
      r.versionMiB.push(v.peakRssMiB);
      const p = await timeCommand(
        argv(dir, [
          "push",
          "--url",
          "http://127.0.0.1:9/api/v1/write",
          "--max-retries",
          "0",
          input,
        ]),
      );
      r.pushS.push(p.seconds);
      r.pushMiB.push(p.peakRssMiB);
      const s = await sampleRun(dir, tree.root, 5);
      r.firstMs.push(s.firstMs);
      r.sampleMiB.push(s.rss);
    }
  }
} finally {
  await tree.remove();
  await Deno.remove(input);
}
console.log(
  `medians of ${REPS} (wall seconds, peak RSS MiB; sample: ms to first sample, RSS after 5 ticks)`,
);
console.log("tree    | --version        | push (1 line)    | sample first line | sample RSS");
for (const [name] of trees) {
  const r = results.get(name)!;
  console.log(
    `${name.padEnd(7)} | ${fmt(median(r.versionS), 3)} s ${fmt(median(r.versionMiB), 1)} MiB | ` +
      `${fmt(median(r.pushS), 3)} s ${fmt(median(r.pushMiB), 1)} MiB | ` +
      `${fmt(median(r.firstMs), 0)} ms | ${fmt(median(r.sampleMiB), 1)} MiB`,
  );
}
