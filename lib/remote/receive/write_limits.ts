/**
 * What one remote-write request may hold: series, labels per series, label name and value
 * lengths, metadata help length, and its decoded size. Past any of them the request is refused
 * with 400 (413 for the decoded size) and a reason naming the limit and its flag, before any of it
 * is written. The defaults are generous for real traffic: Prometheus sends 2,000 samples per
 * request by default, vmagent up to 10,000 rows, and big node-exporter or kube-state-metrics
 * scrapes carry a few dozen labels of short values.
 *
 * @module
 */

/** Limits of one remote-write request (see the module doc). */
export interface WriteLimits {
  /** Largest decoded (decompressed) body, bytes (413 beyond). Default 64 MiB. */
  maxDecodedBytes: number;
  /** Series per request. Default 1,000,000. */
  maxSeriesPerRequest: number;
  /** Labels per series, `__name__` included. Default 128. */
  maxLabelsPerSeries: number;
  /** Bytes (UTF-16 code units as decoded; ASCII: bytes) of a label name. Default 1,024. */
  maxLabelNameBytes: number;
  /** Bytes of a label value. Default 16,384. */
  maxLabelValueBytes: number;
  /** Bytes of a metadata help text. Default 16,384. */
  maxHelpBytes: number;
}

/** The defaults of {@linkcode WriteLimits}. */
export const DEFAULT_WRITE_LIMITS: Readonly<WriteLimits> = Object.freeze({
  maxDecodedBytes: 64 * 1024 * 1024,
  maxSeriesPerRequest: 1_000_000,
  maxLabelsPerSeries: 128,
  maxLabelNameBytes: 1024,
  maxLabelValueBytes: 16 * 1024,
  maxHelpBytes: 16 * 1024,
});

/** `limits` with every missing field set to its default. */
export function writeLimits(limits: Partial<WriteLimits> = {}): WriteLimits {
  const out = { ...DEFAULT_WRITE_LIMITS };
  for (const [k, v] of Object.entries(limits)) {
    if (v !== undefined) (out as Record<string, number>)[k] = v as number;
  }
  return out;
}

/** Shortens a label name or value for a refusal's reason. */
function excerpt(text: string): string {
  return text.length <= 40 ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, 40))}…`;
}

/** Why `labels` break `limits` (naming the flag), or undefined. */
export function labelLimitReason(
  labels: readonly (readonly [string, string])[],
  limits: WriteLimits,
): string | undefined {
  if (labels.length > limits.maxLabelsPerSeries) {
    const name = labels.find(([n]) => n === "__name__")?.[1] ?? "";
    return `series ${excerpt(name)} has ${labels.length} labels, over the limit of ` +
      `${limits.maxLabelsPerSeries} (--max-labels-per-series)`;
  }
  for (const [n, v] of labels) {
    if (n.length > limits.maxLabelNameBytes) {
      return `label name ${excerpt(n)} is ${n.length} bytes, over the limit of ` +
        `${limits.maxLabelNameBytes} (--max-label-name-bytes)`;
    }
    if (v.length > limits.maxLabelValueBytes) {
      return `value of label ${excerpt(n)} is ${v.length} bytes, over the limit of ` +
        `${limits.maxLabelValueBytes} (--max-label-value-bytes)`;
    }
  }
  return undefined;
}

/** Why a request of `series` series breaks `limits`, or undefined. */
export function seriesCountReason(series: number, limits: WriteLimits): string | undefined {
  if (series <= limits.maxSeriesPerRequest) return undefined;
  return `request holds more than ${limits.maxSeriesPerRequest} series ` +
    `(--max-series-per-request)`;
}

/** Why a metadata help text breaks `limits`, or undefined. */
export function helpLimitReason(
  name: string,
  help: string,
  limits: WriteLimits,
): string | undefined {
  if (help.length <= limits.maxHelpBytes) return undefined;
  return `help of metric ${excerpt(name)} is ${help.length} bytes, over the limit of ` +
    `${limits.maxHelpBytes} (--max-help-bytes)`;
}
