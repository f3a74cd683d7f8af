/**
 * What `sample --web.listen-address` serves at `/metrics`: the latest readings under the names of
 * node_exporter's rapl collector and nvidia_gpu_exporter, the `wattwave_sample_*` set (ticks,
 * skipped ticks, the last tick's duration and time, source errors, nvidia-smi restarts and
 * stalls) and the process metrics.
 *
 * @module
 */
import type { Registry } from "../metrics/registry.ts";
import type { MetricMetadata } from "../model/sample.ts";
import type { LatestReadings } from "./latest_readings.ts";
import type { NvidiaSmiProcess } from "./nvidia_smi.ts";
import type { PowercapReader } from "./powercap.ts";
import type { LiveSamplerStats } from "./sampler.ts";

/** What the metrics are read from, when scraped. */
export interface SampleMetricSources {
  /** The latest readings the sampler keeps. */
  readings: LatestReadings;
  /** Their metadata (`# HELP`, `# TYPE`). */
  metadata: readonly MetricMetadata[];
  /** The sampler's live counters. */
  live: LiveSamplerStats;
  /** The RAPL reader, if RAPL is read. */
  powercap?: PowercapReader;
  /** The nvidia-smi process, if GPUs are read. */
  smi?: NvidiaSmiProcess;
}

/** Registers the readings and the `wattwave_sample_*` metrics in `registry`. */
export function registerSampleMetrics(registry: Registry, s: SampleMetricSources): void {
  registry.block((out) => s.readings.write(out, s.metadata));
  registry.valueOf(
    "wattwave_sample_ticks_total",
    "Sampling ticks run.",
    "counter",
    () => s.live.ticks,
  );
  registry.valueOf(
    "wattwave_sample_ticks_skipped_total",
    "Sampling ticks skipped because the previous one overran its period.",
    "counter",
    () => s.live.skipped,
  );
  registry.valueOf(
    "wattwave_sample_last_tick_duration_seconds",
    "How long the last tick took to read its sources and format them.",
    "gauge",
    () => s.live.lastTickDurationMs / 1000,
  );
  registry.valueOf(
    "wattwave_sample_last_tick_timestamp_seconds",
    "When the last tick ended (the readings served are from it).",
    "gauge",
    () => s.live.lastTickMs / 1000,
  );
  const errors = registry.counter(
    "wattwave_sample_source_errors_total",
    "Failed reads by source: rapl (an energy_uj read failed), nvidia_smi (a line that was not a row).",
    ["source"],
  );
  registry.beforeScrape(() => {
    if (s.powercap) errors.set(["rapl"], s.powercap.failures.reduce((a, b) => a + b, 0));
    if (s.smi) errors.set(["nvidia_smi"], s.smi.badLines);
  });
  if (s.smi) {
    const smi = s.smi;
    registry.valueOf(
      "wattwave_sample_nvidia_smi_restarts_total",
      "Times nvidia-smi was started again after it exited or stalled.",
      "counter",
      () => Math.max(0, smi.spawns - 1),
    );
    registry.valueOf(
      "wattwave_sample_nvidia_smi_stalls_total",
      "Times a running nvidia-smi gave no row for --nvidia-smi-timeout and was killed.",
      "counter",
      () => smi.stalls,
    );
  }
}
