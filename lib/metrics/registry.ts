/**
 * Self-metrics in the Prometheus text exposition format (version 0.0.4): counters, gauges and
 * histograms with labels, and metrics whose value is read when scraped. One registry per server;
 * `GET /metrics` answers {@linkcode Registry.exposition}.
 *
 * @module
 */

/** Label values of one child, in the order of the metric's label names. */
type LabelValues = readonly string[];

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Formats a value as the exposition format writes floats (`+Inf`, `NaN`, shortest decimal). */
export function formatMetricValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function labelText(names: readonly string[], values: LabelValues, extra = ""): string {
  const parts = names.map((n, i) => `${n}="${escapeLabelValue(values[i])}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(",")}}` : "";
}

/** The metric types of the text format. */
export type MetricType = "counter" | "gauge" | "histogram";

interface Family {
  name: string;
  help: string;
  type: MetricType;
  write(out: string[]): void;
}

/** A counter (or gauge) with labels; each distinct label-value list is one series. */
export class Counter {
  readonly #children = new Map<string, { values: LabelValues; value: number }>();
  /** A metric with these label names (values given in the same order). */
  constructor(readonly labelNames: readonly string[] = []) {}

  /** Adds `n` (default 1) to the series with `values`. */
  inc(values: LabelValues = [], n = 1): void {
    const key = values.join("\u0000");
    const c = this.#children.get(key);
    if (c) c.value += n;
    else this.#children.set(key, { values: [...values], value: n });
  }

  /** Sets the series with `values` to `v` (for gauges). */
  set(values: LabelValues, v: number): void {
    const key = values.join("\u0000");
    const c = this.#children.get(key);
    if (c) c.value = v;
    else this.#children.set(key, { values: [...values], value: v });
  }

  /** The current value of the series with `values` (0 when it has none). */
  get(values: LabelValues = []): number {
    return this.#children.get(values.join("\u0000"))?.value ?? 0;
  }

  /** Writes `name{labels} value` lines. */
  writeSamples(name: string, out: string[]): void {
    if (this.#children.size === 0 && this.labelNames.length === 0) {
      out.push(`${name} 0`);
      return;
    }
    for (const c of this.#children.values()) {
      out.push(`${name}${labelText(this.labelNames, c.values)} ${formatMetricValue(c.value)}`);
    }
  }
}

/** Prometheus' default histogram buckets (seconds). */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A histogram with labels: cumulative buckets, sum and count per series. */
export class Histogram {
  readonly #children = new Map<
    string,
    { values: LabelValues; counts: Float64Array; sum: number; count: number }
  >();
  /** A histogram with `buckets` (upper bounds, ascending; +Inf is implied). */
  constructor(
    readonly labelNames: readonly string[] = [],
    readonly buckets: readonly number[] = DEFAULT_BUCKETS,
  ) {}

  /** Records one observation `v` for the series with `values`. */
  observe(values: LabelValues, v: number): void {
    const key = values.join("\u0000");
    let c = this.#children.get(key);
    if (!c) {
      c = { values: [...values], counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
      this.#children.set(key, c);
    }
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) c.counts[i]++;
    c.sum += v;
    c.count++;
  }

  /** Writes the `_bucket`, `_sum` and `_count` lines. */
  writeSamples(name: string, out: string[]): void {
    for (const c of this.#children.values()) {
      for (let i = 0; i < this.buckets.length; i++) {
        const le = `le="${formatMetricValue(this.buckets[i])}"`;
        out.push(`${name}_bucket${labelText(this.labelNames, c.values, le)} ${c.counts[i]}`);
      }
      out.push(`${name}_bucket${labelText(this.labelNames, c.values, 'le="+Inf"')} ${c.count}`);
      out.push(`${name}_sum${labelText(this.labelNames, c.values)} ${formatMetricValue(c.sum)}`);
      out.push(`${name}_count${labelText(this.labelNames, c.values)} ${c.count}`);
    }
  }
}

/** The metrics of one process, written in registration order. */
export class Registry {
  readonly #families: Family[] = [];
  readonly #names = new Set<string>();
  readonly #beforeScrape: (() => void | Promise<void>)[] = [];

  #add(family: Family): void {
    if (this.#names.has(family.name)) throw new Error(`metric ${family.name} registered twice`);
    this.#names.add(family.name);
    this.#families.push(family);
  }

  /** A counter (`name` should end in `_total`). */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    const c = new Counter(labelNames);
    this.#add({ name, help, type: "counter", write: (out) => c.writeSamples(name, out) });
    return c;
  }

  /** A gauge. */
  gauge(name: string, help: string, labelNames: readonly string[] = []): Counter {
    const g = new Counter(labelNames);
    this.#add({ name, help, type: "gauge", write: (out) => g.writeSamples(name, out) });
    return g;
  }

  /** A histogram. */
  histogram(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    buckets: readonly number[] = DEFAULT_BUCKETS,
  ): Histogram {
    const h = new Histogram(labelNames, buckets);
    this.#add({ name, help, type: "histogram", write: (out) => h.writeSamples(name, out) });
    return h;
  }

  /** A counter or gauge without labels whose value `read` gives when scraped. */
  valueOf(name: string, help: string, type: "counter" | "gauge", read: () => number): void {
    this.#add({
      name,
      help,
      type,
      write: (out) => out.push(`${name} ${formatMetricValue(read())}`),
    });
  }

  /** Adds lines that `write` formats itself (`# HELP`/`# TYPE` included), in registration order. */
  block(write: (out: string[]) => void): void {
    this.#families.push({ name: "", help: "", type: "gauge", write });
  }

  /** Runs `fn` before each scrape (to refresh values that are costly to read). */
  beforeScrape(fn: () => void | Promise<void>): void {
    this.#beforeScrape.push(fn);
  }

  /** The whole exposition, `# HELP` and `# TYPE` before each family. */
  async exposition(): Promise<string> {
    for (const fn of this.#beforeScrape) await fn();
    const out: string[] = [];
    for (const f of this.#families) {
      if (f.name === "") {
        f.write(out); // a block: formats its own families
        continue;
      }
      out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
      out.push(`# TYPE ${f.name} ${f.type}`);
      f.write(out);
    }
    return out.join("\n") + "\n";
  }
}

/** Content-Type of the text exposition format. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
