/**
 * Which sources `wattwave sample` reads: the RAPL zones of powercap and the GPUs of nvidia-smi,
 * each when asked for and present. A source that is missing or unreadable is logged and left
 * out; with none left, sampling is refused with every reason.
 *
 * @module
 */
import { GpuTable, NvidiaSmiProcess, probeNvidiaSmi } from "./nvidia_smi.ts";
import { discoverPowercapZones, energyAccessHint, PowercapReader } from "./powercap.ts";

/** Options of {@linkcode openSamplingSources}. */
export interface SamplingSourceOptions {
  /** Read powercap. */
  powercap: boolean;
  /** Where the RAPL zones are. */
  powercapRoot: string;
  /** Run nvidia-smi. */
  gpu: boolean;
  /** The nvidia-smi to run. */
  nvidiaSmi: string;
  /** nvidia-smi's `-lms` period. */
  gpuPeriodMs: number;
  /**
   * Deadline of each nvidia-smi query at start, and of the first row of each loop-mode run;
   * a run silent for this long (or 5 GPU periods, if longer) is killed and re-spawned.
   */
  nvidiaSmiTimeoutMs?: number;
  /** Log lines (what is left out and why). */
  log: (message: string) => void;
}

/** The sources found (nvidia-smi not started yet: call `smi.start()`). */
export interface SamplingSources {
  /** The readable RAPL zones, if any. */
  powercap?: PowercapReader;
  /** The GPUs' latest readings, fed by `smi`. */
  gpus?: GpuTable;
  /** The nvidia-smi process (started by the caller). */
  smi?: NvidiaSmiProcess;
}

/** Finds the sources to sample (see the module doc); throws when none is left. */
export async function openSamplingSources(o: SamplingSourceOptions): Promise<SamplingSources> {
  const log = o.log;
  let powercapProblem: string | undefined;
  let reader: PowercapReader | undefined;
  if (o.powercap) {
    const d = discoverPowercapZones(o.powercapRoot);
    for (const w of d.warnings) log(w);
    if (!d.rootExists) {
      powercapProblem =
        `no powercap directory ${o.powercapRoot} (no RAPL on this machine, or not Linux)`;
    } else if (d.zones.length === 0 && d.unreadable.length === 0) {
      powercapProblem = `no RAPL zones (intel-rapl:*) under ${o.powercapRoot}`;
    }
    if (d.unreadable.length > 0) {
      const files = d.unreadable.map((u) => u.zone.energyFile);
      const denied = d.unreadable.filter((u) => u.permissionDenied).map((u) => u.zone.energyFile);
      let msg = `cannot read ${files.join(", ")}: ${d.unreadable[0].reason}`;
      if (denied.length > 0) msg += `. ${energyAccessHint(denied)}`;
      if (d.zones.length === 0) powercapProblem = msg;
      else log(`${msg}; sampling the other ${d.zones.length} zone(s)`);
    }
    if (d.zones.length > 0) {
      reader = new PowercapReader(
        d.zones,
        (zone, message) => log(`reading zone ${zone.dir}: ${message}`),
      );
    }
  }

  let gpuProblem: string | undefined;
  let gpus: GpuTable | undefined;
  let smi: NvidiaSmiProcess | undefined;
  if (o.gpu) {
    const probe = await probeNvidiaSmi(o.nvidiaSmi, { timeoutMs: o.nvidiaSmiTimeoutMs });
    if (probe.ok) {
      gpus = new GpuTable(probe.query, { maxGapMs: Math.max(5 * o.gpuPeriodMs, 2000) });
      const table = gpus;
      smi = new NvidiaSmiProcess({
        path: o.nvidiaSmi,
        query: probe.query,
        periodMs: o.gpuPeriodMs,
        onRow: (row, t) => table.update(row, t),
        log,
        stallMs: o.nvidiaSmiTimeoutMs === undefined
          ? undefined
          : Math.max(5 * o.gpuPeriodMs, o.nvidiaSmiTimeoutMs),
      });
    } else gpuProblem = probe.reason;
  }

  if (reader === undefined && gpus === undefined) {
    const reasons = [powercapProblem ?? (o.powercap ? undefined : "powercap off (--no-powercap)")];
    reasons.push(gpuProblem ?? (o.gpu ? undefined : "GPU off (--no-gpu)"));
    throw new Error(`nothing to sample: ${reasons.filter((r) => r).join("; ")}`);
  }
  if (powercapProblem !== undefined) {
    log(`${powercapProblem}; going on without powercap (GPU only)`);
  }
  if (gpuProblem !== undefined) log(`${gpuProblem}; going on without GPU sampling (CPU only)`);
  return { powercap: reader, gpus, smi };
}
