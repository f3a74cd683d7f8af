/**
 * The self-metrics of a remote-write receiver (`receive`, `serve-read --write-path`): what was
 * written, what was refused and why, the output backlog or the store's commits.
 *
 * @module
 */
import type { Registry } from "../../metrics/registry.ts";

/** Where the counters come from: read when scraped. */
export interface WriteMetricSources {
  /** Requests answered 2xx so far. */
  requests: () => number;
  /** Samples written (to stdout) or made durable (in the store) so far. */
  samples: () => number;
  /** Native histogram samples written (or made durable in a store) so far. */
  histograms?: () => number;
  /** Exemplars written so far. */
  exemplars?: () => number;
  /** Bytes of NDJSON written but not yet taken by stdout (stdout mode). */
  pendingBytes?: () => number;
}

/** Hooks the receiver calls: refusals and store commits. */
export interface WriteMetricHooks {
  /** Counts a refused request by its status code (400 decode failures, 413, 415, 503, ...). */
  refused(status: number): void;
  /** Records one store commit's duration. */
  committed(seconds: number): void;
  /**
   * Counts native histograms and exemplars received but not written (the output format has no
   * column for them); returns the total so far.
   */
  unwritten(count: number): number;
}

/** Registers the receiver's metrics under `prefix` paths and returns the hooks that feed them. */
export function registerWriteMetrics(
  registry: Registry,
  sources: WriteMetricSources,
  options: { store: boolean },
): WriteMetricHooks {
  registry.valueOf(
    "wattwave_remote_write_requests_total",
    "Remote-write requests accepted (answered 2xx).",
    "counter",
    sources.requests,
  );
  registry.valueOf(
    "wattwave_samples_written_total",
    options.store ? "Samples made durable in the store." : "Samples written to stdout as NDJSON.",
    "counter",
    sources.samples,
  );
  registry.valueOf(
    "wattwave_histograms_written_total",
    options.store
      ? "Native histogram samples made durable in the store."
      : "Native histogram samples written to stdout as NDJSON.",
    "counter",
    sources.histograms ?? (() => 0),
  );
  registry.valueOf(
    "wattwave_exemplars_written_total",
    options.store
      ? "Exemplars made durable in the store."
      : "Exemplars written to stdout as NDJSON.",
    "counter",
    sources.exemplars ?? (() => 0),
  );
  let unwritten = 0;
  if (!options.store) {
    registry.valueOf(
      "wattwave_receive_unwritten_total",
      "Native histograms and exemplars received but not written: --format arroyo has no column for them.",
      "counter",
      () => unwritten,
    );
  }
  const refused = registry.counter(
    "wattwave_remote_write_refused_total",
    "Remote-write requests refused, by status code (400: undecodable or invalid, 503: backlog).",
    ["code"],
  );
  if (sources.pendingBytes) {
    registry.valueOf(
      "wattwave_output_pending_bytes",
      "NDJSON bytes written but not yet taken by stdout.",
      "gauge",
      sources.pendingBytes,
    );
  }
  const commits = options.store
    ? registry.counter("wattwave_store_commits_total", "Store commits (fsync, index replaced).")
    : undefined;
  const commitSeconds = options.store
    ? registry.histogram(
      "wattwave_store_commit_duration_seconds",
      "Duration of one store commit.",
      [],
      [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    )
    : undefined;
  return {
    refused: (status) => refused.inc([String(status)]),
    committed: (seconds) => {
      commits?.inc();
      commitSeconds?.observe([], seconds);
    },
    unwritten: (count) => unwritten += count,
  };
}
