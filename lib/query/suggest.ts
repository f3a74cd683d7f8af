/**
 * "Did you mean": the known names closest to a name that matched nothing, by edit distance.
 *
 * @module
 */

/** Levenshtein distance between `a` and `b` (insertions, deletions, substitutions), two rows. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const cost = ca === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/** Options of {@linkcode closestNames}. */
export interface ClosestNamesOptions {
  /** Most names returned. Default 3. */
  limit?: number;
  /** Largest distance kept, as a fraction of the longer name's length. Default 0.5. */
  maxRelativeDistance?: number;
}

/** The names of `known` closest to `target`, nearest first (ties by name). */
export function closestNames(
  target: string,
  known: Iterable<string>,
  options: ClosestNamesOptions = {},
): string[] {
  const limit = options.limit ?? 3;
  const maxRel = options.maxRelativeDistance ?? 0.5;
  const scored: [number, string][] = [];
  for (const name of new Set(known)) {
    const d = editDistance(target, name);
    if (d <= maxRel * Math.max(target.length, name.length)) scored.push([d, name]);
  }
  scored.sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0));
  return scored.slice(0, limit).map(([, n]) => n);
}
