/**
 * The nvidia-smi `--query-gpu` fields wattwave knows: which metric each becomes, how its text
 * is parsed and converted to base units. `wattwave sample` (live nvidia-smi) and
 * `wattwave replay-csv` (nvidia-smi CSV logs) both use this table, so both produce the same
 * names, units and labels.
 *
 * Names follow utkuozdemir/nvidia_gpu_exporter (`nvidia_smi_power_draw_watts`,
 * `nvidia_smi_memory_used_bytes`, `nvidia_smi_clocks_current_sm_clock_hz`,
 * `nvidia_smi_utilization_gpu_ratio`, `nvidia_smi_temperature_gpu`, `nvidia_smi_pstate`), so
 * its dashboards work. Conversions: W stays W, MiB → bytes (× 1048576), MHz → Hz (× 10⁶),
 * % → ratio (÷ 100), °C stays °C, `P0`…`P15` → 0…15 (lower is busier, as the exporter does).
 *
 * Usage, for one CSV cell whose column header (or query name) is known:
 *
 * ```ts
 * const field = findNvidiaField("power.draw [W]"); // header with unit, query name or alias
 * if (field) {
 *   const value = nvidiaValue(field, "69.85 W"); // 69.85, or undefined for [N/A] & co
 *   if (value !== undefined) emit(field.metric, gpuLabels({ index, uuid, name }), value);
 * }
 * ```
 *
 * Values that are not numbers (`[N/A]`, `N/A`, `[Not Supported]`,
 * `[Requested functionality has been deprecated]`, `[Unknown Error]`,
 * `[Insufficient Permissions]`, an empty cell, any other text) give `undefined`: no sample,
 * never a 0.
 *
 * @module
 */
import type { Labels, MetricMetadata, MetricType } from "../model/sample.ts";

/** How a field's nvidia-smi value becomes a base-unit value. */
export type NvidiaConversion =
  /** Kept as read (W, °C, plain counts). */
  | "none"
  /** `%` → ratio: divided by 100. */
  | "percent"
  /** `MiB` → bytes: multiplied by 1048576. */
  | "mebibytes"
  /** `MHz` → Hz: multiplied by 10⁶. */
  | "megahertz"
  /** `P0`…`P15` → 0…15. */
  | "pstate";

/** One nvidia-smi query field and the wattwave metric it becomes. */
export interface NvidiaField {
  /** The field name to pass to `--query-gpu` (the first name `--help-query-gpu` lists). */
  query: string;
  /** Other names nvidia-smi accepts for the same field (e.g. `clocks.sm`). */
  aliases: readonly string[];
  /** wattwave metric name (nvidia_gpu_exporter's). */
  metric: string;
  /** The unit nvidia-smi prints after values and in CSV headers (`W`, `MiB`, `MHz`, `%`), or "". */
  nvidiaUnit: string;
  /** How the value is converted to the metric's base unit. */
  conversion: NvidiaConversion;
  /** Metric type. */
  type: MetricType;
  /** Base unit of the metric, as written in metadata (`watts`, `bytes`, `hertz`, `ratio`, `celsius`, or ""). */
  unit: string;
  /** Help text for metadata. */
  help: string;
  /** Whether `wattwave sample` queries it by default (when the driver supports it). */
  sampled: boolean;
}

function field(
  query: string,
  aliases: string[],
  metric: string,
  nvidiaUnit: string,
  conversion: NvidiaConversion,
  unit: string,
  help: string,
  sampled: boolean,
): NvidiaField {
  return Object.freeze({
    query,
    aliases: Object.freeze(aliases),
    metric,
    nvidiaUnit,
    conversion,
    type: "gauge",
    unit,
    help,
    sampled,
  });
}

/**
 * The numeric fields wattwave knows, in the order `wattwave sample` queries them.
 * `sampled: false` fields are understood (e.g. in CSV logs) but not queried by `sample`.
 */
export const NVIDIA_FIELDS: readonly NvidiaField[] = Object.freeze([
  field(
    "power.draw",
    [],
    "nvidia_smi_power_draw_watts",
    "W",
    "none",
    "watts",
    "Board power draw in watts (nvidia-smi power.draw: a 1 s average on Ampere and newer, instantaneous before).",
    true,
  ),
  field(
    "power.draw.average",
    ["gpu.power.draw.average"],
    "nvidia_smi_power_draw_average_watts",
    "W",
    "none",
    "watts",
    "Average board power draw in watts (nvidia-smi power.draw.average).",
    true,
  ),
  field(
    "power.draw.instant",
    ["gpu.power.draw.instant"],
    "nvidia_smi_power_draw_instant_watts",
    "W",
    "none",
    "watts",
    "Instantaneous board power draw in watts (nvidia-smi power.draw.instant).",
    true,
  ),
  field(
    "temperature.gpu",
    [],
    "nvidia_smi_temperature_gpu",
    "",
    "none",
    "celsius",
    "GPU core temperature in degrees Celsius (nvidia-smi temperature.gpu).",
    true,
  ),
  field(
    "temperature.memory",
    [],
    "nvidia_smi_temperature_memory",
    "",
    "none",
    "celsius",
    "HBM memory temperature in degrees Celsius (nvidia-smi temperature.memory).",
    true,
  ),
  field(
    "utilization.gpu",
    [],
    "nvidia_smi_utilization_gpu_ratio",
    "%",
    "percent",
    "ratio",
    "Fraction of the last sample period during which a kernel ran on the GPU, 0-1 (nvidia-smi utilization.gpu).",
    true,
  ),
  field(
    "utilization.memory",
    [],
    "nvidia_smi_utilization_memory_ratio",
    "%",
    "percent",
    "ratio",
    "Fraction of the last sample period during which device memory was read or written, 0-1 (nvidia-smi utilization.memory).",
    true,
  ),
  field(
    "memory.used",
    [],
    "nvidia_smi_memory_used_bytes",
    "MiB",
    "mebibytes",
    "bytes",
    "Device memory allocated by active contexts, in bytes (nvidia-smi memory.used).",
    true,
  ),
  field(
    "memory.total",
    [],
    "nvidia_smi_memory_total_bytes",
    "MiB",
    "mebibytes",
    "bytes",
    "Total installed device memory, in bytes (nvidia-smi memory.total).",
    true,
  ),
  field(
    "clocks.current.sm",
    ["clocks.sm"],
    "nvidia_smi_clocks_current_sm_clock_hz",
    "MHz",
    "megahertz",
    "hertz",
    "Current SM clock in hertz (nvidia-smi clocks.current.sm).",
    true,
  ),
  field(
    "clocks.current.memory",
    ["clocks.mem"],
    "nvidia_smi_clocks_current_memory_clock_hz",
    "MHz",
    "megahertz",
    "hertz",
    "Current memory clock in hertz (nvidia-smi clocks.current.memory).",
    true,
  ),
  field(
    "pstate",
    [],
    "nvidia_smi_pstate",
    "",
    "pstate",
    "",
    "Performance state: 0 (P0, maximum performance) to 15 (P15, minimum); lower is busier (nvidia-smi pstate).",
    true,
  ),
  field(
    "fan.speed",
    [],
    "nvidia_smi_fan_speed_ratio",
    "%",
    "percent",
    "ratio",
    "Intended fan speed as a fraction of the maximum, may exceed 1 (nvidia-smi fan.speed).",
    true,
  ),
  // Understood in CSV logs, not queried by `wattwave sample`.
  field(
    "memory.free",
    [],
    "nvidia_smi_memory_free_bytes",
    "MiB",
    "mebibytes",
    "bytes",
    "Free device memory, in bytes (nvidia-smi memory.free).",
    false,
  ),
  field(
    "memory.reserved",
    [],
    "nvidia_smi_memory_reserved_bytes",
    "MiB",
    "mebibytes",
    "bytes",
    "Device memory reserved by the driver, in bytes (nvidia-smi memory.reserved).",
    false,
  ),
  field(
    "clocks.current.graphics",
    ["clocks.gr"],
    "nvidia_smi_clocks_current_graphics_clock_hz",
    "MHz",
    "megahertz",
    "hertz",
    "Current graphics clock in hertz (nvidia-smi clocks.current.graphics).",
    false,
  ),
  field(
    "clocks.current.video",
    ["clocks.video"],
    "nvidia_smi_clocks_current_video_clock_hz",
    "MHz",
    "megahertz",
    "hertz",
    "Current video clock in hertz (nvidia-smi clocks.current.video).",
    false,
  ),
  field(
    "power.limit",
    ["gpu.power.requested_limit"],
    "nvidia_smi_power_limit_watts",
    "W",
    "none",
    "watts",
    "Software power limit in watts (nvidia-smi power.limit).",
    false,
  ),
  field(
    "utilization.encoder",
    [],
    "nvidia_smi_utilization_encoder_ratio",
    "%",
    "percent",
    "ratio",
    "Encoder utilization, 0-1 (nvidia-smi utilization.encoder).",
    false,
  ),
  field(
    "utilization.decoder",
    [],
    "nvidia_smi_utilization_decoder_ratio",
    "%",
    "percent",
    "ratio",
    "Decoder utilization, 0-1 (nvidia-smi utilization.decoder).",
    false,
  ),
]);

/**
 * The query fields that become labels, not samples: `index` → `index`, `uuid` → `uuid`
 * (without the `GPU-` prefix, as nvidia_gpu_exporter does), `name` → `name`.
 * Aliases: `gpu_uuid`, `gpu_name`.
 */
export const NVIDIA_LABEL_FIELDS: readonly string[] = Object.freeze(["index", "uuid", "name"]);

/** Name of the energy counter wattwave integrates from `power.draw`. */
export const NVIDIA_ENERGY_METRIC = "nvidia_smi_energy_joules_total";

/** Metadata of {@linkcode NVIDIA_ENERGY_METRIC}. */
export const NVIDIA_ENERGY_METADATA: MetricMetadata = Object.freeze({
  kind: "metadata",
  name: NVIDIA_ENERGY_METRIC,
  type: "counter",
  unit: "joules",
  help: "Board energy in joules since wattwave started, integrated by wattwave from nvidia-smi " +
    "power.draw readings (trapezoidal rule between consecutive readings); not the driver's counter.",
}) as MetricMetadata;

const BY_NAME = new Map<string, NvidiaField>();
for (const f of NVIDIA_FIELDS) {
  BY_NAME.set(f.query, f);
  for (const a of f.aliases) BY_NAME.set(a, f);
}

/**
 * The field a query name, alias or CSV header names: `power.draw`, `clocks.sm`,
 * `power.draw [W]`, ` memory.used [MiB]` (surrounding spaces and a bracketed unit are ignored).
 * `undefined` for fields wattwave does not turn into metrics (including the label fields).
 */
export function findNvidiaField(nameOrHeader: string): NvidiaField | undefined {
  return BY_NAME.get(baseFieldName(nameOrHeader));
}

/** A query name or CSV header without spaces and bracketed unit: `"power.draw [W]"` → `"power.draw"`. */
export function baseFieldName(nameOrHeader: string): string {
  let s = nameOrHeader.trim();
  const bracket = s.indexOf(" [");
  if (bracket > 0 && s.endsWith("]")) s = s.slice(0, bracket).trimEnd();
  return s;
}

/** The label a label field (`index`, `uuid`/`gpu_uuid`, `name`/`gpu_name`) becomes, or undefined. */
export function nvidiaLabelName(nameOrHeader: string): "index" | "uuid" | "name" | undefined {
  switch (baseFieldName(nameOrHeader)) {
    case "index":
      return "index";
    case "uuid":
    case "gpu_uuid":
      return "uuid";
    case "name":
    case "gpu_name":
      return "name";
  }
  return undefined;
}

// A number, optionally followed by one of the units nvidia-smi prints.
const NUMBER_RE =
  /^([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)(?:\s*(?:W|MiB|KiB|GiB|MHz|%|C|us|ms|s))?$/;
const PSTATE_RE = /^P(\d{1,2})$/;

/**
 * Parses one nvidia-smi value in nvidia-smi's own unit: `69.85 W` → 69.85, `81559 MiB` → 81559,
 * `0 %` → 0, `1980 MHz` → 1980, bare numbers (`--format=csv,nounits`) as they are,
 * `P0`…`P15` → 0…15. Returns `undefined` for anything that is not a value: `[N/A]`, `N/A`,
 * `[Not Supported]`, `[Requested functionality has been deprecated]`, `[Unknown Error]`,
 * `[Insufficient Permissions]`, `[GPU requires reset]`, an empty cell or other text.
 * Never returns NaN.
 */
export function parseNvidiaValue(text: string): number | undefined {
  const s = text.trim();
  if (s.length === 0 || s.charCodeAt(0) === 91 /* [ */) return undefined;
  const m = NUMBER_RE.exec(s);
  if (m !== null) {
    const n = Number(m[1]);
    return Number.isFinite(n) ? n : undefined;
  }
  const p = PSTATE_RE.exec(s);
  if (p !== null) return Number(p[1]);
  return undefined;
}

/** Converts a value in nvidia-smi's unit to the field's base unit (see {@linkcode NvidiaConversion}). */
export function toBaseUnit(field: NvidiaField, raw: number): number {
  switch (field.conversion) {
    case "percent":
      return raw / 100;
    case "mebibytes":
      return raw * 1048576;
    case "megahertz":
      return raw * 1e6;
    default:
      return raw;
  }
}

/**
 * Parses a value of `field` and converts it to base units; `undefined` when it is not a value.
 * `P`-states are accepted only for `pstate`.
 */
export function nvidiaValue(field: NvidiaField, text: string): number | undefined {
  const raw = parseNvidiaValue(text);
  if (raw === undefined) return undefined;
  const isPstateText = text.trim().charCodeAt(0) === 80; /* P */
  if (field.conversion === "pstate") return Number.isInteger(raw) ? raw : undefined;
  if (isPstateText) return undefined;
  return toBaseUnit(field, raw);
}

/** The metadata record of a field's metric. */
export function nvidiaMetadata(field: NvidiaField): MetricMetadata {
  return {
    kind: "metadata",
    name: field.metric,
    type: field.type,
    unit: field.unit,
    help: field.help,
  };
}

/** A GPU UUID as the `uuid` label carries it: without the `GPU-` prefix (as nvidia_gpu_exporter). */
export function normalizeGpuUuid(uuid: string): string {
  const s = uuid.trim();
  return s.startsWith("GPU-") ? s.slice(4) : s;
}

/** Identity of one GPU as nvidia-smi reports it. */
export interface GpuIdentity {
  /** `index` (e.g. "0"). */
  index: string;
  /** `uuid`, with or without the `GPU-` prefix. */
  uuid: string;
  /** `name` (e.g. "NVIDIA H100 80GB HBM3"). */
  name: string;
}

/** The labels of every GPU series: `{index, name, uuid}` (uuid without `GPU-`). */
export function gpuLabels(gpu: GpuIdentity): Labels {
  return { index: gpu.index.trim(), name: gpu.name.trim(), uuid: normalizeGpuUuid(gpu.uuid) };
}
