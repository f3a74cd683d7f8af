/**
 * CPU/DRAM energy from the Linux powercap framework (Intel RAPL; AMD exposes the same
 * `intel-rapl:*` layout): zone discovery, cheap repeated reads of `energy_uj`, and wraparound
 * correction into cumulative energy.
 *
 * Zones are named as node_exporter's rapl collector names them (prometheus/procfs
 * `GetRaplZones`): the `name` file `package-0` becomes kind `package`, index 0; names without a
 * numeric suffix (`core`, `uncore`, `dram`, `psys`) are indexed by how often the name was seen
 * before, in directory order. The `path` label is the zone directory under the powercap root.
 *
 * @module
 */

/** The default powercap root. */
export const DEFAULT_POWERCAP_ROOT = "/sys/class/powercap";

/** One RAPL zone found under the powercap root. */
export interface PowercapZone {
  /** Directory name, e.g. `intel-rapl:0:2`. */
  dir: string;
  /** Full directory path (the `path` label), e.g. `/sys/class/powercap/intel-rapl:0:2`. */
  path: string;
  /** Content of the `name` file, e.g. `package-0`, `dram`. */
  rawName: string;
  /** Zone kind used in metric names: `package`, `core`, `uncore`, `dram`, `psys`, ... */
  kind: string;
  /** node_exporter's `index` label. */
  index: number;
  /** Package (socket) of a subzone (N of its parent's `package-N`); the index for other zones. */
  socket: number;
  /** Whether this is a subzone (`intel-rapl:N:M`). */
  subzone: boolean;
  /** `max_energy_range_uj`, or undefined when it could not be read (wraps are then not corrected). */
  maxEnergyRangeUj?: number;
  /** Path of the `energy_uj` file. */
  energyFile: string;
}

/** What discovery found and what it could not use. */
export interface PowercapDiscovery {
  /** Zones whose `energy_uj` can be read, in directory order. */
  zones: PowercapZone[];
  /** Zones found but whose `energy_uj` cannot be read, with the reason. */
  unreadable: { zone: PowercapZone; reason: string; permissionDenied: boolean }[];
  /** Human-readable notes (missing files, skipped duplicates). */
  warnings: string[];
  /** Whether the root directory exists at all. */
  rootExists: boolean;
}

const ZONE_DIR_RE = /^(intel-rapl(?:-mmio)?):(\d+)(?::(\d+))?$/;

function readTrimmed(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return undefined;
  }
}

function sanitizeKind(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_]/g, "_");
  return /^[0-9]/.test(s) ? "_" + s : s;
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Finds the RAPL zones under `root`: `intel-rapl:N` packages, their `intel-rapl:N:M`
 * subzones (listed flat under the root, as in `/sys/class/powercap`, or nested in the package
 * directory), `psys`; `intel-rapl-mmio:N` zones are skipped when an `intel-rapl` zone has the
 * same name (the same package read through MMIO). Reads `max_energy_range_uj` once and checks
 * that `energy_uj` can be read.
 */
export function discoverPowercapZones(root: string = DEFAULT_POWERCAP_ROOT): PowercapDiscovery {
  const out: PowercapDiscovery = { zones: [], unreadable: [], warnings: [], rootExists: true };
  let entries: string[];
  try {
    entries = [...Deno.readDirSync(root)].map((e) => e.name);
  } catch {
    out.rootExists = false;
    return out;
  }
  const dirs = new Map<string, string>(); // dir name → full path
  for (const e of entries) if (ZONE_DIR_RE.test(e)) dirs.set(e, `${root}/${e}`);
  // Subzones nested in a package directory (when the root does not list them flat).
  for (const [name, path] of [...dirs]) {
    const m = ZONE_DIR_RE.exec(name)!;
    if (m[3] !== undefined) continue;
    try {
      for (const sub of Deno.readDirSync(path)) {
        if (ZONE_DIR_RE.test(sub.name) && !dirs.has(sub.name)) {
          dirs.set(sub.name, `${path}/${sub.name}`);
        }
      }
    } catch { /* not a directory we can list: flat layout only */ }
  }
  const sorted = [...dirs.keys()].sort(byteOrder);

  // Names of non-mmio zones, to recognise mmio duplicates.
  const named = new Map<string, string | undefined>();
  for (const d of sorted) named.set(d, readTrimmed(`${dirs.get(d)}/name`));
  const msrNames = new Set<string>();
  for (const d of sorted) {
    const n = named.get(d);
    if (n !== undefined && d.startsWith("intel-rapl:")) msrNames.add(n);
  }
  const packageSocket = new Map<string, number>(); // "intel-rapl:N" → socket from package-N
  const nameCounts = new Map<string, number>();

  for (const d of sorted) {
    const m = ZONE_DIR_RE.exec(d)!;
    const path = dirs.get(d)!;
    const rawName = named.get(d);
    if (rawName === undefined || rawName === "") {
      out.warnings.push(`${path}: no readable 'name' file, zone skipped`);
      continue;
    }
    if (m[1] === "intel-rapl-mmio" && msrNames.has(rawName)) continue; // duplicate of an MSR zone
    // Index and kind as procfs: "package-0" → ("package", 0); otherwise count by name.
    let kind = rawName;
    let index: number;
    const dash = rawName.split("-");
    if (dash.length === 2 && /^\d+$/.test(dash[1])) {
      kind = dash[0];
      index = Number(dash[1]);
    } else {
      index = nameCounts.get(kind) ?? 0;
    }
    nameCounts.set(kind, index + 1);
    const subzone = m[3] !== undefined;
    const pkgDir = `${m[1]}:${m[2]}`;
    let socket = index;
    if (!subzone && kind === "package") packageSocket.set(pkgDir, index);
    if (subzone) socket = packageSocket.get(pkgDir) ?? Number(m[2]);
    const zone: PowercapZone = {
      dir: d,
      path,
      rawName,
      kind: sanitizeKind(kind),
      index,
      socket,
      subzone,
      energyFile: `${path}/energy_uj`,
    };
    const maxText = readTrimmed(`${path}/max_energy_range_uj`);
    if (maxText !== undefined && /^\d+$/.test(maxText) && Number(maxText) > 0) {
      zone.maxEnergyRangeUj = Number(maxText);
    } else {
      out.warnings.push(
        `${path}/max_energy_range_uj: ${
          maxText === undefined ? "missing or unreadable" : `not a positive integer ("${maxText}")`
        }; counter wraps of this zone cannot be corrected (a smaller reading will count as a restart from 0)`,
      );
    }
    try {
      const f = Deno.openSync(zone.energyFile, { read: true });
      try {
        f.readSync(new Uint8Array(64));
      } finally {
        f.close();
      }
      out.zones.push(zone);
    } catch (err) {
      out.unreadable.push({
        zone,
        reason: (err as Error).message,
        permissionDenied: err instanceof Deno.errors.PermissionDenied ||
          err instanceof Deno.errors.NotCapable,
      });
    }
  }
  return out;
}

/** How to grant read access to `energy_uj` files, for messages. */
export function energyAccessHint(files: string[]): string {
  const shown = files.length > 3 ? [...files.slice(0, 3), "..."] : files;
  return `energy_uj is readable by root only on current kernels (since the PLATYPUS fix, CVE-2020-8694). ` +
    `Run as root, or grant read access, e.g. 'sudo chmod a+r ${shown.join(" ")}' ` +
    `(lost at reboot: make it permanent with a udev rule or systemd-tmpfiles, ` +
    `e.g. 'z /sys/class/powercap/intel-rapl:*/energy_uj 0444 - - -')`;
}

/**
 * The energy between two readings of one counter, in µJ. A smaller reading means the counter
 * wrapped: `cur + maxRangeUj - prev`; an equal reading is zero energy. Without a known range a
 * smaller reading counts as a restart from 0 (`cur`), a lower bound.
 */
export function energyDeltaUj(prevUj: number, curUj: number, maxRangeUj?: number): number {
  if (curUj >= prevUj) return curUj - prevUj;
  if (maxRangeUj !== undefined) return curUj + maxRangeUj - prevUj;
  return curUj;
}

/** Parses the ASCII decimal integer at the start of `buf[0..length)`; -1 when there is none. */
export function parseUjBytes(buf: Uint8Array, length: number): number {
  let v = 0;
  let digits = 0;
  for (let i = 0; i < length; i++) {
    const c = buf[i];
    if (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      digits++;
    } else if (c === 10 || c === 32 || c === 13) {
      if (digits > 0) break;
    } else return -1;
  }
  return digits > 0 ? v : -1;
}

/** Options of {@linkcode PowercapReader}. */
export interface PowercapReaderOptions {
  /** Clock for read times, in milliseconds (fractional). Default `performance.timeOrigin + performance.now()`. */
  nowMs?: () => number;
}

/**
 * Reads `energy_uj` of a fixed set of zones, keeping each file open (one seek and one read per
 * zone and tick, no allocation), and accumulates wrap-corrected energy.
 *
 * After {@linkcode read}, per zone `i`: `ok[i]` (1 when this read succeeded), `cumulativeUj[i]`
 * (first reading plus all corrected deltas, so it matches the raw counter until its first wrap),
 * `deltaUj[i]` and `intervalMs[i]` (energy and time since the previous successful read;
 * `intervalMs` is 0 on the first read), `readMs[i]` (when it was read).
 */
export class PowercapReader {
  /** The zones, in the order of the arrays. */
  readonly zones: readonly PowercapZone[];
  /** 1 when the last read of zone i succeeded. */
  readonly ok: Uint8Array;
  /** Cumulative energy of zone i in µJ. */
  readonly cumulativeUj: Float64Array;
  /** Energy of zone i since its previous successful read, in µJ. */
  readonly deltaUj: Float64Array;
  /** Time since the previous successful read of zone i, ms (0 at the first). */
  readonly intervalMs: Float64Array;
  /** When zone i was last read (epoch ms, fractional). */
  readonly readMs: Float64Array;
  /** Read failures so far, per zone. */
  readonly failures: Uint32Array;
  /** Wraps corrected so far, per zone. */
  readonly wraps: Uint32Array;
  #prevUj: Float64Array;
  #files: (Deno.FsFile | undefined)[];
  #buf = new Uint8Array(64);
  #nowMs: () => number;
  #onError: (zone: PowercapZone, message: string) => void;
  #errorReported: Uint8Array;

  /** Opens every zone's `energy_uj`. `onError` is told once per zone about its first failure. */
  constructor(
    zones: readonly PowercapZone[],
    onError: (zone: PowercapZone, message: string) => void = () => {},
    options: PowercapReaderOptions = {},
  ) {
    this.zones = zones;
    const n = zones.length;
    this.ok = new Uint8Array(n);
    this.cumulativeUj = new Float64Array(n).fill(NaN);
    this.deltaUj = new Float64Array(n);
    this.intervalMs = new Float64Array(n);
    this.readMs = new Float64Array(n);
    this.failures = new Uint32Array(n);
    this.wraps = new Uint32Array(n);
    this.#prevUj = new Float64Array(n).fill(NaN);
    this.#errorReported = new Uint8Array(n);
    this.#files = new Array(n);
    this.#onError = onError;
    const origin = performance.timeOrigin;
    this.#nowMs = options.nowMs ?? (() => origin + performance.now());
  }

  #fail(i: number, message: string): void {
    this.ok[i] = 0;
    this.failures[i]++;
    if (!this.#errorReported[i]) {
      this.#errorReported[i] = 1;
      this.#onError(this.zones[i], message);
    }
  }

  /** Reads every zone once. Returns how many zones were read successfully. */
  read(): number {
    let okCount = 0;
    const buf = this.#buf;
    for (let i = 0; i < this.zones.length; i++) {
      let len: number;
      try {
        let f = this.#files[i];
        if (f === undefined) {
          f = Deno.openSync(this.zones[i].energyFile, { read: true });
          this.#files[i] = f;
        } else {
          f.seekSync(0, Deno.SeekMode.Start);
        }
        len = f.readSync(buf) ?? 0;
      } catch (err) {
        this.#files[i]?.close();
        this.#files[i] = undefined;
        this.#fail(i, `${this.zones[i].energyFile}: ${(err as Error).message}`);
        continue;
      }
      const t = this.#nowMs();
      const cur = parseUjBytes(buf, len);
      if (cur < 0) {
        // Empty (being rewritten) or garbage: no reading this tick.
        this.#fail(i, `${this.zones[i].energyFile}: not an integer number of µJ`);
        continue;
      }
      const prev = this.#prevUj[i];
      if (prev !== prev) {
        this.cumulativeUj[i] = cur;
        this.deltaUj[i] = 0;
        this.intervalMs[i] = 0;
      } else {
        const max = this.zones[i].maxEnergyRangeUj;
        if (cur < prev) this.wraps[i]++;
        const d = energyDeltaUj(prev, cur, max);
        this.deltaUj[i] = d;
        this.cumulativeUj[i] += d;
        this.intervalMs[i] = t - this.readMs[i];
      }
      this.#prevUj[i] = cur;
      this.readMs[i] = t;
      this.ok[i] = 1;
      okCount++;
    }
    return okCount;
  }

  /** Closes the open files. */
  close(): void {
    for (let i = 0; i < this.#files.length; i++) {
      try {
        this.#files[i]?.close();
      } catch { /* already closed */ }
      this.#files[i] = undefined;
    }
  }
}
