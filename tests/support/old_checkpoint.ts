/**
 * Store checkpoints as an older wattwave wrote them, for tests that read old stores.
 *
 * @module
 */

/**
 * A version-5 checkpoint's document in the layout of versions 2-4 (an object per series and per
 * range), marked `version`: what an older wattwave wrote.
 */
// deno-lint-ignore no-explicit-any
export function asObjectCheckpoint(disk: any, version: number): unknown {
  const { series: s, ranges: c } = disk;
  const series = [];
  let l = 0;
  let r = 0;
  for (let i = 0; i < s.pairs.length; i++) {
    const labels = s.labels.slice(l, l + 2 * s.pairs[i]);
    l += 2 * s.pairs[i];
    const ranges = [];
    for (let k = 0; k < s.ranges[i]; k++, r++) {
      // deno-lint-ignore no-explicit-any
      const range: any = {
        file: c.file[r],
        at: c.at[r],
        count: c.count[r],
        minTs: c.minTs[r],
        maxTs: c.maxTs[r],
        stepMs: c.stepMs[r],
        mode: c.modes[c.mode[r]],
        scale: c.scale[r],
      };
      // deno-lint-ignore no-explicit-any
      const ex = c.exceptions.find((e: any) => e[0] === r);
      if (ex) range.exceptions = ex[1];
      // deno-lint-ignore no-explicit-any
      const seek = c.seek.find((e: any) => e[0] === r);
      if (seek) range.seek = seek[1];
      ranges.push(range);
    }
    series.push({ labels, ranges });
  }
  return { ...disk, version, series, ranges: undefined };
}
