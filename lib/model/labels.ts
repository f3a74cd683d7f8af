/**
 * Label pairs: a series' labels including `__name__`, as `[name, value]` pairs sorted by name
 * (the order of the remote-write wire and of the store index), and their order.
 *
 * @module
 */

/** Label pairs including `__name__`, sorted by label name (the wire order). */
export type LabelPairs = [string, string][];

/** Orders two sorted label sets pair by pair, then by length (Prometheus' `labels.Compare`). */
export function compareLabelPairs(a: LabelPairs, b: LabelPairs): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i][0] !== b[i][0]) return a[i][0] < b[i][0] ? -1 : 1;
    if (a[i][1] !== b[i][1]) return a[i][1] < b[i][1] ? -1 : 1;
  }
  return a.length - b.length;
}

/** A series as PromQL writes it, `name{label="value",…}`, for messages. */
export function seriesText(labels: LabelPairs): string {
  const name = labels.find(([n]) => n === "__name__")?.[1] ?? "";
  const rest = labels.filter(([n]) => n !== "__name__").map(([n, v]) =>
    `${n}=${JSON.stringify(v)}`
  );
  return rest.length ? `${name}{${rest.join(",")}}` : name;
}
