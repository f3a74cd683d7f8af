/**
 * Native histogram chunks against a real Prometheus 2.42: histograms pushed into it come back in
 * its STREAMED_XOR_CHUNKS answer as HISTOGRAM chunks; wattwave's decoder reads every one of them
 * as the histograms pushed, and its encoder writes the same bytes from what it read.
 */
import { deepStrictEqual, ok } from "node:assert/strict";
import { startPrometheus } from "../support/prometheus.ts";
import { histogramSeries } from "../support/histograms.ts";
import { encodeWriteRequest } from "../../lib/remote/codec/write_request.ts";
import { RESPONSE_STREAMED_XOR_CHUNKS } from "../../lib/remote/codec/read_request.ts";
import { postRead, postWrite } from "../support/remote.ts";
import { decodeChunkedReadResponse, splitFrames } from "../../lib/remote/codec/chunked_response.ts";
import {
  CHUNK_ENCODING_HISTOGRAM,
  decodeHistogramChunk,
  HistogramChunkEncoder,
} from "../../lib/remote/codec/histogram_chunk.ts";
import { formatHistogramObject } from "../../lib/ndjson/histogram_line.ts";
import type { NativeHistogram } from "../../lib/model/histogram.ts";
import { peerTest } from "../support/peers.ts";

// A histogram's buckets as absolute counts by bucket index: spans merged by Prometheus (a layout
// change recodes the chunk with the union of buckets, the new ones at 0) compare equal.
function absolute(h: NativeHistogram): string {
  const side = (spans: number[], deltas: number[]) => {
    const m: Record<number, number> = {};
    let idx = 0;
    let b = 0;
    let c = 0;
    for (let s = 0; s < spans.length; s += 2) {
      idx += spans[s];
      for (let j = 0; j < spans[s + 1]; j++) {
        c += deltas[b++];
        if (c !== 0) m[idx] = c;
        idx++;
      }
    }
    return m;
  };
  if (h.sum.nanBits === "7ff0000000000002") return `${h.timestampMs} stale`;
  return JSON.stringify([
    h.timestampMs,
    h.count.value,
    h.zeroCount.value,
    h.sum.value,
    h.schema,
    h.zeroThreshold.value,
    side(h.positiveSpans, h.positiveDeltas),
    side(h.negativeSpans, h.negativeDeltas),
  ]);
}

peerTest(
  ["prometheus"],
  "Prometheus' histogram chunks decode to what was pushed and re-encode to the same bytes",
  async () => {
    const prom = await startPrometheus({ flags: ["--enable-feature=native-histograms"] });
    try {
      const start = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
      const hs = histogramSeries(start, 300);
      const w = await postWrite(
        `${prom.url}/api/v1/write`,
        encodeWriteRequest([{
          labels: [["__name__", "rpc_seconds"], ["job", "t"]],
          timestampsMs: [],
          values: new Float64Array(0),
          histograms: hs,
        }]),
      );
      await w.body?.cancel();
      ok(w.status === 204 || w.status === 200, `remote write answered ${w.status}`);
      const r = await postRead(`${prom.url}/api/v1/read`, {
        queries: [{
          startMs: start - 1000,
          endMs: start + 400_000,
          matchers: [{ name: "__name__", type: "=", value: "rpc_seconds" }],
        }],
        acceptedResponseTypes: [RESPONSE_STREAMED_XOR_CHUNKS],
      });
      ok(r.ok, `remote read answered ${r.status}`);
      const back: NativeHistogram[] = [];
      const enc = new HistogramChunkEncoder();
      let chunks = 0;
      for (const frame of splitFrames(new Uint8Array(await r.arrayBuffer()))) {
        for (const s of decodeChunkedReadResponse(frame).series) {
          for (const c of s.chunks) {
            deepStrictEqual(c.type, CHUNK_ENCODING_HISTOGRAM);
            const decoded = decodeHistogramChunk(c.data);
            back.push(...decoded);
            enc.reset();
            for (const h of decoded) {
              ok(enc.canAppend(h), "a chunk's own histograms fit one chunk");
              enc.append(h);
            }
            const mine = enc.bytes().slice();
            // the first histogram's reset hint comes back "unknown" for a "not a reset" header
            mine[2] = c.data[2];
            deepStrictEqual(
              Array.from(mine),
              Array.from(c.data),
              `chunk ${chunks} re-encodes differently`,
            );
            chunks++;
          }
        }
      }
      ok(chunks >= 3, `only ${chunks} chunks`);
      deepStrictEqual(back.map(absolute), hs.map(absolute));
      // bucket layouts as Prometheus merged them still print as valid histograms
      for (const h of back) formatHistogramObject(h);
    } finally {
      await prom.stop();
    }
  },
);
