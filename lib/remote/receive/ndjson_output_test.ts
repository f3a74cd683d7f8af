import { assertEquals } from "../../../tests/support/assert.ts";
import { formatMetadata, formatSample } from "../../ndjson/contract.ts";
import { formatWriteRequest } from "./ndjson_output.ts";
import type { DecodedWriteRequest, WireSeries } from "../codec/write_request.ts";
import { seededRandom } from "../../../tests/support/random.ts";

/** The NDJSON of `req` through the plain string formatter of the contract (the reference). */
function reference(req: DecodedWriteRequest): string {
  let out = "";
  for (const s of req.series) {
    const bits = new DataView(s.values.buffer, s.values.byteOffset, s.values.byteLength);
    const name = s.labels.find(([k]) => k === "__name__")?.[1] ?? "";
    const labels: Record<string, string> = {};
    for (const [k, v] of s.labels) if (k !== "__name__") labels[k] = v;
    for (let i = 0; i < s.timestampsMs.length; i++) {
      const value = s.values[i];
      // The bits from the array's bytes: a signalling NaN read into a JS number may be quieted.
      const nanBits = value !== value
        ? bits.getBigUint64(i * 8, true).toString(16).padStart(16, "0")
        : undefined;
      out += formatSample({
        kind: "sample",
        name,
        labels,
        timestampMs: s.timestampsMs[i],
        value,
        nanBits,
      }) + "\n";
    }
  }
  for (const m of req.metadata) out += formatMetadata(m) + "\n";
  return out;
}

/** A float64 from raw bits (NaN payloads kept: the array holds the bytes). */
function fromBits(values: Float64Array, i: number, hi: number, lo: number): void {
  const view = new DataView(values.buffer, values.byteOffset + i * 8, 8);
  view.setUint32(4, hi, true);
  view.setUint32(0, lo, true);
}

function request(series: WireSeries[]): DecodedWriteRequest {
  return {
    series,
    metadata: [{
      kind: "metadata",
      name: "m",
      type: "counter",
      unit: "joules",
      help: 'says "hi"\n',
    }],
    sampleCount: series.reduce((n, s) => n + s.timestampsMs.length, 0),
    histogramCount: 0,
    exemplarCount: 0,
  };
}

Deno.test("formatWriteRequest writes edge-case values and timestamps as the contract does", () => {
  const specials = [
    0,
    -0,
    1,
    -1,
    0.1,
    -0.1,
    1e-6,
    1e-7,
    123456.789,
    999999999999999,
    1e15,
    -1e15,
    1e21,
    2 ** 53,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    2.2250738585072014e-308,
    Infinity,
    -Infinity,
    0.30000000000000004,
    12345678.123456,
    0.000123,
    5e-324,
  ];
  const timestamps = [
    0,
    1,
    -1,
    99999999,
    100000000,
    1732350000123,
    -1732350000123,
    9007199254740991,
    -9007199254740991,
  ];
  const n = Math.max(specials.length + 3, timestamps.length);
  const values = new Float64Array(n);
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    values[i] = specials[i % specials.length];
    ts.push(timestamps[i % timestamps.length]);
  }
  fromBits(values, n - 3, 0x7ff80000, 0x00000001); // Prometheus NaN
  fromBits(values, n - 2, 0x7ff00000, 0x00000002); // StaleNaN
  fromBits(values, n - 1, 0xfff12345, 0x6789abcd); // another NaN payload
  const req = request([{
    labels: [["__name__", "x_total"], ["a", 'q"\\\u00e9\u2028'], ["b", ""]],
    timestampsMs: ts,
    values,
  }]);
  assertEquals(formatWriteRequest(req), reference(req));
});

Deno.test("formatWriteRequest equals the reference formatter on 200k random samples", () => {
  const rand = seededRandom(7);
  const series: WireSeries[] = [];
  for (let s = 0; s < 200; s++) {
    const n = 1000;
    const values = new Float64Array(n);
    const ts: number[] = [];
    let t = Math.floor(rand() * 2e12);
    for (let i = 0; i < n; i++) {
      t += Math.floor(rand() * 20000);
      ts.push(rand() < 0.01 ? -t : t);
      const kind = Math.floor(rand() * 7);
      const scale = 10 ** Math.floor(rand() * 8);
      values[i] = kind === 0
        ? Math.round(rand() * 1e6 * scale) / scale // short decimals
        : kind === 1
        ? -Math.round(rand() * 1e9) / scale
        : kind === 2
        ? Math.floor(rand() * 2 ** 53) * (rand() < 0.5 ? -1 : 1) // large integers
        : kind === 3
        ? rand() * 10 ** Math.floor(rand() * 40 - 20) // arbitrary doubles
        : kind === 4
        ? values[i > 0 ? i - 1 : 0] // repeats
        : kind === 5
        ? Math.round(rand() * 1e15) / 10 ** Math.floor(rand() * 8) // near the 15-digit edge
        : 0;
      if (kind === 6) {
        fromBits(values, i, Math.floor(rand() * 2 ** 32), Math.floor(rand() * 2 ** 32));
      }
    }
    series.push({ labels: [["__name__", `m${s}`], ["i", String(s)]], timestampsMs: ts, values });
  }
  const req = request(series);
  const got = formatWriteRequest(req).split("\n");
  const want = reference(req).split("\n");
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) assertEquals(got[i], want[i], `line ${i + 1}`);
  }
  assertEquals(got.length, want.length);
});
