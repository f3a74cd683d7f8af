/**
 * serve-read's sample cache and literal snappy responses, end to end: answers from the cache
 * (repeated queries), without it (`--cache-bytes 0`) and compressed (`--compress-responses`)
 * are identical, and segments committed while the servers run (new series, later samples, and a
 * late sample inside an already cached range) show in the very next query of each.
 */
import { startServeRead as startServeReadServer } from "./support/receive.ts";
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Store } from "../lib/store/mod.ts";
import {
  type DecodedReadRequest,
  encodeReadRequest,
  RESPONSE_SAMPLES,
  RESPONSE_STREAMED_XOR_CHUNKS,
} from "../lib/remote/codec/read_request.ts";
import { decodeReadResponse } from "../lib/remote/codec/read_response.ts";
import {
  snappyDecode,
  snappyEncode,
  snappyLiteralHeaderLength,
} from "../lib/remote/codec/snappy.ts";
import { decodeChunkedReadResponse, splitFrames } from "../lib/remote/codec/chunked_response.ts";
import { decodeXorChunk } from "../lib/remote/codec/xor_chunk.ts";
import type { LabelMatcher } from "../lib/query/selector.ts";

type Pairs = [string, string][];

const T0 = 1_732_350_000_000;

function startServeRead(args: string[]) {
  return startServeReadServer(["--quiet", ...args]);
}

async function post(baseUrl: string, request: DecodedReadRequest): Promise<Response> {
  return await fetch(`${baseUrl}/api/v1/read`, {
    method: "POST",
    headers: { "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf" },
    body: new Uint8Array(snappyEncode(encodeReadRequest(request))),
  });
}

/** A comparable form of an answer: per query, per series, labels, timestamps and value bytes. */
type Answer = { labels: Pairs; ts: number[]; bytes: number[] }[][];

function valueBytes(values: Float64Array): number[] {
  return Array.from(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

async function askSamples(baseUrl: string, queries: DecodedReadRequest["queries"]) {
  const r = await post(baseUrl, { queries, acceptedResponseTypes: [RESPONSE_SAMPLES] });
  strictEqual(r.status, 200, await r.clone().text());
  const body = new Uint8Array(await r.arrayBuffer());
  const raw = snappyDecode(body, 1 << 30);
  const answer: Answer = decodeReadResponse(raw).map((result) =>
    result.map((s) => ({
      labels: s.labels,
      ts: [...s.timestampsMs],
      bytes: valueBytes(s.values),
    }))
  );
  return { answer, bodyBytes: body.length, rawBytes: raw.length };
}

async function askStreamed(baseUrl: string, queries: DecodedReadRequest["queries"]) {
  const r = await post(baseUrl, { queries, acceptedResponseTypes: [RESPONSE_STREAMED_XOR_CHUNKS] });
  strictEqual(r.status, 200);
  const answer: Answer = queries.map(() => []);
  for (const frame of splitFrames(new Uint8Array(await r.arrayBuffer()))) {
    const m = decodeChunkedReadResponse(frame);
    for (const cs of m.series) {
      const list = answer[m.queryIndex];
      let s = list.at(-1);
      if (!s || JSON.stringify(s.labels) !== JSON.stringify(cs.labels)) {
        s = { labels: cs.labels, ts: [], bytes: [] };
        list.push(s);
      }
      for (const c of cs.chunks) {
        const d = decodeXorChunk(c.data);
        s.ts.push(...d.timestampsMs);
        s.bytes.push(...valueBytes(d.values));
      }
    }
  }
  return answer;
}

function q(startMs: number, endMs: number, ...matchers: LabelMatcher[]) {
  return { startMs, endMs, matchers };
}

function gauge(n: number, phase: number): Float64Array {
  const v = Float64Array.from(
    { length: n },
    (_, i) => Math.round(Math.sin(i / 50 + phase) * 9e3) / 100,
  );
  const dv = new DataView(v.buffer);
  dv.setUint32(7 * 8 + 4, 0x7ff00000, true); // a stale marker: 7ff0000000000002
  dv.setUint32(7 * 8, 2, true);
  return v;
}

Deno.test("serve-read: cached, uncached and compressed answers agree; commits show at once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-serve-read-cache-" });
  const n = 3000;
  const ts = Array.from({ length: n }, (_, i) => T0 + i * 1000);
  const a: Pairs = [["__name__", "power_watts"], ["gpu", "0"]];
  const b: Pairs = [["__name__", "power_watts"], ["gpu", "1"]];
  const store = await Store.open(dir);
  await store.append(a, ts, gauge(n, 0));
  await store.append(b, ts, gauge(n, 1));
  // Enough series for the read workers to take a query over all of them.
  for (let i = 0; i < 12; i++) {
    await store.append(
      [["__name__", "fan_rpm"], ["fan", String(i)]],
      ts.slice(i * 100),
      gauge(n - i * 100, i),
    );
  }
  await store.commit();
  const servers = await Promise.all([
    startServeRead(["--store", dir]),
    startServeRead(["--store", dir, "--cache-bytes", "0", "--read-workers", "2"]), // the pool
    startServeRead(["--store", dir, "--compress-responses"]),
    startServeRead(["--store", dir, "--cache-bytes", "64KiB"]), // room for one series only
    startServeRead(["--store", dir, "--read-workers", "0", "--cache-bytes", "0"]), // in-process
  ]);
  const [cached] = servers;
  try {
    const all = { name: "__name__", type: "=", value: "power_watts" } as const;
    const gpu0 = { name: "gpu", type: "=", value: "0" } as const;
    const queries = [
      q(T0 - 60_000, T0 + 10_000_000, all), // everything
      q(T0 + 100_500, T0 + 1_200_000, gpu0), // a middle stretch: served from the cached whole
      q(T0 + 2_500_000, T0 + 2_600_000, all),
      q(T0 + 50_000_000, T0 + 60_000_000, all), // after the data: nothing
      q(T0 + 1000, T0 + 3_000_000, { name: "__name__", type: "=~", value: ".+" }), // 14 series
    ];
    const check = async (label: string) => {
      const first = await askSamples(cached.baseUrl, queries);
      const again = await askSamples(cached.baseUrl, queries); // from the cache
      deepStrictEqual(again.answer, first.answer, `${label}: repeated query`);
      // The default answer is one snappy literal: header plus the raw message.
      strictEqual(first.bodyBytes, first.rawBytes + snappyLiteralHeaderLength(first.rawBytes));
      for (const other of servers.slice(1)) {
        const r = await askSamples(other.baseUrl, queries);
        deepStrictEqual(r.answer, first.answer, `${label}: ${other.baseUrl}`);
      }
      const compressed = await askSamples(servers[2].baseUrl, queries);
      ok(compressed.bodyBytes < first.bodyBytes * 0.8, "compressed responses are smaller");
      for (const s of [cached, servers[1]]) {
        deepStrictEqual(await askStreamed(s.baseUrl, queries), first.answer, `${label}: streamed`);
      }
      return first.answer;
    };
    const before = await check("before");
    deepStrictEqual(before.map((r) => r.length), [2, 1, 2, 0, 14]);
    deepStrictEqual(before[0][0].ts, ts);
    deepStrictEqual(before[1][0].ts, ts.slice(101, 1201));

    // Commit a late sample inside the cached range of gpu 0 (with a later one: its cached
    // samples cannot just be extended), later samples of gpu 1 (extended: only the tail is
    // read) and a new series; every server must show them in its next answer.
    const writer = await Store.open(dir);
    await writer.append(a, [T0 + 150_500, T0 + n * 1000 + 9000], new Float64Array([-1.25, 3]));
    await writer.append(b, [T0 + n * 1000, T0 + n * 1000 + 1000], new Float64Array([5, 6]));
    const c: Pairs = [["__name__", "power_watts"], ["gpu", "2"]];
    await writer.append(c, [T0 + 2_550_000], new Float64Array([7]));
    await writer.commit();
    const after = await check("after");
    deepStrictEqual(after.map((r) => r.length), [3, 1, 3, 0, 15]);
    const lateAt = after[1][0].ts.indexOf(T0 + 150_500);
    ok(lateAt > 0, "the late sample is in the cached range's answer");
    deepStrictEqual(
      after[1][0].bytes.slice(lateAt * 8, lateAt * 8 + 8),
      valueBytes(new Float64Array([-1.25])),
    );
    deepStrictEqual(after[0][1].ts.slice(-2), [T0 + n * 1000, T0 + n * 1000 + 1000]);
    deepStrictEqual(after[2][2].labels, c);
    deepStrictEqual(after[0][0].ts.slice(-2), [T0 + (n - 1) * 1000, T0 + n * 1000 + 9000]);

    // Grow gpu 1 again, with a repeated timestamp (the first sample stays), twice over.
    for (const round of [1, 2]) {
      const t = T0 + (n + 10 * round) * 1000;
      await writer.append(b, [t, t, t + 1000], new Float64Array([round, 99, round + 0.5]));
      await writer.commit();
      const grown = await check(`grown ${round}`);
      deepStrictEqual(grown[0][1].ts.slice(-2), [t, t + 1000]);
      deepStrictEqual(
        grown[0][1].bytes.slice(-16),
        valueBytes(new Float64Array([round, round + 0.5])),
      );
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await Deno.remove(dir, { recursive: true });
  }
});
