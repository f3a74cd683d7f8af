/**
 * Native histograms read back through remote read, wattwave against a Prometheus 2.42 holding the
 * same data: the same histograms pushed into both (`push` into Prometheus' receiver, `compress`
 * into a store served by `serve-read`), then both asked the same STREAMED_XOR_CHUNKS query. The
 * answers decode to the same histograms (the chunks themselves are cut at other places:
 * Prometheus also cuts at block-aligned times; `histogram_chunk_peer_test.ts` shows each of its
 * chunks re-encodes to the same bytes). Prometheus 2.42's own `remote_read` client ignores native
 * histograms, so its PromQL cannot be the judge: see the README.
 */
import { deepStrictEqual, ok } from "node:assert/strict";
import { runWattwave } from "../support/cli.ts";
import { startServeRead } from "../support/receive.ts";
import { startPrometheus } from "../support/prometheus.ts";
import { peerTest } from "../support/peers.ts";
import { emptyHistogram } from "../../lib/model/histogram.ts";
import { formatHistogramLine, formatHistogramObject } from "../../lib/ndjson/histogram_line.ts";
import { RESPONSE_STREAMED_XOR_CHUNKS } from "../../lib/remote/codec/read_request.ts";
import { postRead } from "../support/remote.ts";
import { decodeChunkedReadResponse, splitFrames } from "../../lib/remote/codec/chunked_response.ts";
import { decodeHistogramChunk } from "../../lib/remote/codec/histogram_chunk.ts";

async function streamedChunks(readUrl: string, startMs: number, endMs: number) {
  const r = await postRead(readUrl, {
    queries: [{ startMs, endMs, matchers: [{ name: "__name__", type: "=", value: "lat" }] }],
    acceptedResponseTypes: [RESPONSE_STREAMED_XOR_CHUNKS],
  });
  ok(r.ok, `${readUrl}: ${r.status}`);
  const out: string[] = [];
  for (const frame of splitFrames(new Uint8Array(await r.arrayBuffer()))) {
    for (const s of decodeChunkedReadResponse(frame).series) {
      for (const c of s.chunks) {
        deepStrictEqual(c.type, 2);
        for (const h of decodeHistogramChunk(c.data)) {
          // the reset hint of a chunk's first histogram depends on where the chunk was cut
          const text = formatHistogramObject({ ...h, resetHint: 0 });
          out.push(`${JSON.stringify(s.labels)} ${h.timestampMs} ${text}`);
        }
      }
    }
  }
  return out;
}

peerTest(
  ["prometheus"],
  "serve-read streams the same histograms as a Prometheus holding them",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "wattwave-hist-vs-prom-" });
    const prom = await startPrometheus({ flags: ["--enable-feature=native-histograms"] });
    try {
      const start = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
      const lines: string[] = [];
      for (const job of ["a", "b"]) {
        for (let i = 0; i < 250; i++) {
          const h = emptyHistogram(start + i * 10_000 + (i % 9 === 4 ? 123 : 0));
          h.schema = 1;
          h.zeroThreshold = { value: 2 ** -128 };
          h.zeroCount = { value: i };
          const b = [3 * i, 5 * i + (job === "b" ? i % 4 : 0), 2 * i];
          h.count = { value: i + b[0] + b[1] + b[2] };
          h.sum = { value: Math.round(i * 7.3 * 100) / 100 };
          h.positiveSpans = [1, 3];
          h.positiveDeltas = [b[0], b[1] - b[0], b[2] - b[1]];
          lines.push(formatHistogramLine(
            `{"name":"lat","labels":{"job":"${job}"},"timestamp":`,
            h,
          ));
        }
      }
      const input = lines.join("\n") + "\n";
      const push = await runWattwave(["push", "--url", `${prom.url}/api/v1/write`], {
        stdin: input,
      });
      deepStrictEqual(push.code, 0, push.stderr);
      const c = await runWattwave(["compress", "--store", `${dir}/s`], { stdin: input });
      deepStrictEqual(c.code, 0, c.stderr);
      const server = await startServeRead(["--store", `${dir}/s`]);
      try {
        const end = start + 3_000_000;
        const theirs = await streamedChunks(`${prom.url}/api/v1/read`, start - 1, end);
        const ours = await streamedChunks(`${server.baseUrl}/api/v1/read`, start - 1, end);
        deepStrictEqual(theirs.length, 500);
        deepStrictEqual(ours, theirs);
      } finally {
        await server.stop();
      }
    } finally {
      await prom.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
