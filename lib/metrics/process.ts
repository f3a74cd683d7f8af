/**
 * The process metrics every Prometheus exporter has (`process_cpu_seconds_total`,
 * `process_resident_memory_bytes`, `process_open_fds`, `process_max_fds`,
 * `process_start_time_seconds`) and `wattwave_build_info`.
 *
 * Deno refuses to read `/proc/self/*` without --allow-all, so open and maximum file descriptors
 * are counted by `ls`/`cat` of `/proc/<pid>` at scrape time (Linux; absent elsewhere).
 *
 * @module
 */
import process from "node:process";
import { VERSION } from "../version.ts";
import type { Registry } from "./registry.ts";

/** How often the file descriptors are counted again, ms (scrapes in between reuse the count). */
export const FD_REFRESH_MS = 10_000;

/** Counts this process' open file descriptors and reads its soft limit, or undefined. */
async function fileDescriptors(): Promise<{ open: number; max: number } | undefined> {
  try {
    const out = await new Deno.Command("sh", {
      args: [
        "-c",
        `ls /proc/${Deno.pid}/fd | wc -l; grep 'Max open files' /proc/${Deno.pid}/limits`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    if (out.code !== 0) return undefined;
    const [count, limits] = new TextDecoder().decode(out.stdout).split("\n");
    const max = /Max open files\s+(\d+|unlimited)/.exec(limits ?? "")?.[1];
    // `ls` itself holds one descriptor of its own listing: not ours.
    return {
      open: Math.max(0, Number(count) - 1),
      max: max === "unlimited" ? Infinity : Number(max),
    };
  } catch {
    return undefined;
  }
}

/** Registers the process metrics and `wattwave_build_info` in `registry`. */
export function registerProcessMetrics(registry: Registry): void {
  const startSeconds = (performance.timeOrigin) / 1000;
  registry.valueOf(
    "process_cpu_seconds_total",
    "Total user and system CPU time spent in seconds.",
    "counter",
    () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    },
  );
  registry.valueOf(
    "process_resident_memory_bytes",
    "Resident memory size in bytes.",
    "gauge",
    () => Deno.memoryUsage().rss,
  );
  // Counting costs a child process (~10 ms): done at most every FD_REFRESH_MS.
  let fds: { open: number; max: number } | undefined;
  let fdsAtMs = -Infinity;
  registry.beforeScrape(async () => {
    if (performance.now() - fdsAtMs < FD_REFRESH_MS) return;
    fdsAtMs = performance.now();
    fds = await fileDescriptors();
  });
  registry.valueOf(
    "process_open_fds",
    "Number of open file descriptors.",
    "gauge",
    () => fds?.open ?? NaN,
  );
  registry.valueOf(
    "process_max_fds",
    "Maximum number of open file descriptors.",
    "gauge",
    () => fds?.max ?? NaN,
  );
  registry.valueOf(
    "process_start_time_seconds",
    "Start time of the process since unix epoch in seconds.",
    "gauge",
    () => Math.round(startSeconds * 100) / 100,
  );
  const info = registry.gauge(
    "wattwave_build_info",
    "A metric with a constant '1' value labeled by version and the Deno runtime it runs on.",
    ["version", "deno_version"],
  );
  info.set([VERSION, Deno.version.deno], 1);
}
