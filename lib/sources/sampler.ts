/**
 * The sampling loop of `wattwave sample`: on a fixed-rate schedule, read powercap energy and
 * take the latest nvidia-smi rows, and write them as NDJSON (metadata first).
 *
 * Two namings:
 * - `node` (default): node_exporter's rapl collector (`node_rapl_<zone>_joules_total{index,path}`,
 *   cumulative, wrap-corrected; with `power`, `node_rapl_<zone>_watts` averaged over the last
 *   interval) and nvidia_gpu_exporter's GPU metrics (`nvidia_smi_*{index,name,uuid}`), plus
 *   `nvidia_smi_energy_joules_total` integrated from power.draw.
 * - `pyjoules`: the pyJoules push client's model, only
 *   `pyjoules_remote_write_energy_uj{component="package_0|core_0|uncore_0|dram_0|nvidia_gpu_0"}`,
 *   the energy of each interval in µJ (first emitted at the second tick).
 *
 * @module
 */
import type { Labels, MetricMetadata } from "../model/sample.ts";
import { formatMetadata, sampleLineHead } from "../ndjson/contract.ts";
import type { NdjsonWriter } from "../ndjson/writer.ts";
import { FixedRateSchedule, realClock, type ScheduleClock } from "./schedule.ts";
import type { PowercapReader, PowercapZone } from "./powercap.ts";
import type { GpuState, GpuTable } from "./nvidia_smi.ts";
import type { LatestReadings } from "./latest_readings.ts";
import { NVIDIA_ENERGY_METADATA, NVIDIA_ENERGY_METRIC, nvidiaMetadata } from "./nvidia_fields.ts";

const utf8 = new TextEncoder();

/** Which metric model to emit. */
export type Naming = "node" | "pyjoules";

/** The metric of the pyjoules naming. */
export const PYJOULES_METRIC = "pyjoules_remote_write_energy_uj";

/** Options of {@linkcode runSampler}. */
export interface SamplerOptions {
  /** Sampling period in ms. */
  periodMs: number;
  /** Stop after this many ticks. Default: no limit. */
  count?: number;
  /** Stop before the first tick due at or after start + durationMs. Default: no limit. */
  durationMs?: number;
  /** Labels added to every series. Default none. */
  labels?: Labels;
  /** Metric model. Default `node`. */
  naming?: Naming;
  /** Also emit `node_rapl_<zone>_watts` (node naming only). Default false. */
  power?: boolean;
  /** The powercap zones to read, or undefined for none. */
  powercap?: PowercapReader;
  /** The GPU table fed by nvidia-smi, or undefined for none. */
  gpus?: GpuTable;
  /** Where NDJSON goes; flushed after every tick. */
  writer: NdjsonWriter;
  /** Also keeps every series' latest value here (for `/metrics`). Default none. */
  readings?: LatestReadings;
  /** Updated after every tick (ticks, skipped, samples, the tick's end), for `/metrics`. */
  live?: LiveSamplerStats;
  /** Stops sampling (after the current tick). */
  signal?: AbortSignal;
  /** Log lines (skipped ticks). Default: stderr. */
  log?: (message: string) => void;
  /** Schedule clock. Default: the real clock, tick 0 aligned to a whole epoch millisecond. */
  clock?: ScheduleClock;
  /**
   * Longest the event loop may stay blocked between ticks (see `realClock`): signals and child
   * output wait at most this long. Default 250 ms without GPUs, 10 ms with (row timestamps are
   * taken when rows are read).
   */
  maxBlockMs?: number;
  /**
   * Output is flushed at the first tick at least this long after the previous flush (and at
   * the end), so that fast sampling does not pay one write per tick. Default 100.
   */
  flushIntervalMs?: number;
}

/** What a running sampler has done so far (see {@linkcode SamplerOptions.live}). */
export interface LiveSamplerStats {
  /** Ticks run. */
  ticks: number;
  /** Ticks skipped. */
  skipped: number;
  /** Samples taken. */
  samples: number;
  /** When the last tick ended (epoch ms). */
  lastTickMs: number;
  /** How long the last tick took to read its sources and format them, ms. */
  lastTickDurationMs: number;
}

/** What a run did. */
export interface SamplerStats {
  /** Ticks run. */
  ticks: number;
  /** Ticks skipped because the previous one overran. */
  skipped: number;
  /** Sample lines written. */
  samples: number;
  /** Tick wake-up lateness against the schedule, ms: median. */
  latenessP50Ms: number;
  /** Tick wake-up lateness against the schedule, ms: 99th percentile. */
  latenessP99Ms: number;
  /** Tick wake-up lateness against the schedule, ms: maximum. */
  latenessMaxMs: number;
}

/** A fixed-memory histogram of tick lateness: 10 µs bins up to 100 ms, then one overflow bin. */
export class LatenessHistogram {
  readonly #bins = new Uint32Array(10_001);
  #n = 0;
  max = 0;
  add(ms: number): void {
    const b = Math.min(10_000, Math.max(0, Math.floor(ms * 100)));
    this.#bins[b]++;
    this.#n++;
    if (ms > this.max) this.max = ms;
  }
  /** Upper edge of the bin holding quantile q, in ms (the overflow bin reports the maximum). */
  quantile(q: number): number {
    if (this.#n === 0) return NaN;
    const rank = Math.ceil(q * this.#n);
    let seen = 0;
    for (let b = 0; b < this.#bins.length; b++) {
      seen += this.#bins[b];
      // A bin's upper edge can lie above every value in it: never report more than the max.
      if (seen >= rank) return b === 10_000 ? this.max : Math.min((b + 1) / 100, this.max);
    }
    return this.max;
  }
}

/** The `"name":…,"labels":…,"timestamp":` head of a sample line, computed once per series. */
export function samplePrefix(name: string, labels: Labels): string {
  return sampleLineHead(name, labels);
}

function raplHelp(zone: PowercapZone): string {
  return `Current RAPL ${zone.kind} value in joules (powercap energy_uj, corrected for wraparound by wattwave)`;
}

/** The pyJoules component of a zone: `package_N`, `core_N`, `dram_N` (N the socket), `psys_N`. */
export function pyjoulesComponent(zone: PowercapZone): string {
  return `${zone.kind}_${zone.subzone ? zone.socket : zone.index}`;
}

/** The metadata records of everything a run with these options can emit, one per metric. */
export function samplerMetadata(
  o: Pick<SamplerOptions, "naming" | "power" | "powercap" | "gpus">,
): MetricMetadata[] {
  const out = new Map<string, MetricMetadata>();
  if ((o.naming ?? "node") === "pyjoules") {
    out.set(PYJOULES_METRIC, {
      kind: "metadata",
      name: PYJOULES_METRIC,
      type: "gauge",
      unit: "microjoules",
      help: "Energy used during the last sampling interval in microjoules, per component " +
        "(pyJoules' model: package_N, core_N, uncore_N, dram_N from powercap, nvidia_gpu_N " +
        "integrated from nvidia-smi power.draw)",
    });
    return [...out.values()];
  }
  for (const z of o.powercap?.zones ?? []) {
    const name = `node_rapl_${z.kind}_joules_total`;
    if (!out.has(name)) {
      out.set(name, { kind: "metadata", name, type: "counter", unit: "joules", help: raplHelp(z) });
    }
    if (o.power) {
      const w = `node_rapl_${z.kind}_watts`;
      if (!out.has(w)) {
        out.set(w, {
          kind: "metadata",
          name: w,
          type: "gauge",
          unit: "watts",
          help: `Average RAPL ${z.kind} power in watts over the last sampling interval`,
        });
      }
    }
  }
  if (o.gpus !== undefined) {
    for (const f of o.gpus.query.fields) out.set(f.metric, nvidiaMetadata(f));
    if (o.gpus.hasPower) out.set(NVIDIA_ENERGY_METRIC, NVIDIA_ENERGY_METADATA);
  }
  return [...out.values()];
}

interface GpuSeries {
  uuid: string;
  /** One prefix per query field, then the energy counter's. */
  prefixes: string[];
  /** Energy at the last pyjoules emission (J). */
  emittedJ: number;
  /** Whether a pyjoules baseline was taken. */
  baselined: boolean;
}

/**
 * Samples until `count`, `durationMs` or `signal` ends it. Writes the metadata first, then at
 * every tick the readings, and flushes. Throws what the writer throws (e.g. BrokenPipe when the
 * reader of stdout went away).
 */
export async function runSampler(o: SamplerOptions): Promise<SamplerStats> {
  const naming = o.naming ?? "node";
  const userLabels = o.labels ?? {};
  const log = o.log ?? ((m: string) => console.error(`wattwave sample: ${m}`));
  const w = o.writer;
  const stats: SamplerStats = {
    ticks: 0,
    skipped: 0,
    samples: 0,
    latenessP50Ms: NaN,
    latenessP99Ms: NaN,
    latenessMaxMs: NaN,
  };
  const lateness = new LatenessHistogram();

  for (const m of samplerMetadata(o)) w.writeLine(formatMetadata(m));
  await w.flush();

  // Series line heads (declared to `readings`, when kept, with their name and labels).
  const readings = o.readings;
  const series = (name: string, labels: Labels): string => {
    const prefix = samplePrefix(name, labels);
    readings?.define(prefix, name, labels);
    return prefix;
  };
  const zones = o.powercap?.zones ?? [];
  const counterPrefix: string[] = [];
  const wattsPrefix: string[] = [];
  const pyPrefix: string[] = [];
  for (const z of zones) {
    const labels = { index: String(z.index), path: z.path, ...userLabels };
    counterPrefix.push(series(`node_rapl_${z.kind}_joules_total`, labels));
    wattsPrefix.push(series(`node_rapl_${z.kind}_watts`, labels));
    pyPrefix.push(series(PYJOULES_METRIC, { component: pyjoulesComponent(z), ...userLabels }));
  }
  const gpuSeries = new Map<string, GpuSeries>();
  const gpuFields = o.gpus?.query.fields ?? [];
  const seriesOf = (g: GpuState): GpuSeries => {
    const key = g.labels.index;
    let s = gpuSeries.get(key);
    if (s === undefined || s.uuid !== g.labels.uuid) {
      const labels = { ...g.labels, ...userLabels };
      const prefixes = gpuFields.map((f) => series(f.metric, labels));
      prefixes.push(series(NVIDIA_ENERGY_METRIC, labels));
      prefixes.push(
        series(PYJOULES_METRIC, { component: `nvidia_gpu_${g.labels.index}`, ...userLabels }),
      );
      s = { uuid: g.labels.uuid, prefixes, emittedJ: 0, baselined: false };
      gpuSeries.set(key, s);
    }
    return s;
  };

  let clock = o.clock;
  let startMs: number | undefined;
  if (clock === undefined) {
    // Without GPUs nothing but signals needs the event loop: let it sleep longer between runs.
    clock = realClock({ maxBlockMs: o.maxBlockMs ?? (o.gpus === undefined ? 250 : 10) });
    // Align tick 0 to a whole epoch millisecond, so that due times are whole milliseconds.
    const now = performance.now();
    const epoch = performance.timeOrigin + now;
    startMs = now + (Math.ceil(epoch) - epoch) + 1;
  }
  let lastSkipLogMs = -Infinity;
  let unloggedSkips = 0;
  const schedule = new FixedRateSchedule({
    periodMs: o.periodMs,
    count: o.count,
    durationMs: o.durationMs,
    startMs,
    clock,
    signal: o.signal,
    onSkip(first, n) {
      unloggedSkips += n;
      const t = performance.now();
      if (t - lastSkipLogMs >= 5000) {
        log(
          `tick ${
            first - 1
          } overran the ${o.periodMs} ms period: ${unloggedSkips} tick(s) skipped` +
            ` (${schedule.skipped} so far)`,
        );
        lastSkipLogMs = t;
        unloggedSkips = 0;
      }
    },
  });

  // A full writer buffer flushes by itself: keep that promise, to wait for it (and see its errors).
  const pending: Promise<void>[] = [];
  let writeError: { error: unknown } | undefined;
  const prefixBytes = new Map<string, Uint8Array>(); // a series' prefix as UTF-8, made once
  const value = (prefix: string, tsMs: number, v: number) => {
    let bytes = prefixBytes.get(prefix);
    if (bytes === undefined) prefixBytes.set(prefix, bytes = utf8.encode(prefix));
    readings?.set(prefix, v);
    const p = w.writeSample(bytes, Math.floor(tsMs), v);
    if (p !== undefined) pending.push(p.catch((error) => void (writeError ??= { error })));
    stats.samples++;
  };
  const flushIntervalMs = o.flushIntervalMs ?? 100;
  let lastFlushMs = -Infinity;

  const reader = o.powercap;
  for await (const tick of schedule) {
    lateness.add(tick.startMs - tick.dueMs);
    if (reader !== undefined) {
      reader.read();
      for (let i = 0; i < zones.length; i++) {
        if (!reader.ok[i]) continue;
        const t = reader.readMs[i];
        const first = reader.intervalMs[i] === 0;
        if (naming === "pyjoules") {
          if (!first) value(pyPrefix[i], t, reader.deltaUj[i]);
          continue;
        }
        value(counterPrefix[i], t, reader.cumulativeUj[i] / 1e6);
        if (o.power && !first) {
          value(wattsPrefix[i], t, reader.deltaUj[i] / reader.intervalMs[i] / 1000);
        }
      }
    }
    if (o.gpus !== undefined) {
      const hasPower = o.gpus.hasPower;
      for (const g of o.gpus.takeFresh()) {
        const s = seriesOf(g);
        const t = g.rowMs;
        if (naming === "pyjoules") {
          if (!hasPower || !g.hasEnergy) continue;
          // The first reading only sets the baseline, as the first powercap read does.
          if (s.baselined) {
            value(s.prefixes[gpuFields.length + 1], t, Math.round((g.energyJ - s.emittedJ) * 1e6));
          }
          s.baselined = true;
          s.emittedJ = g.energyJ;
          continue;
        }
        for (let i = 0; i < gpuFields.length; i++) {
          const v = g.values[i];
          if (v === v) value(s.prefixes[i], t, v);
        }
        if (hasPower && g.hasEnergy) value(s.prefixes[gpuFields.length], t, g.energyJ);
      }
    }
    if (o.live !== undefined) {
      o.live.ticks = schedule.ran;
      o.live.skipped = schedule.skipped;
      o.live.samples = stats.samples;
      o.live.lastTickDurationMs = performance.now() - tick.startMs;
      o.live.lastTickMs = performance.timeOrigin + performance.now();
    }
    if (pending.length > 0) {
      await Promise.all(pending);
      pending.length = 0;
      if (writeError !== undefined) throw writeError.error;
    }
    const now = performance.now();
    if (now - lastFlushMs >= flushIntervalMs - 0.5 * o.periodMs) {
      lastFlushMs = now;
      await w.flush();
    }
  }
  await w.flush();
  stats.ticks = schedule.ran;
  stats.skipped = schedule.skipped;
  stats.latenessP50Ms = lateness.quantile(0.5);
  stats.latenessP99Ms = lateness.quantile(0.99);
  stats.latenessMaxMs = lateness.max;
  return stats;
}
