/**
 * Benchmark: `wattwave sample` at a high rate on a fixture powercap tree (two sockets with
 * core/uncore/dram, psys: 9 zones).
 *
 * Measures, per run:
 * - CPU time of the sampler process (all threads, from /proc/<pid>/task/<tid>/schedstat, in ns:
 *   exact, unlike the tick-sampled utime/stime), as a percentage of one core over the steady state (from 1 s after the first tick to the last poll before exit)
 *   and over the whole run (startup included);
 * - timestamp jitter: each tick's sample timestamp (integer ms) against the schedule
 *   `t0 + k × period` (t0's phase estimated as the most common timestamp phase), p50/p99/max;
 *   the sampler's own tick lateness (sub-ms, from its closing stderr line);
 * - ticks skipped (from the stderr summary, cross-checked against the timestamps seen).
 * With several runs, the figures are medians over runs.
 *
 * Usage: deno run -A bench/sample_bench.ts [--duration 60s] [--period 10ms] [--runs 1] [--gpu]
 *        [--nice -10]   (run the sampler under `nice -n -10`: shows what scheduler contention costs)
 *
 * @module
 */
import { makePowercapTree } from "../tests/fixtures/powercap_tree.ts";
import { makeFakeNvidiaSmi } from "../tests/fixtures/nvidia_smi_fake.ts";
import { wattwaveArgv } from "../tests/support/cli.ts";
import { parseDurationMs } from "../lib/cli/parse.ts";

const args = Deno.args;
function arg(name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}
const DURATION = arg("--duration", "60s");
const PERIOD = arg("--period", "10ms");
const RUNS = Number(arg("--runs", "1"));
const WITH_GPU = args.includes("--gpu");
const NICE = arg("--nice", ""); // e.g. -10: run the sampler with `nice -n -10` (needs root)
const durationMs = parseDurationMs(DURATION);
const periodMs = parseDurationMs(PERIOD);

/** CPU time of all threads of `pid` in seconds, from /proc/<pid>/task/<tid>/schedstat (ns, exact). */
function cpuSeconds(pid: number): number | undefined {
  try {
    let ns = 0;
    for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/schedstat`).split(" ")[0]);
      } catch { /* thread ended */ }
    }
    return ns / 1e9;
  } catch {
    return undefined;
  }
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

interface RunResult {
  cpuSteadyPct: number;
  cpuTotalPct: number;
  jitterP50: number;
  jitterP99: number;
  jitterMax: number;
  lateP50: number;
  lateP99: number;
  lateMax: number;
  ticks: number;
  skipped: number;
  missingFromTimestamps: number;
}

async function runOnce(): Promise<RunResult> {
  const tree = await makePowercapTree();
  const smi = WITH_GPU ? await makeFakeNvidiaSmi() : undefined;
  const argv = wattwaveArgv([
    "sample",
    "--powercap-root",
    tree.root,
    ...(smi ? ["--nvidia-smi", smi.path] : ["--no-gpu"]),
    "--period",
    PERIOD,
    "--duration",
    DURATION,
  ]);
  if (NICE !== "") argv.unshift("nice", "-n", NICE);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderrText = new Response(child.stderr).text();
  const wallStart = performance.now();
  let firstTickWall = NaN;
  let steadyStart: { wall: number; cpu: number } | undefined;
  let last: { wall: number; cpu: number } | undefined;
  const poll = setInterval(() => {
    const cpu = cpuSeconds(child.pid);
    if (cpu === undefined) return;
    const wall = performance.now();
    if (
      steadyStart === undefined && firstTickWall === firstTickWall && wall - firstTickWall >= 1000
    ) {
      steadyStart = { wall, cpu };
    }
    last = { wall, cpu };
  }, 250);

  const timestamps: number[] = [];
  const marker = '"name":"node_rapl_package_joules_total","labels":{"index":"0"';
  let rest = "";
  const dec = new TextDecoder();
  for await (const chunk of child.stdout) {
    rest += dec.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (line.includes(marker)) {
        if (firstTickWall !== firstTickWall) firstTickWall = performance.now();
        const m = /"timestamp":(\d+)/.exec(line)!;
        timestamps.push(Number(m[1]));
      }
    }
  }
  const status = await child.status;
  clearInterval(poll);
  const wallEnd = performance.now();
  const err = await stderrText;
  await tree.remove();
  await smi?.remove();
  if (!status.success) throw new Error(`sampler failed (${status.code}): ${err}`);
  const summary =
    /(\d+) ticks, (\d+) skipped.*lateness p50 ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms/
      .exec(err);
  if (!summary) throw new Error(`no summary in stderr: ${err}`);

  // Jitter against the schedule. Due times are whole ms (the sampler aligns tick 0 to one), so
  // the schedule's phase is the most common timestamp phase (most ticks read in their own ms);
  // a timestamp's jitter is its distance past the latest due time (a lower bound when a tick
  // ran more than a period late).
  const phaseCount = new Map<number, number>();
  for (const t of timestamps) {
    const ph = ((t % periodMs) + periodMs) % periodMs;
    phaseCount.set(ph, (phaseCount.get(ph) ?? 0) + 1);
  }
  const phase = [...phaseCount].sort((a, b) => b[1] - a[1])[0][0];
  const jitter = timestamps.map((t) => (((t - phase) % periodMs) + periodMs) % periodMs)
    .sort((a, b) => a - b);
  const expected = Math.ceil(durationMs / periodMs);

  const steady = steadyStart && last && last.wall > steadyStart.wall
    ? (last.cpu - steadyStart.cpu) / ((last.wall - steadyStart.wall) / 1000) * 100
    : NaN;
  const total = last ? last.cpu / ((wallEnd - wallStart) / 1000) * 100 : NaN;
  return {
    cpuSteadyPct: steady,
    cpuTotalPct: total,
    jitterP50: quantile(jitter, 0.5),
    jitterP99: quantile(jitter, 0.99),
    jitterMax: jitter[jitter.length - 1],
    lateP50: Number(summary[3]),
    lateP99: Number(summary[4]),
    lateMax: Number(summary[5]),
    ticks: Number(summary[1]),
    skipped: Number(summary[2]),
    missingFromTimestamps: expected - timestamps.length,
  };
}

console.log(
  `wattwave sample bench: period ${PERIOD}, duration ${DURATION}, ${RUNS} run(s), ` +
    `9 powercap zones${WITH_GPU ? " + fake nvidia-smi (2 GPUs)" : ""}` +
    `${NICE !== "" ? `, nice ${NICE}` : ""}; load average ${
      Deno.loadavg().map((l) => l.toFixed(2)).join(" ")
    }`,
);
const results: RunResult[] = [];
for (let r = 0; r < RUNS; r++) {
  const res = await runOnce();
  results.push(res);
  console.log(
    `run ${r + 1}: CPU ${res.cpuSteadyPct.toFixed(2)}% of a core (steady), ${
      res.cpuTotalPct.toFixed(2)
    }% (with startup); ` +
      `timestamp jitter p50 ${res.jitterP50} ms, p99 ${res.jitterP99} ms, max ${res.jitterMax} ms; ` +
      `tick lateness p50 ${res.lateP50} ms, p99 ${res.lateP99} ms, max ${res.lateMax} ms; ` +
      `${res.ticks} ticks, ${res.skipped} skipped (${res.missingFromTimestamps} missing by timestamps)`,
  );
}
const med = (f: (r: RunResult) => number) => median(results.map(f));
const cpu = med((r) => r.cpuSteadyPct);
const p99 = med((r) => r.lateP99);
console.log(
  `median: CPU ${cpu.toFixed(2)}% of one core (goal ≤ 1%: ${(cpu / 1).toFixed(2)}× the budget), ` +
    `with startup ${med((r) => r.cpuTotalPct).toFixed(2)}%; ` +
    `timestamp jitter p50 ${med((r) => r.jitterP50)} ms, p99 ${med((r) => r.jitterP99)} ms; ` +
    `tick lateness p50 ${med((r) => r.lateP50)} ms, p99 ${p99} ms (goal ≤ 1 ms: ${
      p99.toFixed(2)
    }×); ` +
    `skipped ${med((r) => r.skipped)} of ${med((r) => r.ticks + r.skipped)}`,
);
