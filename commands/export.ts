/**
 * `wattwave export`: series from the FLAC store back out as NDJSON, bit-exact.
 *
 * @module
 */
import {
  Command,
  type CommandUnknownOpts,
  InvalidArgumentError,
} from "@commander-js/extra-typings";
import { collectString } from "../lib/cli/parse.ts";
import { UsageError } from "../lib/errors.ts";
import { formatJsonValue, formatMetadata } from "../lib/ndjson/contract.ts";
import type { MetricType } from "../lib/model/sample.ts";
import { NdjsonWriter } from "../lib/ndjson/writer.ts";
import {
  type CompiledMatcher,
  compileSelector,
  matchesAllPairs,
  SelectorSyntaxError,
} from "../lib/query/selector.ts";
import { type LabelPairs, Store } from "../lib/store/mod.ts";

interface ExportOptions {
  store: string;
  match: string[];
  start?: number;
  end?: number;
}

/**
 * Parses a time for `--start`/`--end`: integer milliseconds since the epoch (`1732350000123`)
 * or an RFC 3339 date-time (`2024-11-23T08:20:00Z`, `2024-11-23T08:20:00.123+01:00`).
 */
export function parseTimeMs(text: string): number {
  const t = text.trim();
  if (/^-?\d+$/.test(t)) {
    const n = Number(t);
    if (Number.isSafeInteger(n)) return n;
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(t)) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms;
  }
  throw new InvalidArgumentError(
    `expected integer milliseconds since the epoch or an RFC 3339 time like 2024-11-23T08:20:00Z (got "${text}")`,
  );
}

/** The NDJSON text before the timestamp for one series: `{"name":…,"labels":{…},"timestamp":`. */
function linePrefix(labels: LabelPairs): string {
  let name = "";
  let rest = "";
  for (const [n, v] of labels) {
    if (n === "__name__") name = v;
    else rest += (rest ? "," : "") + JSON.stringify(n) + ":" + JSON.stringify(v);
  }
  return `{"name":${JSON.stringify(name)},"labels":{${rest}},"timestamp":`;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

async function exportStore(o: ExportOptions): Promise<void> {
  const startMs = o.start ?? -Infinity;
  const endMs = o.end ?? Infinity;
  if (startMs > endMs) throw new UsageError(`--start (${o.start}) is after --end (${o.end})`);
  let selectors: CompiledMatcher[][];
  try {
    selectors = o.match.map((m) => compileSelector(m));
  } catch (err) {
    if (err instanceof SelectorSyntaxError) throw new UsageError(`--match: ${err.message}`);
    throw err;
  }
  const store = await Store.open(o.store, { readOnly: true });
  const series = store.series((labels) =>
    selectors.length === 0 || selectors.some((m) => matchesAllPairs(m, labels))
  ).filter((s) => s.maxTs >= startMs && s.minTs <= endMs);
  const out = new NdjsonWriter(Deno.stdout.writable, { bufferChars: 256 * 1024 });
  try {
    // Metadata records first, for the metric names of the exported series (in series order).
    const names = new Set<string>();
    for (const s of series) {
      const name = s.labels.find(([n]) => n === "__name__")?.[1] ?? "";
      if (names.has(name)) continue;
      names.add(name);
      const m = store.metadata(name);
      if (!m) continue;
      const p = out.writeLine(
        formatMetadata({ kind: "metadata", ...m, type: m.type as MetricType }),
      );
      if (p) await p;
    }
    for (const s of series) {
      const prefix = linePrefix(s.labels);
      for await (const block of store.read(s.id, startMs, endMs)) {
        const ts = block.timestampsMs;
        const v = block.values;
        const words = new Uint32Array(v.buffer, v.byteOffset, v.length * 2);
        for (let i = 0; i < ts.length; i++) {
          const x = v[i];
          const value = x === x
            ? formatJsonValue(x)
            : formatJsonValue(NaN, hex8(words[2 * i + 1]) + hex8(words[2 * i]));
          const p = out.writeLine(`${prefix}${ts[i]},"value":${value}}`);
          if (p) await p;
        }
      }
    }
  } finally {
    await out.release();
  }
}

/** The `export` subcommand. */
export function exportCommand(): CommandUnknownOpts {
  return new Command("export")
    .description("Export series from a FLAC store as NDJSON, bit-exact")
    .requiredOption("--store <dir>", "store directory")
    .option(
      "--match <selector>",
      'PromQL series selector, e.g. \'{__name__="x",job=~"a.*"}\' (repeatable: union; default all)',
      collectString,
      [] as string[],
    )
    .option(
      "--start <time>",
      "first timestamp (ms since epoch or RFC 3339), inclusive",
      parseTimeMs,
    )
    .option("--end <time>", "last timestamp (ms since epoch or RFC 3339), inclusive", parseTimeMs)
    .addHelpText(
      "after",
      "\nOutput: the stored metadata records (type, unit, help) of the exported metric names\n" +
        "first, then each series in turn, its samples in timestamp order (equal timestamps in the\n" +
        "order they were stored). Only segments and FLAC frames covering the range are decoded.\n" +
        "Example:\n" +
        "  wattwave export --store ./power-store --match 'rapl_energy_joules_total{domain=\"package\"}' \\\n" +
        "    --start 2024-11-23T08:00:00Z --end 2024-11-23T09:00:00Z",
    )
    .action(async (options) => {
      await exportStore(options as ExportOptions);
    });
}
