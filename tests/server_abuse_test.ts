/**
 * Servers under hostile or heavy clients (issue 12), against the real CLI processes on
 * loopback, each bounded in count and time: strict snappy, request limits with their 400s,
 * dribbled bodies, admission control by bytes in flight, `/-/healthy` during a request of very
 * many series, and a ReadRequest of 1,000 queries.
 */
import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { startReceive, startServeRead } from "./support/receive.ts";
import { encodeWriteRequest } from "../lib/remote/codec/write_request.ts";
import { snappyEncode } from "../lib/remote/codec/snappy.ts";
import { encodeReadRequest } from "../lib/remote/codec/read_request.ts";
import { PROTOCOL_HEADERS } from "../lib/remote/push/write_client.ts";
import { Store } from "../lib/store/mod.ts";
import { runWattwave } from "./support/cli.ts";

const T0 = 1_700_000_000_000;

function body(series: { labels: [string, string][]; t?: number }[], metadataHelp?: string) {
  return snappyEncode(encodeWriteRequest(
    series.map((s) => ({
      labels: s.labels,
      timestampsMs: [s.t ?? T0],
      values: new Float64Array([1]),
    })),
    metadataHelp === undefined
      ? []
      : [{ kind: "metadata", name: "m", type: "gauge", unit: "", help: metadataHelp }],
  ));
}

async function post(url: string, bytes: Uint8Array<ArrayBuffer>): Promise<[number, string]> {
  const res = await fetch(url, { method: "POST", headers: PROTOCOL_HEADERS, body: bytes });
  return [res.status, await res.text()];
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  return Number(m?.[1] ?? NaN);
}

Deno.test("receive: snappy that decodes to another length than its preamble, or copies from before the output, is a 400", async () => {
  const recv = await startReceive(["--quiet"]);
  try {
    // Preamble 10, one 3-byte literal.
    const [s1, t1] = await post(recv.url, new Uint8Array([10, 2 << 2, 1, 2, 3]));
    assertEquals(s1, 400);
    assertMatch(t1, /decodes to 3 bytes, its preamble claims 10/);
    // Preamble 8: a 2-byte literal, then a copy of offset 5.
    const [s2, t2] = await post(recv.url, new Uint8Array([8, 1 << 2, 1, 2, 1, 5]));
    assertEquals(s2, 400);
    assertMatch(t2, /copy offset 5/);
  } finally {
    await recv.stop();
  }
});

Deno.test("receive: labels per series, label name and value length, series per request and help length have 400s naming their flag", async () => {
  const recv = await startReceive(["--quiet", "--max-series-per-request", "10"]);
  try {
    const cases: [string, Uint8Array<ArrayBuffer>, RegExp][] = [
      [
        "a label value of 20,000 bytes",
        body([{ labels: [["__name__", "m"], ["v", "x".repeat(20_000)]] }]),
        /value of label "v" is 20000 bytes, over the limit of 16384 \(--max-label-value-bytes\)/,
      ],
      [
        "a label name of 2,000 bytes",
        body([{ labels: [["__name__", "m"], ["n".repeat(2000), "v"]] }]),
        /label name "n+"… is 2000 bytes, .* \(--max-label-name-bytes\)/,
      ],
      [
        "200 labels",
        body([{
          labels: [
            ["__name__", "m"],
            ...Array.from({ length: 199 }, (_, i) => [`l${String(i).padStart(3, "0")}`, "v"]),
          ] as [string, string][],
        }]),
        /has 200 labels, over the limit of 128 \(--max-labels-per-series\)/,
      ],
      [
        "11 series",
        body(Array.from({ length: 11 }, (_, i) => ({ labels: [["__name__", `m${i}`]] }))),
        /more than 10 series \(--max-series-per-request\)/,
      ],
      [
        "a help of 20,000 bytes",
        body([{ labels: [["__name__", "m"]] }], "h".repeat(20_000)),
        /help of metric "m" is 20000 bytes, .* \(--max-help-bytes\)/,
      ],
      [
        "a label value of 200,000 bytes (no stack overflow)",
        body([{ labels: [["__name__", "m"], ["v", "y".repeat(200_000)]] }]),
        /--max-label-value-bytes/,
      ],
    ];
    for (const [name, bytes, why] of cases) {
      const [status, text] = await post(recv.url, bytes);
      assertEquals(status, 400, `${name}: ${text}`);
      assertMatch(text, why, name);
    }
    const [ok] = await post(
      recv.url,
      body([{ labels: [["__name__", "m"], ["v", "x".repeat(16384)]] }]),
    );
    assertEquals(ok, 204);
  } finally {
    const { stdout } = await recv.stop();
    assertEquals(stdout.trim().split("\n").length, 1); // only the accepted request was written
  }
});

Deno.test("receive: a body dribbled in 100-byte writes costs its own length, not a buffer per write", async () => {
  const recv = await startReceive(["--quiet"]);
  try {
    // ~1 MiB body: 2,000 series of one sample with a 500-byte label value.
    const bytes = body(
      Array.from({ length: 2_000 }, (_, i) => ({
        labels: [["__name__", "dribble"], ["id", `${i}`.padStart(500, "0")]],
      })),
    );
    // The same body sent at once first: what handling it costs is in the baseline.
    assertEquals((await post(recv.url, bytes))[0], 204);
    const before = rssKiB(recv.pid);
    const port = Number(new URL(recv.baseUrl).port);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const head = new TextEncoder().encode(
      `POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Encoding: snappy\r\n` +
        `Content-Type: application/x-protobuf\r\nContent-Length: ${bytes.length}\r\n\r\n`,
    );
    await conn.write(head);
    for (let i = 0; i < bytes.length; i += 100) {
      await conn.write(bytes.subarray(i, Math.min(bytes.length, i + 100)));
      if (i % 10_000 === 0) await new Promise((r) => setTimeout(r, 1)); // let it read in pieces
    }
    const answer = new Uint8Array(512);
    const n = await conn.read(answer);
    conn.close();
    const text = new TextDecoder().decode(answer.subarray(0, n ?? 0));
    assertMatch(text, /^HTTP\/1\.1 204/);
    const grownMiB = (rssKiB(recv.pid) - before) / 1024;
    // Before: each of ~11,000 writes held a 64 KiB buffer (hundreds of MiB).
    assert(grownMiB < 48, `receive grew by ${grownMiB.toFixed(0)} MiB for a dribbled 1 MiB body`);
  } finally {
    await recv.stop();
  }
});

Deno.test("receive: past --max-inflight-bytes new writes get 503 + Retry-After; alone, a request always gets in", async () => {
  const recv = await startReceive(["--quiet", "--max-inflight-bytes", "1MiB"]);
  const port = Number(new URL(recv.baseUrl).port);
  const big = body(
    Array.from({ length: 12_000 }, (_, i) => ({
      labels: [["__name__", "inflight"], ["id", `${i}`.padStart(40, "0")]],
    })),
  ); // ~600 KB: two of them pass the budget
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    // A slow client: headers and half its body, then nothing (it holds its Content-Length).
    await conn.write(new TextEncoder().encode(
      `POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Encoding: snappy\r\n` +
        `Content-Type: application/x-protobuf\r\nContent-Length: ${big.length}\r\n\r\n`,
    ));
    await conn.write(big.subarray(0, big.length >> 1));
    let refused: Response | undefined;
    for (let i = 0; i < 100 && !refused; i++) {
      const res = await fetch(recv.url, { method: "POST", headers: PROTOCOL_HEADERS, body: big });
      await res.body?.cancel();
      if (res.status === 503) refused = res;
      else await new Promise((r) => setTimeout(r, 50)); // the slow one is not counted yet
    }
    assert(refused, "no 503 while another request held the budget");
    assertEquals(refused.headers.get("Retry-After"), "1");
    // The slow client finishes: its request is written; then the other gets in too.
    await conn.write(big.subarray(big.length >> 1));
    const answer = new Uint8Array(512);
    const n = await conn.read(answer);
    assertMatch(new TextDecoder().decode(answer.subarray(0, n ?? 0)), /^HTTP\/1\.1 204/);
    const [status] = await post(recv.url, big);
    assertEquals(status, 204);
    const metrics = await (await fetch(`${recv.baseUrl}/metrics`)).text();
    assertMatch(metrics, /code="503"/);
  } finally {
    conn.close();
    await recv.stop();
  }
});

/** Polls `/-/healthy` every 20 ms while `work` runs; returns the slowest answer, ms. */
async function slowestHealthWhile(baseUrl: string, work: Promise<unknown>): Promise<number> {
  let done = false;
  work.finally(() => done = true).catch(() => {});
  let worst = 0;
  while (!done) {
    const t = performance.now();
    await (await fetch(`${baseUrl}/-/healthy`)).text();
    worst = Math.max(worst, performance.now() - t);
    await new Promise((r) => setTimeout(r, 20));
  }
  await work;
  return worst;
}

Deno.test("receive and receive --store: /-/healthy answers while a request of 200,000 series is decoded and written", async () => {
  const bytes = body(
    Array.from(
      { length: 200_000 },
      (_, i) => ({ labels: [["__name__", "many"], ["id", String(i)]] }),
    ),
  );
  const dir = await Deno.makeTempDir({ prefix: "wattwave-many-" });
  try {
    for (const args of [["--workers", "0"], ["--store", dir]]) {
      const recv = await startReceive(["--quiet", ...args]);
      try {
        let status = 0;
        const worst = await slowestHealthWhile(
          recv.baseUrl,
          post(recv.url, bytes).then(([s]) => status = s),
        );
        assertEquals(status, 204, args.join(" "));
        // Paced work pauses every 10 ms; before, /-/healthy waited for the whole request
        // (seconds). The bound is loose so that a slow machine passes.
        assert(worst < 1500, `${args.join(" ")}: /-/healthy took ${worst.toFixed(0)} ms`);
      } finally {
        await recv.stop();
      }
    }
    const store = await Store.open(dir, { readOnly: true });
    assertEquals(store.stats().series, 200_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve-read: a ReadRequest of 1,000 queries is a 400 naming --max-queries-per-request", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-queries-" });
  try {
    const store = await Store.open(dir);
    await store.append([["__name__", "m"]], [T0], new Float64Array([1]));
    await store.commit();
    await store.close();
    const server = await startServeRead(["--store", dir]);
    try {
      const query = {
        startMs: 0,
        endMs: 2 * T0,
        matchers: [{ name: "__name__", type: "=" as const, value: "m" }],
      };
      const request = (n: number) =>
        snappyEncode(encodeReadRequest({
          queries: Array.from({ length: n }, () => query),
          acceptedResponseTypes: [],
        }));
      const res = await fetch(`${server.baseUrl}/api/v1/read`, {
        method: "POST",
        body: request(1000),
      });
      assertEquals(res.status, 400);
      assertMatch(await res.text(), /1000 queries.*--max-queries-per-request/);
      const ok = await fetch(`${server.baseUrl}/api/v1/read`, {
        method: "POST",
        body: request(100),
      });
      await ok.arrayBuffer();
      assertEquals(ok.status, 200);
    } finally {
      await server.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("receive --store: concurrent large posts are admitted within --max-inflight-bytes (503 beyond), the server stays within its bound, every 204 is stored", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-concurrent-" });
  try {
    const recv = await startReceive(["--quiet", "--store", dir, "--max-inflight-bytes", "8MiB"]);
    let ok = 0;
    let busy = 0;
    let peakKiB = 0;
    try {
      // 8 requests of 500 series × 100 samples (~0.5 MB each, ~3 MB decoded), all at once.
      const bodies = Array.from({ length: 8 }, (_, r) =>
        snappyEncode(encodeWriteRequest(
          Array.from({ length: 500 }, (_, i) => ({
            labels: [["__name__", "big"], ["id", String(i)]] as [string, string][],
            timestampsMs: Array.from({ length: 100 }, (_, k) => T0 + (r * 100 + k) * 1000),
            values: Float64Array.from({ length: 100 }, (_, k) => k * 0.25),
          })),
        )));
      const statuses = await Promise.all(bodies.map(async (b) => (await post(recv.url, b))[0]));
      ok = statuses.filter((s) => s === 204).length;
      busy = statuses.filter((s) => s === 503).length;
      peakKiB = Number(
        /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${recv.pid}/status`))?.[1],
      );
    } finally {
      const { code } = await recv.stop();
      assertEquals(code, 0);
    }
    assertEquals(ok + busy, 8);
    assert(ok >= 1, "no request got in");
    assert(busy >= 1, "no 503 although the requests together pass the budget");
    assert(peakKiB < 1024 * 1024, `receive --store peaked at ${peakKiB} KiB`);
    const e = await runWattwave(["export", "--store", dir, "--no-metadata"]);
    assertEquals(e.stdout.trim().split("\n").length, ok * 500 * 100);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
