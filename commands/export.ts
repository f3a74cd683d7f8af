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
import { formatMetadata } from "../lib/ndjson/contract.ts";
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

const utf8 = new TextEncoder();

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|([+-])(\d{2}):(\d{2}))$/i;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Parses a time for `--start`/`--end`: integer milliseconds since the epoch (`1732350000123`)
 * or an RFC 3339 date-time (`2024-11-23T08:20:00Z`, `2024-11-23T08:20:00.123+01:00`). Every
 * field is range-checked (no rolling `2024-02-30` over into March, no hour 24). A leap second
 * (`23:59:60Z`, any fraction) means the last millisecond before the next minute (`23:59:59.999Z`):
 * Unix time has no leap seconds. Fractions finer than a millisecond are truncated.
 */
export function parseTimeMs(text: string): number {
  const t = text.trim();
  const bad = (why: string) =>
    new InvalidArgumentError(
      `expected integer milliseconds since the epoch or an RFC 3339 time like 2024-11-23T08:20:00Z (got "${text}"${
        why ? `: ${why}` : ""
      })`,
    );
  if (/^-?\d+$/.test(t)) {
    const n = Number(t);
    if (Number.isSafeInteger(n)) return n;
    throw bad("not a safe integer");
  }
  const m = RFC3339.exec(t);
  if (!m) throw bad("");
  const [year, month, day, hour, minute] = [1, 2, 3, 4, 5].map((i) => Number(m[i]));
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (month < 1 || month > 12) throw bad(`month ${m[2]} is not 01-12`);
  const days = daysInMonth(year, month);
  if (day < 1 || day > days) throw bad(`day ${m[3]} is not 01-${days} in ${m[1]}-${m[2]}`);
  if (hour > 23) throw bad(`hour ${m[4]} is not 00-23`);
  if (minute > 59) throw bad(`minute ${m[5]} is not 00-59`);
  if (second > 60) throw bad(`second ${m[6]} is not 00-60`);
  let offsetMin = 0;
  if (m[9]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) throw bad(`offset ${m[9]}${m[10]}:${m[11]} is out of range`);
    offsetMin = (m[9] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const leap = second === 60;
  const ms = leap ? 999 : m[7] ? Number(m[7].slice(0, 3).padEnd(3, "0")) : 0;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, leap ? 59 : second, ms);
  const result = d.getTime() - offsetMin * 60_000;
  if (!Number.isFinite(result)) throw bad("out of range");
  return result;
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
  const out = new NdjsonWriter(Deno.stdout.writable, { bufferBytes: 256 * 1024 });
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
      const prefix = utf8.encode(linePrefix(s.labels));
      for await (const block of store.read(s.id, startMs, endMs)) {
        const ts = block.timestampsMs;
        const v = block.values;
        const words = new Uint32Array(v.buffer, v.byteOffset, v.length * 2);
        for (let i = 0; i < ts.length; i++) {
          const x = v[i];
          const p = x === x
            ? out.writeSample(prefix, ts[i], x)
            : out.writeSample(prefix, ts[i], x, hex8(words[2 * i + 1]) + hex8(words[2 * i]));
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
        "  wattwave export --store ./power-store --match 'node_rapl_package_joules_total{index=\"0\"}' \\\n" +
        "    --start 2024-11-23T08:00:00Z --end 2024-11-23T09:00:00Z",
    )
    .action(async (options) => {
      await exportStore(options as ExportOptions);
    });
}
