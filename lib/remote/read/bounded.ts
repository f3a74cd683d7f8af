/**
 * Running work on a few items at a time.
 *
 * @module
 */

/**
 * Calls `each(i)` for every `i` in `[0, count)`, at most `concurrency` at a time, in index order
 * of starting. The first rejection stops new calls and is what this rejects with.
 */
export async function forEachBounded(
  count: number,
  concurrency: number,
  each: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const runner = async () => {
    while (next < count && !failed) {
      try {
        await each(next++);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const runners: Promise<void>[] = [];
  for (let k = 0; k < Math.min(concurrency, count); k++) runners.push(runner());
  await Promise.all(runners);
}
