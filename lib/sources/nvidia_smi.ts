/**
 * GPU telemetry from one long-running `nvidia-smi --query-gpu=... --format=csv,noheader,nounits
 * -lms <period>` process: finding which fields the driver supports, parsing its rows, keeping
 * the latest reading per GPU, integrating power into energy, and re-spawning the process when
 * it dies.
 *
 * @module
 */
import { gpuLabels, NVIDIA_FIELDS, type NvidiaField, nvidiaValue } from "./nvidia_fields.ts";
import type { Labels } from "../model/sample.ts";
import { concatBytes } from "../bytes.ts";

/** The field names `nvidia-smi --help-query-gpu` lists (every quoted name, aliases included). */
export function parseHelpQueryGpu(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    if (!line.startsWith('"')) continue;
    for (const m of line.matchAll(/"([A-Za-z0-9_.]+)"/g)) names.add(m[1]);
  }
  return names;
}

/** Fields queried when the supported list is unknown: what every driver since 2014 has. */
const BASELINE = new Set([
  "power.draw",
  "temperature.gpu",
  "utilization.gpu",
  "utilization.memory",
  "memory.used",
  "memory.total",
  "clocks.current.sm",
  "clocks.current.memory",
  "pstate",
  "fan.speed",
]);

/** The query wattwave sends: label fields first and last, numeric fields in between. */
export interface NvidiaQuery {
  /** The numeric fields, in column order (columns 2..n+1). */
  fields: NvidiaField[];
  /** The names to pass to `--query-gpu`: `index`, `uuid`, the fields' names, then `name`. */
  names: string[];
}

/**
 * Chooses the fields to query: every `sampled` field the driver lists (under its main name or
 * an alias), or a baseline set when `supported` is undefined (the help could not be read).
 * `name` is queried last so that a GPU name containing ", " cannot shift the other columns.
 */
export function chooseNvidiaQuery(supported: Set<string> | undefined): NvidiaQuery {
  const fields: NvidiaField[] = [];
  const names = ["index", "uuid"];
  for (const f of NVIDIA_FIELDS) {
    if (!f.sampled) continue;
    if (supported === undefined) {
      if (BASELINE.has(f.query)) {
        fields.push(f);
        names.push(f.query);
      }
      continue;
    }
    const name = [f.query, ...f.aliases].find((n) => supported.has(n));
    if (name !== undefined) {
      fields.push(f);
      names.push(name);
    }
  }
  names.push("name");
  return { fields, names };
}

/** One parsed row: a GPU's identity and its values (NaN where nvidia-smi had no value). */
export interface NvidiaRow {
  /** `index` column. */
  index: string;
  /** `uuid` column (with `GPU-`). */
  uuid: string;
  /** `name` column. */
  name: string;
  /** Base-unit values in the order of {@linkcode NvidiaQuery.fields}; NaN = absent. */
  values: Float64Array;
}

/**
 * Parses one `--format=csv,noheader,nounits` line of a {@linkcode NvidiaQuery}. Returns
 * undefined for a line that does not have the expected columns.
 */
export function parseNvidiaRow(query: NvidiaQuery, line: string): NvidiaRow | undefined {
  const parts = line.replace(/\r$/, "").split(", ");
  const n = query.fields.length;
  if (parts.length < n + 3) return undefined;
  const index = parts[0].trim();
  if (!/^\d+$/.test(index)) return undefined;
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = nvidiaValue(query.fields[i], parts[2 + i]);
    values[i] = v === undefined ? NaN : v;
  }
  return { index, uuid: parts[1].trim(), name: parts.slice(n + 2).join(", ").trim(), values };
}

/** Latest state of one GPU. */
export interface GpuState {
  /** Labels `{index, name, uuid}`. */
  labels: Labels;
  /** Latest values (NaN = absent), in query field order. */
  values: Float64Array;
  /** When the latest row arrived (epoch ms, fractional). */
  rowMs: number;
  /** Whether a row arrived since {@linkcode GpuTable.takeFresh} last returned this GPU. */
  fresh: boolean;
  /** Energy integrated from power.draw since the first reading, in joules. */
  energyJ: number;
  /** Whether at least one power.draw reading has been seen (so `energyJ` is meaningful). */
  hasEnergy: boolean;
  /** The previous power.draw reading and its time, for the trapezoid. */
  lastPowerW: number;
  /** Time of {@linkcode lastPowerW} (epoch ms). */
  lastPowerMs: number;
}

/** Options of {@linkcode GpuTable}. */
export interface GpuTableOptions {
  /** Longest gap between two power readings that is integrated, ms. Default 5000. */
  maxGapMs?: number;
}

/**
 * The latest row of every GPU, and `nvidia_smi_energy_joules_total` integrated from
 * `power.draw` with the trapezoidal rule between consecutive readings of the same GPU.
 * A gap longer than `maxGapMs` (e.g. while nvidia-smi was re-spawned) adds no energy.
 */
export class GpuTable {
  /** GPUs by `index`. */
  readonly gpus = new Map<string, GpuState>();
  readonly #powerCol: number;
  readonly #maxGapMs: number;

  /** A table for rows of `query`. */
  constructor(readonly query: NvidiaQuery, options: GpuTableOptions = {}) {
    this.#powerCol = query.fields.findIndex((f) => f.query === "power.draw");
    this.#maxGapMs = options.maxGapMs ?? 5000;
  }

  /** Whether energy can be integrated (power.draw is queried). */
  get hasPower(): boolean {
    return this.#powerCol >= 0;
  }

  /** Records a row that arrived at `timeMs` (epoch ms). */
  update(row: NvidiaRow, timeMs: number): void {
    let g = this.gpus.get(row.index);
    if (g === undefined || g.labels.uuid !== gpuLabels(row).uuid) {
      g = {
        labels: gpuLabels(row),
        values: new Float64Array(row.values.length),
        rowMs: timeMs,
        fresh: false,
        energyJ: 0,
        hasEnergy: false,
        lastPowerW: NaN,
        lastPowerMs: NaN,
      };
      this.gpus.set(row.index, g);
    }
    g.values.set(row.values);
    g.rowMs = timeMs;
    g.fresh = true;
    if (this.#powerCol >= 0) {
      const p = row.values[this.#powerCol];
      if (p === p) {
        const dt = timeMs - g.lastPowerMs;
        if (g.lastPowerW === g.lastPowerW && dt > 0 && dt <= this.#maxGapMs) {
          g.energyJ += (g.lastPowerW + p) / 2 * (dt / 1000);
        }
        g.hasEnergy = true;
        g.lastPowerW = p;
        g.lastPowerMs = timeMs;
      }
    }
  }

  /** The GPUs with a row since the last call, marked as taken. */
  *takeFresh(): Generator<GpuState> {
    for (const g of this.gpus.values()) {
      if (!g.fresh) continue;
      g.fresh = false;
      yield g;
    }
  }
}

/** Result of {@linkcode probeNvidiaSmi}. */
export type NvidiaProbe =
  | { ok: true; query: NvidiaQuery; gpuCount: number }
  | { ok: false; reason: string };

/** Default deadline of one `nvidia-smi` query, and of the first row of a loop-mode run, in ms. */
export const DEFAULT_NVIDIA_SMI_TIMEOUT_MS = 5000;

/** Thrown by {@linkcode runOnce} when `nvidia-smi` gave no answer before its deadline. */
class NvidiaSmiTimeout extends Error {}

/**
 * Reads `stream` to its end (at most `maxBytes` kept) or until `cancel` fires; never waits for
 * a pipe that a child's own children still hold open after `cancel`.
 */
async function readAll(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  cancel: Promise<void>,
): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  let cancelled = false;
  cancel.then(() => {
    cancelled = true;
    reader.cancel().catch(() => {});
  });
  try {
    while (!cancelled) {
      const { done, value } = await reader.read();
      if (done) break;
      if (length < maxBytes) {
        const part = value.subarray(0, maxBytes - length);
        chunks.push(part);
        length += part.length;
      }
    }
  } catch { /* cancelled or the pipe broke: keep what came */ }
  return concatBytes(chunks);
}

/**
 * Runs `path args...` to its end with a deadline: past `timeoutMs` the child is killed (SIGKILL)
 * and {@linkcode NvidiaSmiTimeout} thrown, without waiting for pipes it may have passed on.
 */
async function runOnce(
  path: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(path, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let fireDeadline!: () => void;
  const deadline = new Promise<void>((resolve) => (fireDeadline = resolve));
  timer = setTimeout(fireDeadline, timeoutMs);
  const stdout = readAll(child.stdout, 4 << 20, deadline);
  const stderr = readAll(child.stderr, 8192, deadline);
  const finished = await Promise.race([
    child.status.then((s) => s),
    deadline.then(() => undefined),
  ]);
  clearTimeout(timer);
  if (finished === undefined) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    throw new NvidiaSmiTimeout(`no answer within ${timeoutMs} ms (killed)`);
  }
  // Exited: its pipes end now unless a child of its own holds them; wait a moment at most.
  timer = setTimeout(fireDeadline, Math.min(timeoutMs, 1000));
  const [out, err] = await Promise.all([stdout, stderr]);
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code: finished.code, stdout: dec.decode(out), stderr: dec.decode(err) };
}

function firstLine(text: string): string {
  return text.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "";
}

/** Options of {@linkcode probeNvidiaSmi}. */
export interface NvidiaProbeOptions {
  /** Deadline of each of the two calls, ms. Default {@linkcode DEFAULT_NVIDIA_SMI_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/**
 * Finds out whether GPU sampling is possible: runs `nvidia-smi --help-query-gpu` to learn the
 * supported fields, then one query of the chosen fields to see the GPUs answer. Each call has a
 * deadline (a wedged driver makes nvidia-smi hang): past it the probe fails with the reason.
 */
export async function probeNvidiaSmi(
  path: string,
  options: NvidiaProbeOptions = {},
): Promise<NvidiaProbe> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_NVIDIA_SMI_TIMEOUT_MS;
  let help: { code: number; stdout: string; stderr: string };
  try {
    help = await runOnce(path, ["--help-query-gpu"], timeoutMs);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      return { ok: false, reason: `${path} not found` };
    }
    if (err instanceof NvidiaSmiTimeout) {
      return { ok: false, reason: `${path} --help-query-gpu: ${err.message}` };
    }
    return { ok: false, reason: `cannot run ${path}: ${(err as Error).message}` };
  }
  let supported: Set<string> | undefined = parseHelpQueryGpu(help.stdout);
  if (help.code !== 0 || supported.size === 0) supported = undefined;
  const query = chooseNvidiaQuery(supported);
  let once: { code: number; stdout: string; stderr: string };
  try {
    once = await runOnce(path, [
      `--query-gpu=${query.names.join(",")}`,
      "--format=csv,noheader,nounits",
    ], timeoutMs);
  } catch (err) {
    if (err instanceof NvidiaSmiTimeout) {
      return { ok: false, reason: `${path} --query-gpu: ${err.message}` };
    }
    return { ok: false, reason: `cannot run ${path}: ${(err as Error).message}` };
  }
  if (once.code !== 0) {
    const why = firstLine(once.stdout) || firstLine(once.stderr) || `exit code ${once.code}`;
    return { ok: false, reason: `${path} failed (exit code ${once.code}): ${why}` };
  }
  const rows = once.stdout.split("\n").filter((l) => parseNvidiaRow(query, l) !== undefined);
  if (rows.length === 0) {
    return {
      ok: false,
      reason: `${path} reported no GPU (${firstLine(once.stdout) || "no output"})`,
    };
  }
  return { ok: true, query, gpuCount: rows.length };
}

/** Options of {@linkcode NvidiaSmiProcess}. */
export interface NvidiaSmiProcessOptions {
  /** Path of nvidia-smi. */
  path: string;
  /** The query (from {@linkcode probeNvidiaSmi}). */
  query: NvidiaQuery;
  /** `-lms` period in ms (an integer ≥ 1). */
  periodMs: number;
  /** Receives every parsed row with its arrival time (epoch ms). */
  onRow: (row: NvidiaRow, timeMs: number) => void;
  /** Receives log lines (restarts, malformed lines). */
  log: (message: string) => void;
  /** Wait before the first re-spawn, ms; doubles up to `maxRestartDelayMs`. Default 1000. */
  restartDelayMs?: number;
  /** Longest wait between re-spawns, ms. Default 30000. */
  maxRestartDelayMs?: number;
  /** Clock for row arrival times (epoch ms). Default `performance.timeOrigin + performance.now()`. */
  nowMs?: () => number;
  /**
   * A run that gives no row for this long (from its start, or since its last row) is killed and
   * re-spawned, the stall logged and counted. Default: 5 periods, at least
   * {@linkcode DEFAULT_NVIDIA_SMI_TIMEOUT_MS}.
   */
  stallMs?: number;
}

/**
 * Runs nvidia-smi in loop mode (`-lms`) and re-spawns it when it exits or stalls (no row for
 * `stallMs`: it is killed), with a growing delay that resets once a run has produced rows
 * without stalling. Never waits on a pipe that a killed nvidia-smi's children may hold.
 */
export class NvidiaSmiProcess {
  /** Times the process was (re)started. */
  spawns = 0;
  /** Rows received. */
  rows = 0;
  /** Lines that could not be parsed. */
  badLines = 0;
  /** Runs killed because they gave no row for `stallMs`. */
  stalls = 0;
  readonly #o: NvidiaSmiProcessOptions;
  #child: Deno.ChildProcess | undefined;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #stop = new AbortController();
  #done: Promise<void> | undefined;

  /** Prepares the process; {@linkcode start} runs it. */
  constructor(options: NvidiaSmiProcessOptions) {
    this.#o = options;
  }

  /** The argv after the program name. */
  args(): string[] {
    return [
      `--query-gpu=${this.#o.query.names.join(",")}`,
      "--format=csv,noheader,nounits",
      "-lms",
      String(Math.max(1, Math.round(this.#o.periodMs))),
    ];
  }

  /** Starts the supervising loop in the background. */
  start(): void {
    this.#done ??= this.#loop();
  }

  /** Stops the process (SIGTERM, SIGKILL after 2 s) and waits until the loop has ended. */
  async stop(): Promise<void> {
    this.#stop.abort();
    try {
      this.#child?.kill("SIGTERM");
    } catch { /* already gone */ }
    this.#reader?.cancel().catch(() => {}); // no more rows wanted; never wait on the pipe
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      this.#done?.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), 2000))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      try {
        this.#child?.kill("SIGKILL");
      } catch { /* already gone */ }
      await this.#done;
    }
  }

  async #loop(): Promise<void> {
    const o = this.#o;
    const signal = this.#stop.signal;
    const origin = performance.timeOrigin;
    const nowMs = o.nowMs ?? (() => origin + performance.now());
    const baseDelay = o.restartDelayMs ?? 1000;
    let delay = baseDelay;
    while (!signal.aborted) {
      let child: Deno.ChildProcess;
      try {
        child = new Deno.Command(o.path, {
          args: this.args(),
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
      } catch (err) {
        o.log(`cannot start ${o.path}: ${(err as Error).message}; retrying in ${delay} ms`);
        await abortableDelay(delay, signal);
        delay = Math.min(delay * 2, o.maxRestartDelayMs ?? 30_000);
        continue;
      }
      this.#child = child;
      this.spawns++;
      const stallMs = o.stallMs ?? Math.max(5 * o.periodMs, DEFAULT_NVIDIA_SMI_TIMEOUT_MS);
      const stderrDone = Promise.withResolvers<void>();
      const stderrText = readAll(child.stderr, 8192, stderrDone.promise);
      const reader = child.stdout.getReader();
      this.#reader = reader;
      const rowsBefore = this.rows;
      let lastRowMs = performance.now();
      let stalled = false;
      const watchdog = setInterval(() => {
        if (stalled || performance.now() - lastRowMs < stallMs) return;
        stalled = true;
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
        reader.cancel().catch(() => {});
      }, Math.max(20, Math.min(1000, stallMs / 4)));
      await this.#readRows(reader, nowMs, () => (lastRowMs = performance.now()));
      // Its stdout ended; a child that closed stdout but hangs is still killed by the watchdog.
      const status = await child.status;
      clearInterval(watchdog);
      this.#child = undefined;
      this.#reader = undefined;
      const stderrTimer = setTimeout(stderrDone.resolve, 200); // not waited on past that
      const errText = new TextDecoder().decode(await stderrText);
      clearTimeout(stderrTimer);
      if (signal.aborted) break;
      if (stalled) {
        this.stalls++;
        o.log(
          `${o.path} gave no row for ${stallMs} ms (stall ${this.stalls}): killed; ` +
            `restarting it in ${delay} ms`,
        );
        await abortableDelay(delay, signal);
        delay = Math.min(delay * 2, o.maxRestartDelayMs ?? 30_000);
        continue;
      }
      if (status.signal === "SIGINT" || status.signal === "SIGTERM") {
        // Ctrl-C reaches the whole process group: give our own shutdown a moment to begin.
        await abortableDelay(100, signal);
        if (signal.aborted) break;
      }
      if (this.rows > rowsBefore) delay = baseDelay;
      const how = status.signal
        ? `was killed by ${status.signal}`
        : `exited with code ${status.code}`;
      const why = firstLine(errText);
      o.log(`${o.path} ${how}${why ? ` (${why})` : ""}; restarting it in ${delay} ms`);
      await abortableDelay(delay, signal);
      delay = Math.min(delay * 2, o.maxRestartDelayMs ?? 30_000);
    }
  }

  async #readRows(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    nowMs: () => number,
    onRow: () => void,
  ): Promise<void> {
    const dec = new TextDecoder();
    let rest = "";
    try {
      while (true) {
        const { done, value: chunk } = await reader.read();
        if (done) break;
        const t = nowMs();
        rest += dec.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = rest.indexOf("\n")) >= 0) {
          const line = rest.slice(0, nl);
          rest = rest.slice(nl + 1);
          if (line.trim() === "") continue;
          const row = parseNvidiaRow(this.#o.query, line);
          if (row === undefined) {
            this.badLines++;
            if (this.badLines <= 3) {
              this.#o.log(
                `unexpected nvidia-smi line skipped: ${JSON.stringify(line.slice(0, 200))}`,
              );
            }
            continue;
          }
          this.rows++;
          onRow();
          this.#o.onRow(row, t);
        }
        if (rest.length > 65536) rest = ""; // no newline in 64 KiB: not nvidia-smi CSV
      }
    } catch { /* the pipe broke: the process is gone */ }
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
