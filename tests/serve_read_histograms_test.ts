/**
 * Native histograms through the store and `serve-read`: stored by `compress`, answered in
 * SAMPLES (`TimeSeries.histograms`, beside the series' float samples) and in
 * STREAMED_XOR_CHUNKS (HISTOGRAM chunks after the XOR chunks of the same series), decoded back
 * to what was stored.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { startServeRead } from "./support/receive.ts";
import { runWattwave } from "./support/cli.ts";
import { floatCustomHistogram, histogramSeries } from "./support/histograms.ts";
import { formatHistogramLine, formatHistogramObject } from "../lib/ndjson/histogram_line.ts";
import {
  encodeReadRequest,
  RESPONSE_SAMPLES,
  RESPONSE_STREAMED_XOR_CHUNKS,
} from "../lib/remote/codec/read_request.ts";
import { decodeReadResponse } from "../lib/remote/codec/read_response.ts";
import { snappyDecode, snappyEncode } from "../lib/remote/codec/snappy.ts";
import { decodeChunkedReadResponse, splitFrames } from "../lib/remote/codec/chunked_response.ts";
import { decodeHistogramChunk } from "../lib/remote/codec/histogram_chunk.ts";
import { decodeXorChunk } from "../lib/remote/codec/xor_chunk.ts";
import type { NativeHistogram } from "../lib/model/histogram.ts";

const T0 = 1_732_350_000_000;

// Everything but the reset hint (a chunk's later histograms read as "no", as in Prometheus) and
// the fields of a stale marker (a chunk keeps only its sum, as in Prometheus).
function comparable(h: NativeHistogram): string {
  if (h.sum.nanBits === "7ff0000000000002") return `${h.timestampMs} stale`;
  return `${h.timestampMs} ${formatHistogramObject({ ...h, resetHint: 0 })}`;
}

async function read(baseUrl: string, type: number): Promise<Response> {
  return await fetch(`${baseUrl}/api/v1/read`, {
    method: "POST",
    headers: { "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf" },
    body: snappyEncode(encodeReadRequest({
      queries: [{
        startMs: T0 - 1000,
        endMs: T0 + 1_000_000,
        matchers: [{ name: "job", type: "=", value: "api" }],
      }],
      acceptedResponseTypes: [type],
    })),
  });
}

Deno.test("serve-read answers native histograms in SAMPLES and STREAMED_XOR_CHUNKS", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-read-hist-" });
  try {
    const hs = histogramSeries(T0, 300);
    const floats = [floatCustomHistogram(T0 + 500), floatCustomHistogram(T0 + 1500)];
    floats[0].sum = { value: 3.25 };
    floats[1].sum = { value: 4.5 };
    floats[1].positiveCounts = new Float64Array([2, 2, 5]);
    const head = (name: string) => `{"name":"${name}","labels":{"job":"api"},"timestamp":`;
    const lines = [
      ...hs.map((h) => formatHistogramLine(head("rpc_seconds"), h)),
      ...floats.map((h) => formatHistogramLine(head("mixed"), h)),
      `${head("mixed")}${T0},"value":1}`,
      `${head("mixed")}${T0 + 1000},"value":2}`,
    ];
    const c = await runWattwave(["compress", "--store", `${dir}/s`], {
      stdin: lines.join("\n") + "\n",
    });
    strictEqual(c.code, 0, c.stderr);
    const server = await startServeRead(["--store", `${dir}/s`]);
    try {
      // SAMPLES
      const r = await read(server.baseUrl, RESPONSE_SAMPLES);
      strictEqual(r.status, 200, await r.clone().text());
      const [series] = decodeReadResponse(
        snappyDecode(new Uint8Array(await r.arrayBuffer()), 1 << 26),
      );
      deepStrictEqual(series.map((s) => s.labels[0][1]), ["mixed", "rpc_seconds"]);
      deepStrictEqual(series[0].timestampsMs, [T0, T0 + 1000]);
      deepStrictEqual(series[0].histograms!.map(comparable), floats.map(comparable));
      // SAMPLES keeps every field, reset hints included
      deepStrictEqual(
        series[1].histograms!.map((h) => `${h.timestampMs} ${formatHistogramObject(h)}`),
        hs.map((h) => `${h.timestampMs} ${formatHistogramObject(h)}`),
      );
      // STREAMED_XOR_CHUNKS
      const s = await read(server.baseUrl, RESPONSE_STREAMED_XOR_CHUNKS);
      strictEqual(s.status, 200);
      const got = new Map<string, { ts: number[]; hs: NativeHistogram[]; types: number[] }>();
      for (const frame of splitFrames(new Uint8Array(await s.arrayBuffer()))) {
        for (const cs of decodeChunkedReadResponse(frame).series) {
          const name = cs.labels[0][1];
          const acc = got.get(name) ?? { ts: [], hs: [], types: [] };
          got.set(name, acc);
          for (const ch of cs.chunks) {
            acc.types.push(ch.type);
            if (ch.type === 1) acc.ts.push(...decodeXorChunk(ch.data).timestampsMs);
            else acc.hs.push(...decodeHistogramChunk(ch.data, ch.type));
          }
        }
      }
      deepStrictEqual([...got.keys()], ["mixed", "rpc_seconds"]);
      deepStrictEqual(got.get("mixed")!.types, [1, 3]);
      deepStrictEqual(got.get("mixed")!.ts, [T0, T0 + 1000]);
      deepStrictEqual(got.get("mixed")!.hs.map(comparable), floats.map(comparable));
      const streamed = got.get("rpc_seconds")!;
      ok(streamed.types.every((t) => t === 2) && streamed.types.length >= 4);
      deepStrictEqual(streamed.hs.map(comparable), hs.map(comparable));
    } finally {
      await server.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve-read: native histograms count against --max-samples-per-query in both answers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-read-hist-limit-" });
  try {
    const head = `{"name":"rpc_seconds","labels":{"job":"api"},"timestamp":`;
    const lines = histogramSeries(T0, 300).map((h) => formatHistogramLine(head, h));
    const c = await runWattwave(["compress", "--store", `${dir}/s`], {
      stdin: lines.join("\n") + "\n",
    });
    strictEqual(c.code, 0, c.stderr);
    const server = await startServeRead(["--store", `${dir}/s`, "--max-samples-per-query", "100"]);
    try {
      const r = await read(server.baseUrl, RESPONSE_SAMPLES);
      const text = await r.text();
      strictEqual(r.status, 422, text);
      ok(text.includes("--max-samples-per-query"), text);
      // streamed: the limit is crossed once the answer began, so the stream is broken off
      const s = await read(server.baseUrl, RESPONSE_STREAMED_XOR_CHUNKS);
      strictEqual(s.status, 200);
      let broken = false;
      try {
        await s.arrayBuffer();
      } catch {
        broken = true;
      }
      ok(broken, "the streamed answer ended cleanly past the limit");
    } finally {
      await server.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
