/**
 * NDJSON lines for native histograms and exemplars (see the contract in `contract.ts`):
 *
 * - histogram: `{"name":"m","labels":{…},"timestamp":T,"histogram":{"count":5,"sum":12.5,
 *   "schema":3,"zeroThreshold":1e-128,"zeroCount":0,"positiveSpans":[[0,2]],
 *   "positiveDeltas":[2,1],"resetHint":"unknown"}}`; a float histogram has `"float":true`,
 *   float `count`/`zeroCount` and `negativeCounts`/`positiveCounts` instead of deltas; schema −53
 *   adds `"customValues":[…]`. Spans, deltas and counts are left out when empty.
 * - exemplar: `{"name":"m","labels":{…},"exemplar":{"labels":{"trace_id":"…"},"value":V,
 *   "timestamp":T}}` — an exemplar of series `m{…}`, a line of its own.
 *
 * A sample or histogram line may end in `"startTimestamp":S` (remote write 2.0's start
 * timestamp, ms). Every float64 is written like a sample value (`"NaN"`, `"StaleNaN"`, `"0x…"`,
 * `-0`), so every field round-trips bit for bit.
 *
 * @module
 */
import { z } from "zod";
import {
  type Exemplar,
  histogramProblem,
  type NativeHistogram,
  RESET_HINTS,
} from "../model/histogram.ts";
import { LABEL_NAME_RE } from "../model/sample.ts";
import type { ExactValue } from "../model/value.ts";
import { hexOfWords } from "../model/value.ts";
import { formatJsonValue, parseJsonValue } from "./value_text.ts";

const bitsView = new DataView(new ArrayBuffer(8));

function exact(v: ExactValue): string {
  return formatJsonValue(v.value, v.nanBits);
}

/** `[a,b,…]` of the float64s of `values`, NaN bits included. */
function floatList(values: Float64Array): string {
  let out = "[";
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let text: string;
    if (v === v) text = formatJsonValue(v);
    else {
      for (let b = 0; b < 8; b++) bitsView.setUint8(b, bytes[i * 8 + b]);
      text = formatJsonValue(
        v,
        hexOfWords(bitsView.getUint32(4, true), bitsView.getUint32(0, true)),
      );
    }
    out += (i ? "," : "") + text;
  }
  return out + "]";
}

function spanList(spans: number[]): string {
  let out = "[";
  for (let i = 0; i + 1 < spans.length; i += 2) {
    out += (i ? "," : "") + `[${spans[i]},${spans[i + 1]}]`;
  }
  return out + "]";
}

/** The JSON object of a histogram (the value of a line's `"histogram"` key). */
export function formatHistogramObject(h: NativeHistogram): string {
  let out = "{";
  if (h.isFloat) out += '"float":true,';
  out += `"count":${exact(h.count)},"sum":${exact(h.sum)},"schema":${h.schema}`;
  out += `,"zeroThreshold":${exact(h.zeroThreshold)},"zeroCount":${exact(h.zeroCount)}`;
  if (h.negativeSpans.length) out += `,"negativeSpans":${spanList(h.negativeSpans)}`;
  if (h.isFloat) {
    if (h.negativeCounts.length) out += `,"negativeCounts":${floatList(h.negativeCounts)}`;
  } else if (h.negativeDeltas.length) out += `,"negativeDeltas":[${h.negativeDeltas.join(",")}]`;
  if (h.positiveSpans.length) out += `,"positiveSpans":${spanList(h.positiveSpans)}`;
  if (h.isFloat) {
    if (h.positiveCounts.length) out += `,"positiveCounts":${floatList(h.positiveCounts)}`;
  } else if (h.positiveDeltas.length) out += `,"positiveDeltas":[${h.positiveDeltas.join(",")}]`;
  if (h.customValues.length) out += `,"customValues":${floatList(h.customValues)}`;
  out += `,"resetHint":${JSON.stringify(RESET_HINTS[h.resetHint] ?? "unknown")}}`;
  return out;
}

/**
 * A histogram line: `head` is the series' line head up to `"timestamp":` (see
 * `sampleLineHead`), without a newline.
 */
export function formatHistogramLine(head: string, h: NativeHistogram): string {
  const start = h.startTimestampMs !== 0 ? `,"startTimestamp":${h.startTimestampMs}` : "";
  return `${head}${h.timestampMs},"histogram":${formatHistogramObject(h)}${start}}`;
}

/** The JSON object of an exemplar (the value of a line's `"exemplar"` key). */
export function formatExemplarObject(e: Exemplar): string {
  let labels = "{";
  for (const [n, v] of e.labels) {
    labels += (labels.length > 1 ? "," : "") + JSON.stringify(n) + ":" + JSON.stringify(v);
  }
  return `{"labels":${labels}},"value":${exact(e.value)},"timestamp":${e.timestampMs}}`;
}

/** An exemplar line of the series whose line head is `head` (see {@linkcode formatHistogramLine}). */
export function formatExemplarLine(head: string, e: Exemplar): string {
  const seriesPart = head.slice(0, head.length - '"timestamp":'.length);
  return `${seriesPart}"exemplar":${formatExemplarObject(e)}}`;
}

// ---- parsing ----

const valueSchema = z.custom<number | string>(
  (v) =>
    (typeof v === "number" && Number.isFinite(v)) ||
    (typeof v === "string" &&
      (["NaN", "+Inf", "-Inf", "StaleNaN"].includes(v) || /^0x[0-9a-fA-F]{16}$/.test(v))),
  'must be a number, "NaN", "+Inf", "-Inf", "StaleNaN" or "0x" + 16 hex digits',
);
const countSchema = z.number().refine(
  (n) => Number.isSafeInteger(n) && n >= 0,
  "must be a non-negative integer",
);
const intSchema = z.number().refine(Number.isSafeInteger, "must be an integer");
const spansSchema = z.array(z.tuple([intSchema, countSchema]), {
  error: "spans must be [[offset, length], …]",
});

/** The zod schema of a line's `"histogram"` object. */
export const histogramObjectSchema = z.strictObject({
  float: z.boolean().optional(),
  count: valueSchema,
  sum: valueSchema,
  schema: intSchema,
  zeroThreshold: valueSchema,
  zeroCount: valueSchema,
  negativeSpans: spansSchema.optional(),
  negativeDeltas: z.array(intSchema).optional(),
  negativeCounts: z.array(valueSchema).optional(),
  positiveSpans: spansSchema.optional(),
  positiveDeltas: z.array(intSchema).optional(),
  positiveCounts: z.array(valueSchema).optional(),
  customValues: z.array(valueSchema).optional(),
  resetHint: z.enum(RESET_HINTS, { error: `resetHint must be one of ${RESET_HINTS.join("|")}` }),
});

/** The zod schema of a line's `"exemplar"` object. */
export const exemplarObjectSchema = z.strictObject({
  labels: z.record(z.string(), z.string({ error: "exemplar label values must be strings" })),
  value: valueSchema,
  timestamp: intSchema,
});

function floats(values: (number | string)[] | undefined): Float64Array {
  const out = new Float64Array(values?.length ?? 0);
  const view = new DataView(out.buffer);
  values?.forEach((v, i) => {
    const e = parseJsonValue(v);
    if (e.nanBits === undefined) view.setFloat64(i * 8, e.value, true);
    else {
      view.setUint32(i * 8 + 4, parseInt(e.nanBits.slice(0, 8), 16), true);
      view.setUint32(i * 8, parseInt(e.nanBits.slice(8), 16), true);
    }
  });
  return out;
}

function flatSpans(spans: [number, number][] | undefined): number[] {
  const out: number[] = [];
  for (const [o, l] of spans ?? []) out.push(o, l);
  return out;
}

/**
 * The histogram of a validated `"histogram"` object at `timestampMs`; throws an Error with what
 * is inconsistent (integer fields in a float histogram, buckets not matching the spans…).
 */
export function histogramFromObject(
  o: z.infer<typeof histogramObjectSchema>,
  timestampMs: number,
  startTimestampMs = 0,
): NativeHistogram {
  const isFloat = o.float === true;
  if (isFloat && (o.negativeDeltas || o.positiveDeltas)) {
    throw new Error("a float histogram has negativeCounts/positiveCounts, not deltas");
  }
  if (!isFloat && (o.negativeCounts || o.positiveCounts)) {
    throw new Error('an integer histogram has deltas, not counts (or set "float":true)');
  }
  const count = parseJsonValue(o.count);
  const zeroCount = parseJsonValue(o.zeroCount);
  if (!isFloat) {
    for (const [what, v] of [["count", count], ["zeroCount", zeroCount]] as const) {
      if (!Number.isSafeInteger(v.value) || v.value < 0 || v.nanBits !== undefined) {
        throw new Error(`${what} of an integer histogram must be a non-negative integer`);
      }
    }
  }
  const h: NativeHistogram = {
    timestampMs,
    startTimestampMs,
    isFloat,
    count,
    sum: parseJsonValue(o.sum),
    schema: o.schema,
    zeroThreshold: parseJsonValue(o.zeroThreshold),
    zeroCount,
    negativeSpans: flatSpans(o.negativeSpans),
    negativeDeltas: o.negativeDeltas ?? [],
    negativeCounts: floats(o.negativeCounts),
    positiveSpans: flatSpans(o.positiveSpans),
    positiveDeltas: o.positiveDeltas ?? [],
    positiveCounts: floats(o.positiveCounts),
    resetHint: RESET_HINTS.indexOf(o.resetHint),
    customValues: floats(o.customValues),
  };
  const problem = histogramProblem(h);
  if (problem) throw new Error(problem);
  return h;
}

/** The exemplar of a validated `"exemplar"` object; throws on a bad label name. */
export function exemplarFromObject(o: z.infer<typeof exemplarObjectSchema>): Exemplar {
  const labels: [string, string][] = [];
  for (const n of Object.keys(o.labels).sort()) {
    if (!LABEL_NAME_RE.test(n)) {
      throw new Error(`exemplar label name ${JSON.stringify(n)} must match [a-zA-Z_][a-zA-Z0-9_]*`);
    }
    labels.push([n, o.labels[n]]);
  }
  return { labels, value: parseJsonValue(o.value), timestampMs: o.timestamp };
}
