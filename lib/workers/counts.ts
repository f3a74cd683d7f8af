/**
 * Default worker counts of every pool, with the measurements that chose them. All are derived
 * from the core count (`navigator.hardwareConcurrency`), and each can be set on the command line.
 *
 * @module
 */

function cores(): number {
  return navigator.hardwareConcurrency || 1;
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}

/**
 * `receive --workers`: cores - 2, from 0 to 4. The main thread does HTTP and output and another
 * core is left to the rest of the machine; on 2 cores (measured with `bench/receive_ingest.ts`:
 * 2.54M samples/s in-process vs 2.20M with one worker) decoding stays on the main thread.
 */
export function defaultFormatWorkers(): number {
  return clamp(cores() - 2, 0, 4);
}

/**
 * `push --parse-workers`: cores - 1, from 1 to 4; the calling thread encodes and sends. Measured
 * on 2 cores with `bench/push_vm.ts` (2M samples, a fresh VictoriaMetrics each run, two runs of
 * medians): none 2.86 / 3.32 s, one 2.68 / 2.92 s, two 3.13 / 2.65 s. Workers start only once
 * the input passes 8 MiB, so small and slow inputs never pay for them.
 */
export function defaultParseWorkers(): number {
  return clamp(cores() - 1, 1, 4);
}

/**
 * `serve-read --read-workers`: cores - 2, from 0 to 3. The main thread reads too, and a core is
 * left to the querying Prometheus: on 2 cores (`bench/serve_read_bench.ts`, 1,000 uncached
 * series) the main thread alone answered in 1.84-1.95x the local TSDB's time in three runs of
 * four, one worker in 2.00-2.27x.
 */
export function defaultReadWorkers(): number {
  return clamp(cores() - 2, 0, 3);
}
