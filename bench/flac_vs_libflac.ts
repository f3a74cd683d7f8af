/**
 * Benchmark: wattwave's FLAC codec against libFLAC's `flac` tool on real telemetry series.
 *
 * Reads real series from the shared data directory (RAPL traces, NAB CloudWatch / machine
 * series, atsc CSVs), scales them to integers (fixed decimals), groups them by the bit depth
 * they need (16, 24 or 32 bits), writes each group as raw mono PCM and, in one run, measures:
 *
 * - size: ours (level 8) vs `flac -8` (both without padding or SEEKTABLE);
 * - encode: ours in process (levels 5 and 8) vs `flac -5` and `flac -8` on the raw file;
 * - decode: ours vs `flac -d` on the same (our level-8) file.
 *
 * Times are medians over `--runs` runs; speeds in samples/s; the `flac` times include its
 * process start and file I/O (that is what a user of the tool pays); ours are in process after
 * `--warmup` untimed runs (JIT warm-up).
 *
 * Usage: deno run -A bench/flac_vs_libflac.ts [--data DIR] [--runs N] [--warmup N]
 *
 * @module
 */
import { decodeFlac, encodeFlac } from "../lib/flac/mod.ts";
import { arg, sharedData } from "./support.ts";

const DATA = arg("data", sharedData());
const RUNS = Number(arg("runs", "5"));
const WARMUP = Number(arg("warmup", "3"));

/** A named integer series. */
interface Series {
  name: string;
  values: Int32Array;
}

function scaled(values: number[], decimals: number): Int32Array {
  const m = 10 ** decimals;
  return Int32Array.from(values, (v) => Math.round(v * m));
}

function readLines(path: string): string[] {
  return Deno.readTextFileSync(path).replace(/^\uFEFF/, "").split("\n");
}

function loadSeries(): Series[] {
  const out: Series[] = [];
  const rapl = `${DATA}/rapl-icpe2024`;
  for (const e of [...Deno.readDirSync(rapl)].sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.endsWith("_perf.txt")) {
      const groups = new Map<string, { power: number[]; energy: number[] }>();
      for (const line of readLines(`${rapl}/${e.name}`)) {
        if (!line || line.startsWith("#")) continue;
        const f = line.split(",");
        if (f.length < 6) continue;
        const key = `${f[2]}/${f[3]}`;
        let g = groups.get(key);
        if (!g) groups.set(key, g = { power: [], energy: [] });
        g.power.push(Number(f[5]));
        g.energy.push(Number(f[4]));
      }
      for (const [key, g] of groups) {
        const base = `${e.name.replace("_perf.txt", "")}/${key}`;
        out.push({ name: `${base}/power_0.1mW`, values: scaled(g.power, 4) });
        // cumulative energy counter in 0.1 mJ (like energy_uj: a monotone ramp)
        let acc = 0;
        const counter = new Int32Array(g.energy.length);
        g.energy.forEach((v, i) => {
          acc += Math.round(v * 1e4);
          counter[i] = acc;
        });
        out.push({ name: `${base}/energy_counter_0.1mJ`, values: counter });
      }
    } else if (e.name.startsWith("RAPL_Update_Interval")) {
      const cols: number[][] = [[], []];
      for (const line of readLines(`${rapl}/${e.name}`).slice(1)) {
        const f = line.split(",");
        if (f.length < 5) continue;
        cols[0].push(Number(f[1]));
        cols[1].push(Number(f[2]));
      }
      out.push({ name: `${e.name}/package_cycles`, values: Int32Array.from(cols[0]) });
      out.push({ name: `${e.name}/dram_cycles`, values: Int32Array.from(cols[1]) });
    }
  }
  const csv = (path: string, decimals: number, name: string) => {
    const vals: number[] = [];
    for (const line of readLines(path).slice(1)) {
      const f = line.split(",");
      if (f.length < 2 || f[1] === "") continue;
      vals.push(Number(f[1]));
    }
    out.push({ name, values: scaled(vals, decimals) });
  };
  for (const dir of ["realAWSCloudwatch", "realKnownCause"]) {
    const p = `${DATA}/nab/${dir}`;
    for (const e of [...Deno.readDirSync(p)].sort((a, b) => a.name.localeCompare(b.name))) {
      if (!e.name.endsWith(".csv")) continue;
      const bytesLike = /bytes|network|NetworkIn|request_count/.test(e.name);
      csv(`${p}/${e.name}`, bytesLike ? 0 : 3, `nab/${dir}/${e.name}`);
    }
  }
  for (const f of ["cpu_utilization", "iowait"]) {
    csv(`${DATA}/atsc-csv/${f}.csv`, f === "iowait" ? 6 : 4, `atsc/${f}`);
  }
  return out;
}

function bitsNeeded(v: Int32Array): number {
  let lo = 0, hi = 0;
  for (const x of v) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  let b = 1;
  while (-(2 ** (b - 1)) > lo || 2 ** (b - 1) - 1 < hi) b++;
  return b <= 16 ? 16 : b <= 24 ? 24 : 32;
}

function rawBytes(v: Int32Array, bps: number): Uint8Array {
  const B = bps / 8;
  const out = new Uint8Array(v.length * B);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    for (let b = 0; b < B; b++) out[i * B + b] = x >> (8 * b);
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function flac(argv: string[]): void {
  const o = new Deno.Command("flac", { args: argv, stdout: "null", stderr: "piped" }).outputSync();
  if (!o.success) throw new Error(`flac ${argv.join(" ")}: ${new TextDecoder().decode(o.stderr)}`);
}

const series = loadSeries();
const groups = new Map<number, Int32Array[]>();
for (const s of series) {
  const b = bitsNeeded(s.values);
  groups.set(b, [...(groups.get(b) ?? []), s.values]);
}
const tmp = Deno.makeTempDirSync({ prefix: "flac_bench_" });
console.log(`data: ${DATA}; ${series.length} series; runs: ${RUNS}; temp: ${tmp}`);
const rawFlags = ["--force-raw-format", "--endian=little", "--sign=signed", "--channels=1"];
const tot = {
  samples: 0,
  raw: 0,
  ours8: 0,
  flac8: 0,
  enc5: 0,
  enc8: 0,
  flac5: 0,
  flac8t: 0,
  dec: 0,
  flacd: 0,
};
const rows: string[] = [];
for (const [bps, list] of [...groups].sort((a, b) => a[0] - b[0])) {
  let n = 0;
  for (const v of list) n += v.length;
  const all = new Int32Array(n);
  let o = 0;
  for (const v of list) {
    all.set(v, o);
    o += v.length;
  }
  const raw = `${tmp}/s${bps}.raw`;
  Deno.writeFileSync(raw, rawBytes(all, bps));
  const fl = [...rawFlags, `--bps=${bps}`, "--sample-rate=1000", "--no-padding", "--no-seektable"];
  let ours8: Uint8Array = new Uint8Array(0);
  const enc5: number[] = [], enc8: number[] = [], f5: number[] = [], f8: number[] = [];
  const dec: number[] = [], fd: number[] = [];
  // warm-up (JIT), not timed: the figures are steady-state, in-process
  for (let w = 0; w < WARMUP; w++) {
    encodeFlac([all], { bitsPerSample: bps, sampleRate: 1000, level: 5 });
    encodeFlac([all], { bitsPerSample: bps, sampleRate: 1000, level: 8 });
  }
  for (let r = 0; r < RUNS; r++) {
    enc5.push(time(() => encodeFlac([all], { bitsPerSample: bps, sampleRate: 1000, level: 5 })));
    enc8.push(time(() => {
      ours8 = encodeFlac([all], { bitsPerSample: bps, sampleRate: 1000, level: 8 });
    }));
    f5.push(time(() => flac(["-s", "-f", "-5", ...fl, "-o", `${tmp}/f5.flac`, raw])));
    f8.push(time(() => flac(["-s", "-f", "-8", ...fl, "-o", `${tmp}/f8.flac`, raw])));
  }
  Deno.writeFileSync(`${tmp}/ours8.flac`, ours8);
  for (let w = 0; w < WARMUP; w++) decodeFlac(ours8);
  for (let r = 0; r < RUNS; r++) {
    dec.push(time(() => decodeFlac(ours8)));
    fd.push(
      time(() =>
        flac([
          "-s",
          "-d",
          "-f",
          "--force-raw-format",
          "--endian=little",
          "--sign=signed",
          "-o",
          `${tmp}/d.raw`,
          `${tmp}/ours8.flac`,
        ])
      ),
    );
  }
  const flac8Size = Deno.statSync(`${tmp}/f8.flac`).size;
  const row = {
    bps,
    n,
    raw: n * bps / 8,
    ours8: ours8.length,
    flac8: flac8Size,
    enc5: median(enc5),
    enc8: median(enc8),
    flac5: median(f5),
    flac8t: median(f8),
    dec: median(dec),
    flacd: median(fd),
  };
  tot.samples += n;
  tot.raw += row.raw;
  tot.ours8 += row.ours8;
  tot.flac8 += row.flac8;
  tot.enc5 += row.enc5;
  tot.enc8 += row.enc8;
  tot.flac5 += row.flac5;
  tot.flac8t += row.flac8t;
  tot.dec += row.dec;
  tot.flacd += row.flacd;
  rows.push(report(`${bps}-bit (${list.length} series)`, n, row));
}
function sps(n: number, ms: number): string {
  return `${(n / (ms / 1000) / 1e6).toFixed(2)} M/s`;
}
function report(
  label: string,
  n: number,
  r: {
    raw: number;
    ours8: number;
    flac8: number;
    enc5: number;
    enc8: number;
    flac5: number;
    flac8t: number;
    dec: number;
    flacd: number;
  },
): string {
  return [
    `== ${label}: ${n} samples, raw ${r.raw} B`,
    `  size    ours -8 ${r.ours8} B  flac -8 ${r.flac8} B  ours/flac ${
      (r.ours8 / r.flac8).toFixed(4)
    }`,
    `  encode  ours -5 ${sps(n, r.enc5)} (${r.enc5.toFixed(1)} ms)  ours -8 ${sps(n, r.enc8)} (${
      r.enc8.toFixed(1)
    } ms)  flac -5 ${sps(n, r.flac5)} (${r.flac5.toFixed(1)} ms)  flac -8 ${sps(n, r.flac8t)} (${
      r.flac8t.toFixed(1)
    } ms)`,
    `          ratio ours-5/flac-5 ${(r.flac5 / r.enc5).toFixed(2)}x  ours-8/flac-8 ${
      (r.flac8t / r.enc8).toFixed(2)
    }x`,
    `  decode  ours ${sps(n, r.dec)} (${r.dec.toFixed(1)} ms)  flac -d ${sps(n, r.flacd)} (${
      r.flacd.toFixed(1)
    } ms)  ratio ${(r.flacd / r.dec).toFixed(2)}x`,
  ].join("\n");
}
for (const r of rows) console.log(r);
console.log(report("all", tot.samples, tot));
Deno.removeSync(tmp, { recursive: true });
