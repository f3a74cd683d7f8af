/**
 * The NDJSON contract: one JSON object per line, validated with zod at every input.
 *
 * - sample: `{"name":"m","labels":{"k":"v"},"timestamp":1732350000123,"value":12.5}`
 * - metadata: `{"metadata":{"name":"m","type":"counter","unit":"joules","help":"..."}}`
 * - native histogram and exemplar lines: see `histogram_line.ts`
 *
 * `value` is a JSON number or one of `"NaN"` (Prometheus' normal NaN, bits 0x7ff8000000000001),
 * `"+Inf"`, `"-Inf"`, `"StaleNaN"` (0x7ff0000000000002), or `"0x"` + 16 hex digits for any
 * other exact bit pattern (what wattwave writes for a NaN with another payload). `-0` is
 * written as `-0`. Every value survives parse → format bit for bit.
 *
 * @module
 */
import { z } from "zod";
import {
  LABEL_NAME_RE,
  METRIC_NAME_RE,
  METRIC_TYPES,
  type MetricMetadata,
  type NdjsonRecord,
  type Sample,
} from "../model/sample.ts";
import { parseCanonicalSample } from "./fast_parse.ts";
import { formatJsonValue, parseJsonValue } from "./value_text.ts";
import {
  exemplarFromObject,
  exemplarObjectSchema,
  formatExemplarLine,
  formatHistogramLine,
  histogramFromObject,
  histogramObjectSchema,
} from "./histogram_line.ts";

export { formatJsonValue, parseJsonValue };

const SPECIAL_VALUES = ["NaN", "+Inf", "-Inf", "StaleNaN"] as const;
const HEX_BITS_RE = /^0x[0-9a-fA-F]{16}$/;

const labelsSchema = z.record(z.string(), z.string({ error: "label values must be strings" }))
  .superRefine((labels, ctx) => {
    for (const name in labels) {
      if (name === "__name__") {
        ctx.addIssue({ code: "custom", message: "labels must not hold __name__ (use name)" });
      } else if (!LABEL_NAME_RE.test(name)) {
        ctx.addIssue({
          code: "custom",
          message: `label name ${JSON.stringify(name)} must match [a-zA-Z_][a-zA-Z0-9_]*`,
        });
      }
    }
  });

const sampleSchema = z.object({
  name: z.string({ error: "name must be a string" }).regex(
    METRIC_NAME_RE,
    "name must match [a-zA-Z_:][a-zA-Z0-9_:]*",
  ),
  labels: labelsSchema.optional(),
  timestamp: z.number({ error: "timestamp must be integer milliseconds" }).refine(
    Number.isSafeInteger,
    "timestamp must be integer milliseconds",
  ),
  value: z.custom<number | string>(
    (v) =>
      (typeof v === "number" && Number.isFinite(v)) ||
      (typeof v === "string" &&
        ((SPECIAL_VALUES as readonly string[]).includes(v) || HEX_BITS_RE.test(v))),
    'value must be a number within float64 range, "NaN", "+Inf", "-Inf", "StaleNaN" or "0x" + 16 hex digits',
  ),
  startTimestamp: z.number({ error: "startTimestamp must be integer milliseconds" }).refine(
    Number.isSafeInteger,
    "startTimestamp must be integer milliseconds",
  ).optional(),
});

const seriesFields = {
  name: sampleSchema.shape.name,
  labels: labelsSchema.optional(),
};

const histogramLineSchema = z.object({
  ...seriesFields,
  timestamp: sampleSchema.shape.timestamp,
  histogram: histogramObjectSchema,
  startTimestamp: sampleSchema.shape.startTimestamp,
});

const exemplarLineSchema = z.object({ ...seriesFields, exemplar: exemplarObjectSchema });

const metadataSchema = z.object({
  metadata: z.object({
    name: z.string().regex(METRIC_NAME_RE, "metadata.name must match [a-zA-Z_:][a-zA-Z0-9_:]*"),
    type: z.enum(METRIC_TYPES, { error: `metadata.type must be one of ${METRIC_TYPES.join("|")}` }),
    unit: z.string().optional(),
    help: z.string().optional(),
  }),
});

/** Why a line was refused. */
export class BadLine extends Error {
  override name = "BadLine";
}

function describe(value: unknown): string {
  const s = JSON.stringify(value);
  if (s === undefined) return String(value);
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}

function firstIssue(error: z.ZodError, input: unknown): string {
  const issue = error.issues[0];
  let got: unknown = input;
  for (const key of issue.path) {
    got = got !== null && typeof got === "object"
      ? (got as Record<PropertyKey, unknown>)[key]
      : undefined;
  }
  const at = issue.path.length ? issue.path.join(".") + ": " : "";
  return `${at}${issue.message} (got ${describe(got)})`;
}

/** Parses one NDJSON line. Throws {@linkcode BadLine} with what was wrong and what was received. */
export function parseLine(line: string): NdjsonRecord {
  return parseCanonicalSample(line) ?? parseLineWithZod(line);
}

/** Parses one NDJSON line with JSON.parse and the zod schemas (the reference path). */
export function parseLineWithZod(line: string): NdjsonRecord {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (err) {
    throw new BadLine(`not JSON: ${(err as Error).message} (got ${describe(line)})`);
  }
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new BadLine(`expected a JSON object (got ${describe(obj)})`);
  }
  if ("metadata" in obj) {
    const r = metadataSchema.safeParse(obj);
    if (!r.success) throw new BadLine(firstIssue(r.error, obj));
    const m = r.data.metadata;
    return { kind: "metadata", name: m.name, type: m.type, unit: m.unit ?? "", help: m.help ?? "" };
  }
  if ("histogram" in obj) {
    const r = histogramLineSchema.safeParse(obj);
    if (!r.success) throw new BadLine(firstIssue(r.error, obj));
    try {
      const histogram = histogramFromObject(
        r.data.histogram,
        r.data.timestamp,
        r.data.startTimestamp ?? 0,
      );
      return { kind: "histogram", name: r.data.name, labels: r.data.labels ?? {}, histogram };
    } catch (err) {
      throw new BadLine(`histogram: ${(err as Error).message}`);
    }
  }
  if ("exemplar" in obj) {
    const r = exemplarLineSchema.safeParse(obj);
    if (!r.success) throw new BadLine(firstIssue(r.error, obj));
    try {
      const exemplar = exemplarFromObject(r.data.exemplar);
      return { kind: "exemplar", name: r.data.name, labels: r.data.labels ?? {}, exemplar };
    } catch (err) {
      throw new BadLine(`exemplar: ${(err as Error).message}`);
    }
  }
  const r = sampleSchema.safeParse(obj);
  if (!r.success) throw new BadLine(firstIssue(r.error, obj));
  const s = r.data;
  const ev = parseJsonValue(s.value);
  const sample: Sample = {
    kind: "sample",
    name: s.name,
    labels: s.labels ?? {},
    timestampMs: s.timestamp,
    value: ev.value,
  };
  if (ev.nanBits !== undefined) sample.nanBits = ev.nanBits;
  if (s.startTimestamp !== undefined && s.startTimestamp !== 0) {
    sample.startTimestampMs = s.startTimestamp;
  }
  return sample;
}

function formatLabels(labels: Record<string, string>): string {
  let out = "{";
  let first = true;
  for (const k in labels) {
    out += (first ? "" : ",") + JSON.stringify(k) + ":" + JSON.stringify(labels[k]);
    first = false;
  }
  return out + "}";
}

/**
 * The head of a sample line, up to and including `"timestamp":` —
 * `{"name":…,"labels":{…},"timestamp":` — which every writer of sample lines computes once per
 * series and follows with the timestamp and value.
 */
export function sampleLineHead(name: string, labels: Record<string, string>): string {
  return `{"name":${JSON.stringify(name)},"labels":${formatLabels(labels)},"timestamp":`;
}

/** {@linkcode sampleLineHead} of label pairs that hold the name as `__name__` (wire order kept). */
export function sampleLineHeadOfPairs(pairs: readonly (readonly [string, string])[]): string {
  let name = "";
  let rest = "";
  for (const [n, v] of pairs) {
    if (n === "__name__") name = v;
    else rest += (rest ? "," : "") + JSON.stringify(n) + ":" + JSON.stringify(v);
  }
  return `{"name":${JSON.stringify(name)},"labels":{${rest}},"timestamp":`;
}

/** One NDJSON line (without newline) for a sample. */
export function formatSample(s: Sample): string {
  const start = s.startTimestampMs ? `,"startTimestamp":${s.startTimestampMs}` : "";
  return `${sampleLineHead(s.name, s.labels)}${s.timestampMs},"value":${
    formatJsonValue(s.value, s.nanBits)
  }${start}}`;
}

/** One NDJSON line (without newline) for a metadata record. */
export function formatMetadata(m: MetricMetadata): string {
  return JSON.stringify({
    metadata: { name: m.name, type: m.type, unit: m.unit, help: m.help },
  });
}

/** One NDJSON line (without newline) for any record. */
export function formatRecord(r: NdjsonRecord): string {
  switch (r.kind) {
    case "sample":
      return formatSample(r);
    case "metadata":
      return formatMetadata(r);
    case "histogram":
      return formatHistogramLine(sampleLineHead(r.name, r.labels), r.histogram);
    case "exemplar":
      return formatExemplarLine(sampleLineHead(r.name, r.labels), r.exemplar);
  }
}
