/**
 * Helpers for the benchmark scripts: medians, ratios, peak RSS of a process.
 *
 * @module
 */

/** The median of `xs`. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Peak resident set size (VmHWM) of a running process, in MiB; undefined once it has exited. */
export function peakRssMiB(pid: number): number | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Formats a number with thousands separators. */
export function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

/**
 * Runs a command to completion under `/usr/bin/time -f %M` and returns wall seconds and
 * peak RSS (MiB). `/usr/bin/time` comes from Debian's `time` package.
 */
export async function timeCommand(
  argv: string[],
  options: { stdin?: string; stdout?: "null" | "piped" } = {},
): Promise<{ seconds: number; peakRssMiB: number; code: number; stderr: string }> {
  const t0 = performance.now();
  const child = new Deno.Command("/usr/bin/time", {
    args: ["-f", "__PEAK_KB__ %M", ...argv],
    stdin: options.stdin ? "piped" : "null",
    stdout: options.stdout ?? "null",
    stderr: "piped",
  }).spawn();
  if (options.stdin) {
    const f = await Deno.open(options.stdin);
    await f.readable.pipeTo(child.stdin);
  }
  const out = await child.output();
  const seconds = (performance.now() - t0) / 1000;
  const stderr = new TextDecoder().decode(out.stderr);
  const m = /__PEAK_KB__ (\d+)/.exec(stderr);
  return { seconds, peakRssMiB: m ? Number(m[1]) / 1024 : NaN, code: out.code, stderr };
}

/**
 * The shared real data (`../shared/data` relative to the repository root; see its
 * PROVENANCE.md), or `sub` below it. Benchmarks take `--data` to point elsewhere.
 */
export function sharedData(sub = ""): string {
  const root = new URL("../../shared/data/", import.meta.url).pathname;
  return sub ? root + sub : root.replace(/\/$/, "");
}

/** `--data DIR`, by default the NAB series of the shared data. */
export function nabDataArg(): string {
  return arg("data", sharedData("nab"));
}

/** The value of `--name VALUE` on the command line, or `def`. */
export function arg(name: string, def: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : def;
}

/** Every `*.csv` file below `dir`, in name order. */
export async function* csvFiles(dir: string): AsyncGenerator<string> {
  const entries = [];
  for await (const e of Deno.readDir(dir)) entries.push(e);
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* csvFiles(p);
    else if (e.name.endsWith(".csv")) yield p;
  }
}

/** One NAB series: its file's name, timestamps (ms) and values as written in the file. */
export interface NabSeries {
  file: string;
  timestampsMs: number[];
  values: string[];
}

/** The Numenta NAB series (`timestamp,value` CSV files) below `dir`, in file-name order. */
export async function readNabSeries(dir: string): Promise<NabSeries[]> {
  const out: NabSeries[] = [];
  for await (const path of csvFiles(dir)) {
    const rows = (await Deno.readTextFile(path)).trim().split("\n").slice(1);
    const timestampsMs: number[] = [];
    const values: string[] = [];
    for (const r of rows) {
      const [t, v] = r.split(",");
      timestampsMs.push(Date.parse(t.replace(" ", "T") + "Z"));
      values.push(v.trim());
    }
    out.push({ file: path.split("/").pop()!.replace(".csv", ""), timestampsMs, values });
  }
  return out;
}

/** The argv of `curl` posting the file at `path` as the request body to `url` (failing on 4xx/5xx). */
export function curlPostArgv(path: string, url: string): string[] {
  return ["curl", "-sS", "--fail", "-X", "POST", "--data-binary", `@${path}`, url];
}
