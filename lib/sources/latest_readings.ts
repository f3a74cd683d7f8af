/**
 * The latest reading of every series `sample` emits, exposed in the Prometheus text format for
 * `sample --web.listen-address` (a scrape target like node_exporter's rapl collector and
 * nvidia_gpu_exporter): one value per series, as of the last tick, grouped by metric with its
 * `# HELP` and `# TYPE` from the sampler's metadata. No timestamps are written, as exporters do:
 * Prometheus stamps the scrape.
 *
 * @module
 */
import type { Labels, MetricMetadata } from "../model/sample.ts";
import { formatMetricValue } from "../metrics/registry.ts";

interface Reading {
  name: string;
  /** `{k="v",...}` or "". */
  labelsText: string;
  value: number;
  /** Whether a value was set at least once. */
  set: boolean;
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** The latest value of each series, keyed by the sampler's series key (its line head). */
export class LatestReadings {
  readonly #byKey = new Map<string, Reading>();
  readonly #byName = new Map<string, Reading[]>();

  /** Declares series `key` as metric `name` with `labels` (idempotent). */
  define(key: string, name: string, labels: Labels): void {
    if (this.#byKey.has(key)) return;
    const names = Object.keys(labels).sort();
    const labelsText = names.length === 0
      ? ""
      : `{${names.map((k) => `${k}="${escapeLabelValue(labels[k])}"`).join(",")}}`;
    const r: Reading = { name, labelsText, value: NaN, set: false };
    this.#byKey.set(key, r);
    let list = this.#byName.get(name);
    if (!list) this.#byName.set(name, list = []);
    list.push(r);
  }

  /** Records the latest value of series `key` (declared with {@linkcode define}). */
  set(key: string, value: number): void {
    const r = this.#byKey.get(key);
    if (r === undefined) return;
    r.value = value;
    r.set = true;
  }

  /** Writes every metric that has a value, `# HELP`/`# TYPE` from `metadata`. */
  write(out: string[], metadata: readonly MetricMetadata[]): void {
    const meta = new Map(metadata.map((m) => [m.name, m]));
    for (const [name, list] of this.#byName) {
      const withValue = list.filter((r) => r.set);
      if (withValue.length === 0) continue;
      const m = meta.get(name);
      if (m?.help) {
        out.push(`# HELP ${name} ${m.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
      }
      out.push(`# TYPE ${name} ${m?.type === "counter" ? "counter" : m ? "gauge" : "untyped"}`);
      for (const r of withValue) out.push(`${name}${r.labelsText} ${formatMetricValue(r.value)}`);
    }
  }
}
