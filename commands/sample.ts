/**
 * `wattwave sample`: CPU/DRAM energy from powercap (RAPL) and GPU telemetry from nvidia-smi,
 * at a fixed rate, as NDJSON on stdout.
 *
 * @module
 */
import { Command, type CommandUnknownOpts, Option } from "@commander-js/extra-typings";
import { UsageError } from "../lib/errors.ts";
import { collectLabel, parseDurationMs, parsePositiveInt } from "../lib/cli/parse.ts";
import { onShutdownSignal } from "../lib/cli/signals.ts";
import { DEFAULT_POWERCAP_ROOT } from "../lib/sources/powercap.ts";
import { DEFAULT_NVIDIA_SMI_TIMEOUT_MS } from "../lib/sources/nvidia_smi.ts";
import type { Naming } from "../lib/sources/sampler.ts";
import type { Labels } from "../lib/model/sample.ts";
import {
  type ListenAddress,
  parseListenAddress,
  webConfigFileOption,
} from "../lib/cli/server_options.ts";

/** Options of `wattwave sample` as parsed. */
interface SampleOptions {
  period?: number;
  count?: number;
  duration?: number;
  label: Labels;
  power?: boolean;
  naming: string;
  powercapRoot: string;
  powercap: boolean;
  nvidiaSmi: string;
  gpu: boolean;
  gpuPeriod?: number;
  nvidiaSmiTimeout: number;
  flushInterval: number;
  "web.listenAddress"?: ListenAddress;
  "web.config.file"?: string;
  stdout: boolean;
}

/** Labels the sources set themselves; `--label` may not use them. */
const RESERVED_LABELS = ["index", "path", "uuid", "name", "component"];
/** Shortest GPU period by default: nvidia-smi power readings do not update faster. */
const MIN_DEFAULT_GPU_PERIOD_MS = 100;

function log(message: string): void {
  console.error(`wattwave sample: ${message}`);
}

/** The period: `--period`, else env `SAMPLING_PERIOD_S` (seconds), else 1 s. */
function resolvePeriodMs(period: number | undefined): number {
  let ms = period;
  if (ms === undefined) {
    const env = Deno.env.get("SAMPLING_PERIOD_S");
    if (env !== undefined && env.trim() !== "") {
      const s = Number(env);
      if (!Number.isFinite(s) || s <= 0) {
        throw new UsageError(
          `SAMPLING_PERIOD_S must be a positive number of seconds (got "${env}")`,
        );
      }
      ms = s * 1000;
    } else ms = 1000;
  }
  if (!(ms >= 1)) throw new UsageError(`--period must be at least 1ms (got ${ms} ms)`);
  return ms;
}

async function sample(o: SampleOptions): Promise<void> {
  // Loaded when the subcommand runs, so that start-up (and --help) stays light.
  const { NdjsonWriter } = await import("../lib/ndjson/writer.ts");
  const { openSamplingSources } = await import("../lib/sources/choose.ts");
  const { runSampler, samplerMetadata } = await import("../lib/sources/sampler.ts");
  const { LatestReadings } = await import("../lib/sources/latest_readings.ts");
  const { registerSampleMetrics } = await import("../lib/sources/sample_metrics.ts");
  const { Registry } = await import("../lib/metrics/registry.ts");
  const { registerProcessMetrics } = await import("../lib/metrics/process.ts");
  const { routePosts } = await import("../lib/remote/http.ts");
  const { startServer } = await import("../lib/remote/server.ts");
  const periodMs = resolvePeriodMs(o.period);
  if (o.naming !== "node" && o.naming !== "pyjoules") {
    throw new UsageError(`--naming must be node or pyjoules (got "${o.naming}")`);
  }
  const naming = o.naming as Naming;
  if (o.duration !== undefined && !(o.duration > 0)) {
    throw new UsageError(`--duration must be positive (got ${o.duration} ms)`);
  }
  for (const k of Object.keys(o.label)) {
    if (RESERVED_LABELS.includes(k)) {
      throw new UsageError(
        `--label ${k}=... clashes with a label the samples carry (${RESERVED_LABELS.join(", ")})`,
      );
    }
  }
  if (!o.powercap && !o.gpu) {
    throw new UsageError("--no-powercap and --no-gpu leave nothing to sample");
  }
  if (!(o.nvidiaSmiTimeout > 0)) {
    throw new UsageError(`--nvidia-smi-timeout must be positive (got ${o.nvidiaSmiTimeout} ms)`);
  }
  const listen = o["web.listenAddress"];
  if (!o.stdout && listen === undefined) {
    throw new UsageError("--no-stdout needs --web.listen-address: else nothing would be output");
  }
  const gpuPeriodMs = Math.round(o.gpuPeriod ?? Math.max(periodMs, MIN_DEFAULT_GPU_PERIOD_MS));
  if (gpuPeriodMs < 1) throw new UsageError(`--gpu-period must be at least 1ms`);

  const { powercap: reader, gpus, smi } = await openSamplingSources({
    powercap: o.powercap,
    powercapRoot: o.powercapRoot,
    gpu: o.gpu,
    nvidiaSmi: o.nvidiaSmi,
    gpuPeriodMs,
    nvidiaSmiTimeoutMs: o.nvidiaSmiTimeout,
    log,
  });

  if (o.power && reader === undefined) {
    log(
      "--power: no RAPL zone is read, so there is no power to compute (GPU power is sampled as is)",
    );
  }
  // As a scrape target: /metrics serves the last tick's readings (see lib/sources/sample_metrics.ts).
  const readings = listen ? new LatestReadings() : undefined;
  const live = { ticks: 0, skipped: 0, samples: 0, lastTickMs: NaN, lastTickDurationMs: NaN };
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  if (listen && readings) {
    const registry = new Registry();
    registerSampleMetrics(registry, {
      readings,
      metadata: samplerMetadata({ naming, power: o.power, powercap: reader, gpus }),
      live,
      powercap: reader,
      smi,
    });
    registerProcessMetrics(registry);
    try {
      server = await startServer(routePosts([], { registry, title: "wattwave sample" }), {
        ...listen,
        webConfigFile: o["web.config.file"],
        log,
      });
    } catch (err) {
      reader?.close();
      throw err;
    }
    log(`serving the readings at ${server.baseUrl}/metrics`);
  }
  const shutdown = new AbortController();
  const unlisten = onShutdownSignal(() => shutdown.abort());
  const writer = new NdjsonWriter(
    o.stdout ? Deno.stdout.writable : new WritableStream<Uint8Array>(),
  );
  smi?.start();
  try {
    const stats = await runSampler({
      periodMs,
      count: o.count,
      durationMs: o.duration,
      labels: o.label,
      naming,
      power: o.power,
      powercap: reader,
      gpus,
      writer,
      readings,
      live,
      signal: shutdown.signal,
      log,
      flushIntervalMs: o.flushInterval,
    });
    await writer.release();
    log(
      `${stats.ticks} ticks, ${stats.skipped} skipped, ${stats.samples} samples, tick lateness ` +
        `p50 ${stats.latenessP50Ms.toFixed(2)} ms, p99 ${stats.latenessP99Ms.toFixed(2)} ms, ` +
        `max ${stats.latenessMaxMs.toFixed(2)} ms` +
        (smi
          ? `, nvidia-smi started ${smi.spawns} time(s)` +
            (smi.stalls ? `, ${smi.stalls} stall(s) killed` : "")
          : ""),
    );
  } finally {
    unlisten();
    await server?.stop();
    await smi?.stop();
    reader?.close();
  }
}

/** The `sample` subcommand. */
export function sampleCommand(): CommandUnknownOpts {
  return new Command("sample")
    .description(
      "Sample CPU/DRAM energy (powercap RAPL) and GPU telemetry (nvidia-smi) as NDJSON, at a fixed rate",
    )
    .addOption(
      new Option("--period <duration>", "sampling period, e.g. 100ms, 1s, 1m")
        .argParser(parseDurationMs).default(undefined, "1s, or env SAMPLING_PERIOD_S in seconds"),
    )
    .addOption(
      new Option("--count <n>", "stop after n ticks").argParser(parsePositiveInt)
        .default(undefined, "run until Ctrl-C"),
    )
    .option("--duration <duration>", "stop after this long, e.g. 60s", parseDurationMs)
    .option("--label <k=v>", "label added to every series (repeatable)", collectLabel, {} as Labels)
    .option("--power", "also emit node_rapl_<zone>_watts, the average power over the last interval")
    .addOption(
      new Option(
        "--naming <model>",
        "metric names: node (node_exporter/nvidia_gpu_exporter) or " +
          "pyjoules (per-interval µJ deltas, pyjoules_remote_write_energy_uj{component})",
      )
        .choices(["node", "pyjoules"]).default("node"),
    )
    .option("--powercap-root <dir>", "where RAPL zones are", DEFAULT_POWERCAP_ROOT)
    .option("--no-powercap", "do not read powercap")
    .option("--nvidia-smi <path>", "nvidia-smi to run", "nvidia-smi")
    .option("--no-gpu", "do not run nvidia-smi")
    .addOption(
      new Option("--gpu-period <duration>", "nvidia-smi -lms period").argParser(parseDurationMs)
        .default(undefined, `the sampling period, at least ${MIN_DEFAULT_GPU_PERIOD_MS}ms`),
    )
    .addOption(
      new Option(
        "--web.listen-address <host:port>",
        "also serve the latest readings at /metrics for Prometheus to scrape (:PORT: every interface)",
      ).argParser(parseListenAddress),
    )
    .option("--no-stdout", "with --web.listen-address: serve /metrics only, write no NDJSON")
    .addOption(webConfigFileOption())
    .addOption(
      new Option(
        "--nvidia-smi-timeout <duration>",
        "deadline of each nvidia-smi query at start; a running nvidia-smi silent this long " +
          "(or 5 GPU periods, if longer) is killed and restarted",
      ).argParser(parseDurationMs).default(DEFAULT_NVIDIA_SMI_TIMEOUT_MS, "5s"),
    )
    .addOption(
      new Option(
        "--flush-interval <duration>",
        "write output at most this often (every tick when the period is longer)",
      ).argParser(parseDurationMs).default(100, "100ms"),
    )
    .addHelpText(
      "after",
      "\nPowercap counters are cumulative joules corrected for wraparound " +
        "(node_rapl_package_joules_total{index,path}, ...).\n" +
        "GPU metrics follow nvidia_gpu_exporter (nvidia_smi_power_draw_watts{index,name,uuid}, ...);\n" +
        "nvidia_smi_energy_joules_total is integrated by wattwave from power.draw (trapezoidal rule).\n" +
        "Ticks are due at start + k × period; a tick that cannot run in time is skipped and counted.\n" +
        "Example:\n" +
        "  wattwave sample --period 100ms --label host=a | wattwave push --url http://127.0.0.1:9090/api/v1/write",
    )
    .action(async (options) => {
      await sample(options as SampleOptions);
    });
}
