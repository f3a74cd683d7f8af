/**
 * XOR chunks and STREAMED_XOR_CHUNKS framing against a real Prometheus 2.42: Prometheus serves
 * remote read itself, so its streamed answer is decoded with wattwave's frame and chunk decoders,
 * and every chunk it sent is re-encoded with wattwave's encoder and compared byte for byte.
 */
import { deepStrictEqual, ok } from "node:assert/strict";
import { startPrometheus } from "../support/prometheus.ts";
import { encodeWriteRequest } from "../../lib/remote/codec/write_request.ts";
import { snappyEncode } from "../../lib/remote/codec/snappy.ts";
import {
  encodeReadRequest,
  RESPONSE_STREAMED_XOR_CHUNKS,
} from "../../lib/remote/codec/read_request.ts";
import { decodeChunkedReadResponse, splitFrames } from "../../lib/remote/codec/chunked_response.ts";
import { decodeXorChunk, XorChunkEncoder } from "../../lib/remote/codec/xor_chunk.ts";
import { peerTest } from "../support/peers.ts";

peerTest(
  ["prometheus"],
  "Prometheus' streamed XOR chunks decode exactly and re-encode to the same bytes",
  async () => {
    const prom = await startPrometheus();
    try {
      const n = 1000;
      const start = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
      const ts: number[] = [];
      const gauge = new Float64Array(n);
      const counter = new Float64Array(n);
      let t = start;
      for (let i = 0; i < n; i++) {
        t += i % 50 === 49 ? 7_777 : 1000 + (i % 3) - 1; // jitter and a few gaps: every dod bucket
        ts.push(t);
        gauge[i] = Math.round(Math.sin(i / 17) * 1e4) / 100;
        counter[i] = i < 500 ? i * 3 : i * 3.25;
      }
      gauge[123] = 1e300;
      gauge[124] = -0;
      const body = encodeWriteRequest([
        { labels: [["__name__", "xor_gauge"], ["job", "t"]], timestampsMs: ts, values: gauge },
        { labels: [["__name__", "xor_counter"], ["job", "t"]], timestampsMs: ts, values: counter },
        // one sample: its chunk ends on a byte boundary after whole bytes (Prometheus pads it)
        {
          labels: [["__name__", "xor_single"], ["job", "t"]],
          timestampsMs: [ts[10]],
          values: new Float64Array([42.5]),
        },
      ]);
      const w = await fetch(`${prom.url}/api/v1/write`, {
        method: "POST",
        headers: {
          "Content-Encoding": "snappy",
          "Content-Type": "application/x-protobuf",
          "X-Prometheus-Remote-Write-Version": "0.1.0",
        },
        body: snappyEncode(body),
      });
      await w.body?.cancel();
      ok(w.status === 204 || w.status === 200, `remote write answered ${w.status}`);

      const read = encodeReadRequest({
        queries: [{
          startMs: start,
          endMs: t,
          matchers: [{ name: "__name__", type: "=~", value: "xor_.*" }],
        }],
        acceptedResponseTypes: [RESPONSE_STREAMED_XOR_CHUNKS],
      });
      const r = await fetch(`${prom.url}/api/v1/read`, {
        method: "POST",
        headers: {
          "Content-Encoding": "snappy",
          "Content-Type": "application/x-protobuf",
          "X-Prometheus-Remote-Read-Version": "0.1.0",
        },
        body: snappyEncode(read),
      });
      ok(r.ok, `remote read answered ${r.status}: ${await r.clone().text()}`);
      ok((r.headers.get("Content-Type") ?? "").includes("ChunkedReadResponse"));
      const messages = splitFrames(new Uint8Array(await r.arrayBuffer())).map(
        decodeChunkedReadResponse,
      );
      const byName = new Map<string, { ts: number[]; bytes: number[] }>();
      let chunks = 0;
      const enc = new XorChunkEncoder();
      for (const m of messages) {
        for (const s of m.series) {
          const name = s.labels.find(([k]) => k === "__name__")![1];
          const acc = byName.get(name) ?? { ts: [], bytes: [] };
          byName.set(name, acc);
          for (const c of s.chunks) {
            const d = decodeXorChunk(c.data);
            acc.ts.push(...d.timestampsMs);
            acc.bytes.push(...new Uint8Array(d.values.buffer));
            // re-encode the same samples: the same bytes as Prometheus wrote
            enc.reset();
            const view = new DataView(d.values.buffer);
            for (let i = 0; i < d.timestampsMs.length; i++) enc.appendFrom(d.timestampsMs, view, i);
            deepStrictEqual(enc.bytes(), c.data);
            chunks++;
          }
        }
      }
      ok(chunks >= 16, `only ${chunks} chunks`);
      deepStrictEqual(byName.get("xor_single")!.ts, [ts[10]]);
      deepStrictEqual(byName.get("xor_gauge")!.ts, ts);
      deepStrictEqual(byName.get("xor_counter")!.ts, ts);
      deepStrictEqual(byName.get("xor_gauge")!.bytes, Array.from(new Uint8Array(gauge.buffer)));
      deepStrictEqual(byName.get("xor_counter")!.bytes, Array.from(new Uint8Array(counter.buffer)));
    } finally {
      await prom.stop();
    }
  },
);
