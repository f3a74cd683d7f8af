/**
 * `wattwave serve-read` end to end with a test client: SAMPLES and STREAMED_XOR_CHUNKS answers
 * decoded to the exact samples stored (NaN bits included), frame limits, query limits, bad and
 * hostile requests answered promptly while valid queries go on, and segments committed while
 * the server runs visible to the next query.
 */
import { startServeRead } from "./support/receive.ts";
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runWattwave } from "./support/cli.ts";
import { Store } from "../lib/store/mod.ts";
import {
  type DecodedReadRequest,
  encodeReadRequest,
  RESPONSE_SAMPLES,
  RESPONSE_STREAMED_XOR_CHUNKS,
} from "../lib/remote/codec/read_request.ts";
import { decodeReadResponse } from "../lib/remote/codec/read_response.ts";
import { snappyDecode, snappyEncode } from "../lib/remote/codec/snappy.ts";
import {
  decodeChunkedReadResponse,
  splitFrames,
  STREAMED_CONTENT_TYPE,
} from "../lib/remote/codec/chunked_response.ts";
import { decodeXorChunk } from "../lib/remote/codec/xor_chunk.ts";
import type { LabelMatcher } from "../lib/query/selector.ts";

type Pairs = [string, string][];

const T0 = 1_732_350_000_000;

interface Input {
  labels: Pairs;
  timestampsMs: number[];
  values: Float64Array;
}

/** Three series: a gauge with NaN payloads, a counter, and one with a long label value. */
function input(): Input[] {
  const n = 2000;
  const ts = Array.from({ length: n }, (_, i) => T0 + i * 1000 + (i % 5 === 0 ? 3 : 0));
  const gauge = Float64Array.from(ts, (_, i) => Math.round(Math.cos(i / 30) * 5000) / 100);
  const dv = new DataView(gauge.buffer);
  dv.setUint32(10 * 8 + 4, 0x7ff00000, true); // stale marker 7ff0000000000002
  dv.setUint32(10 * 8, 2, true);
  dv.setUint32(11 * 8 + 4, 0x7ff80000, true); // normal NaN 7ff8000000000001
  dv.setUint32(11 * 8, 1, true);
  return [
    {
      labels: [["__name__", "power_watts"], ["gpu", "0"], ["host", "h1"]],
      timestampsMs: ts,
      values: gauge,
    },
    {
      labels: [["__name__", "energy_joules_total"], ["gpu", "0"], ["host", "h1"]],
      timestampsMs: ts,
      values: Float64Array.from(ts, (_, i) => 1e9 + i * 123.25),
    },
    {
      labels: [["__name__", "power_watts"], ["gpu", "1"], ["host", "a".repeat(30_000) + "b"]],
      timestampsMs: ts.slice(0, 10),
      values: new Float64Array(10).fill(1),
    },
  ];
}

async function buildStore(series: Input[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-serve-read-" });
  const store = await Store.open(dir);
  for (const s of series) await store.append(s.labels, s.timestampsMs, s.values);
  await store.commit();
  return dir;
}

function readBody(request: DecodedReadRequest): Uint8Array {
  return snappyEncode(encodeReadRequest(request));
}

async function postRead(baseUrl: string, body: Uint8Array): Promise<Response> {
  return await fetch(`${baseUrl}/api/v1/read`, {
    method: "POST",
    headers: {
      "Content-Encoding": "snappy",
      "Content-Type": "application/x-protobuf",
      "X-Prometheus-Remote-Read-Version": "0.1.0",
    },
    body: new Uint8Array(body),
  });
}

function query(startMs: number, endMs: number, ...matchers: LabelMatcher[]) {
  return { startMs, endMs, matchers };
}

function bytesOf(values: Float64Array, from = 0, to = values.length): number[] {
  return Array.from(new Uint8Array(values.buffer, values.byteOffset + from * 8, (to - from) * 8));
}

/** Samples of `s` in [start, end] as timestamps and value bytes. */
function expected(s: Input, startMs: number, endMs: number) {
  const from = s.timestampsMs.findIndex((t) => t >= startMs);
  let to = s.timestampsMs.findLastIndex((t) => t <= endMs) + 1;
  if (from < 0) to = 0;
  return { ts: s.timestampsMs.slice(from, to), bytes: bytesOf(s.values, from, to) };
}

Deno.test("serve-read: SAMPLES and STREAMED_XOR_CHUNKS return the exact samples", async () => {
  const series = input();
  const dir = await buildStore(series);
  const server = await startServeRead(["--store", dir, "--max-bytes-in-frame", "4096"]);
  try {
    const start = T0 + 100_500;
    const end = T0 + 1_700_000;
    const request: DecodedReadRequest = {
      queries: [
        query(start, end, { name: "__name__", type: "=~", value: "power_watts|energy_.+" }, {
          name: "host",
          type: "=",
          value: "h1",
        }),
        query(T0, T0 + 20_000, { name: "__name__", type: "=", value: "power_watts" }),
        query(T0, T0 + 20_000, { name: "__name__", type: "=", value: "nothing_here" }),
      ],
      acceptedResponseTypes: [RESPONSE_SAMPLES],
    };
    // SAMPLES
    const r = await postRead(server.baseUrl, readBody(request));
    strictEqual(r.status, 200, await r.clone().text());
    strictEqual(r.headers.get("Content-Encoding"), "snappy");
    const results = decodeReadResponse(
      snappyDecode(new Uint8Array(await r.arrayBuffer()), 1 << 30),
    );
    strictEqual(results.length, 3);
    // query 0: both h1 series, sorted by labels (energy… < power…)
    deepStrictEqual(results[0].map((s) => s.labels), [series[1].labels, series[0].labels]);
    for (const [i, s] of [[0, series[1]], [1, series[0]]] as const) {
      const e = expected(s, start, end);
      deepStrictEqual(results[0][i].timestampsMs, e.ts);
      deepStrictEqual(bytesOf(results[0][i].values), e.bytes);
    }
    // query 1: power_watts, both series; the NaN payloads are exact
    deepStrictEqual(results[1].map((s) => s.labels), [series[0].labels, series[2].labels]);
    deepStrictEqual(bytesOf(results[1][0].values), expected(series[0], T0, T0 + 20_000).bytes);
    deepStrictEqual(results[2], []);

    // STREAMED_XOR_CHUNKS, preferred first by the client
    request.acceptedResponseTypes = [RESPONSE_STREAMED_XOR_CHUNKS, RESPONSE_SAMPLES];
    request.queries.pop();
    request.queries.pop();
    const s = await postRead(server.baseUrl, readBody(request));
    strictEqual(s.status, 200);
    strictEqual(s.headers.get("Content-Type"), STREAMED_CONTENT_TYPE);
    const body = new Uint8Array(await s.arrayBuffer());
    const frames = splitFrames(body); // CRCs checked
    ok(frames.length > 2, `${frames.length} frames`);
    for (const f of frames) ok(f.length + 5 + 4 <= 4096, `frame of ${f.length} bytes`);
    const got = new Map<string, { ts: number[]; bytes: number[] }>();
    for (const m of frames.map(decodeChunkedReadResponse)) {
      strictEqual(m.queryIndex, 0);
      for (const cs of m.series) {
        const key = JSON.stringify(cs.labels);
        const acc = got.get(key) ?? { ts: [], bytes: [] };
        got.set(key, acc);
        for (const c of cs.chunks) {
          const d = decodeXorChunk(c.data);
          ok(d.timestampsMs.length <= 120);
          strictEqual(c.minTimeMs, d.timestampsMs[0]);
          strictEqual(c.maxTimeMs, d.timestampsMs.at(-1));
          acc.ts.push(...d.timestampsMs);
          acc.bytes.push(...bytesOf(d.values));
        }
      }
    }
    deepStrictEqual(
      [...got.keys()],
      [series[1].labels, series[0].labels].map((l) => JSON.stringify(l)),
    );
    for (const x of [series[0], series[1]]) {
      const e = expected(x, start, end);
      deepStrictEqual(got.get(JSON.stringify(x.labels)), { ts: e.ts, bytes: e.bytes });
    }
    // A series whose labels cannot fit a frame is refused up front.
    const big = await postRead(
      server.baseUrl,
      readBody({
        queries: [query(T0, T0 + 20_000, { name: "gpu", type: "=", value: "1" })],
        acceptedResponseTypes: [RESPONSE_STREAMED_XOR_CHUNKS],
      }),
    );
    strictEqual(big.status, 422);
    ok((await big.text()).includes("--max-bytes-in-frame"));
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve-read: bad and hostile requests get a prompt 4xx while valid queries go on", async () => {
  const series = input();
  const dir = await buildStore(series);
  const server = await startServeRead([
    "--store",
    dir,
    "--max-samples-per-query",
    "1500",
    "--max-body-bytes",
    "64KiB",
  ]);
  try {
    const valid = () =>
      postRead(
        server.baseUrl,
        readBody({
          queries: [query(T0, T0 + 600_000, { name: "__name__", type: "=", value: "power_watts" })],
          acceptedResponseTypes: [],
        }),
      );
    const t0 = performance.now();
    const [hostile, invalid, malformed, truncated, tooMany, tooBig, ok1, ok2] = await Promise.all([
      // catastrophic for a backtracking engine against the 30,001-character label value
      postRead(
        server.baseUrl,
        readBody({
          queries: [query(T0, T0 + 600_000, { name: "host", type: "=~", value: "(a+)+$" }, {
            name: "__name__",
            type: "=~",
            value: "(.*a){20}",
          })],
          acceptedResponseTypes: [],
        }),
      ),
      postRead(
        server.baseUrl,
        readBody({
          queries: [query(T0, T0 + 1, { name: "host", type: "=~", value: "(?=lookahead)" })],
          acceptedResponseTypes: [],
        }),
      ),
      postRead(server.baseUrl, new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x00])),
      postRead(server.baseUrl, snappyEncode(new Uint8Array([0x0a, 0x10, 0x08]))),
      postRead(
        server.baseUrl,
        readBody({
          queries: [query(T0, T0 + 10_000_000, { name: "host", type: "=", value: "h1" })],
          acceptedResponseTypes: [RESPONSE_SAMPLES],
        }),
      ),
      postRead(server.baseUrl, new Uint8Array(100_000)),
      valid(),
      valid(),
    ]);
    const elapsedMs = performance.now() - t0;
    strictEqual(hostile.status, 200); // linear time: a valid regex, answered (no match)
    deepStrictEqual(
      decodeReadResponse(snappyDecode(new Uint8Array(await hostile.arrayBuffer()), 1 << 20)),
      [[]],
    );
    strictEqual(invalid.status, 400);
    ok((await invalid.text()).includes("invalid regex"));
    strictEqual(malformed.status, 400);
    ok((await malformed.text()).startsWith("malformed ReadRequest"));
    strictEqual(truncated.status, 400);
    ok((await truncated.text()).includes("malformed"));
    strictEqual(tooMany.status, 422);
    ok((await tooMany.text()).includes("more than 1500 samples"));
    strictEqual(tooBig.status, 413);
    await tooBig.body?.cancel();
    for (const r of [ok1, ok2]) {
      strictEqual(r.status, 200);
      const res = decodeReadResponse(snappyDecode(new Uint8Array(await r.arrayBuffer()), 1 << 30));
      strictEqual(res[0].length, 2);
      deepStrictEqual(res[0][0].timestampsMs, expected(series[0], T0, T0 + 600_000).ts);
    }
    ok(elapsedMs < 10_000, `took ${elapsedMs} ms`);
    // Other routes and methods.
    const get = await fetch(`${server.baseUrl}/api/v1/read`);
    strictEqual(get.status, 405);
    await get.body?.cancel();
    const nowhere = await fetch(`${server.baseUrl}/api/v1/write`, { method: "POST", body: "x" });
    strictEqual(nowhere.status, 404);
    await nowhere.body?.cancel();
    const health = await fetch(`${server.baseUrl}/-/ready`);
    strictEqual(health.status, 200);
    await health.body?.cancel();
    // Still serving after all that.
    strictEqual(await valid().then(async (r) => (await r.body?.cancel(), r.status)), 200);
  } finally {
    const log = await server.stop();
    ok(log.includes("read 400: "), log);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve-read: segments committed while it runs are visible to the next query", async () => {
  const dir = await buildStore(input().slice(0, 1));
  const server = await startServeRead(["--store", dir]);
  try {
    const ask = async () => {
      const r = await postRead(
        server.baseUrl,
        readBody({
          queries: [query(T0, T0 + 100_000_000, { name: "__name__", type: "=~", value: ".+" })],
          acceptedResponseTypes: [],
        }),
      );
      strictEqual(r.status, 200);
      return decodeReadResponse(snappyDecode(new Uint8Array(await r.arrayBuffer()), 1 << 30))[0];
    };
    strictEqual((await ask()).length, 1);
    const store = await Store.open(dir);
    const late: Pairs = [["__name__", "late_metric"], ["job", "x"]];
    await store.append(late, [T0 + 5_000_000, T0 + 5_001_000], new Float64Array([1, 2]));
    await store.commit();
    const after = await ask();
    deepStrictEqual(after.map((s) => s.labels[0][1]), ["late_metric", "power_watts"]);
    deepStrictEqual(after[0].timestampsMs, [T0 + 5_000_000, T0 + 5_001_000]);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve-read: usage errors and help", async () => {
  const help = await runWattwave(["serve-read", "--help"]);
  strictEqual(help.code, 0);
  for (
    const s of ["--store", "--write-path", "--max-bytes-in-frame", "9202", "1MiB", "Example:"]
  ) {
    ok(help.stdout.includes(s), `help lacks ${s}`);
  }
  strictEqual((await runWattwave(["serve-read"])).code, 2); // --store is required
  strictEqual((await runWattwave(["serve-read", "--store", "/tmp", "--path", "x"])).code, 2);
  strictEqual(
    (await runWattwave(["serve-read", "--store", "/tmp", "--max-bytes-in-frame", "100"])).code,
    2,
  );
  const missing = await runWattwave(["serve-read", "--store", "/nonexistent/wattwave-store"]);
  strictEqual(missing.code, 1);
  ok(missing.stderr.includes("does not exist"), missing.stderr);
});

Deno.test("serve-read: a damaged frame aborts a streamed answer (not a clean end) with one log line, no stack", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-serve-damaged-" });
  try {
    const store = await Store.open(dir);
    const ts = Array.from({ length: 5000 }, (_, i) => T0 + i * 1000);
    await store.append([["__name__", "m"]], ts, Float64Array.from(ts, (_, i) => Math.sin(i / 10)));
    await store.commit();
    await store.close();
    for await (const e of Deno.readDir(`${dir}/segments`)) {
      if (!e.name.endsWith(".flac")) continue;
      const path = `${dir}/segments/${e.name}`;
      const bytes = await Deno.readFile(path);
      for (let i = bytes.length >> 1; i < (bytes.length >> 1) + 40; i++) bytes[i] ^= 0x55;
      await Deno.writeFile(path, bytes);
    }
    const server = await startServeRead(["--store", dir]);
    let err = "";
    try {
      const body = snappyEncode(encodeReadRequest({
        queries: [{
          startMs: 0,
          endMs: 2 * T0,
          matchers: [{ name: "__name__", type: "=", value: "m" }],
        }],
        acceptedResponseTypes: [RESPONSE_STREAMED_XOR_CHUNKS],
      }));
      const r = await fetch(`${server.baseUrl}/api/v1/read`, { method: "POST", body });
      strictEqual(r.status, 200);
      let broken = false;
      try {
        await r.arrayBuffer();
      } catch {
        broken = true;
      }
      ok(broken, "the stream ended cleanly although a frame could not be decoded");
    } finally {
      err = await server.stop();
    }
    ok(err.includes("stream aborted:") && err.includes("CRC-16 mismatch"), err);
    ok(!err.includes("    at "), err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
