/**
 * `wattwave push` against a scripted endpoint: 500 then 204 (delivered once), 429 with
 * Retry-After (waits), 400 (dropped, reported, exit 1), and no server at all.
 */
import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { runWattwave } from "./support/cli.ts";
import { freePort } from "./support/net.ts";
import { snappyDecode } from "../lib/remote/codec/snappy.ts";
import { decodeWriteRequest } from "../lib/remote/codec/write_request.ts";

interface Seen {
  atMs: number;
  samples: number;
  headers: Headers;
}

/** Serves the statuses in `script` in turn (then 204 forever), recording what arrived. */
function scriptedEndpoint(
  script: { status: number; headers?: Record<string, string>; body?: string }[],
) {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const bytes = new Uint8Array(await req.arrayBuffer());
    const samples = decodeWriteRequest(snappyDecode(bytes, 1 << 24)).sampleCount;
    seen.push({ atMs: performance.now(), samples, headers: req.headers });
    const step = script[seen.length - 1] ?? { status: 204 };
    return new Response(step.body ?? null, { status: step.status, headers: step.headers });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/api/v1/write`, seen, server };
}

const INPUT = Array.from(
  { length: 10 },
  (_, i) => `{"name":"m","timestamp":${1000 + i},"value":${i}}`,
).join("\n");

Deno.test("push: 500 then 204 is retried and delivered once", async () => {
  const ep = scriptedEndpoint([{ status: 500, body: "try again" }]);
  try {
    const r = await runWattwave(["push", "--url", ep.url], { stdin: INPUT });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(ep.seen.map((s) => s.samples), [10, 10]);
    assertMatch(r.stderr, /HTTP 500: try again; retry 1/);
    assertMatch(r.stderr, /sent 10, retried 1, dropped 0, 1 requests/);
    const h = ep.seen[1].headers;
    assertEquals(h.get("content-encoding"), "snappy");
    assertEquals(h.get("content-type"), "application/x-protobuf");
    assertEquals(h.get("x-prometheus-remote-write-version"), "0.1.0");
    assertMatch(h.get("user-agent") ?? "", /^wattwave\/\d+\.\d+\.\d+$/);
  } finally {
    await ep.server.shutdown();
  }
});

Deno.test("push: 429 honours Retry-After", async () => {
  const ep = scriptedEndpoint([{ status: 429, headers: { "Retry-After": "1" } }]);
  try {
    const r = await runWattwave(["push", "--url", ep.url], { stdin: INPUT });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(ep.seen.length, 2);
    const waitedMs = ep.seen[1].atMs - ep.seen[0].atMs;
    assert(waitedMs >= 950, `waited only ${waitedMs} ms`);
    assertMatch(r.stderr, /HTTP 429; retry 1 in 1000 ms/);
  } finally {
    await ep.server.shutdown();
  }
});

Deno.test("push: 400 drops the batch, reports the receiver's message, exits 1", async () => {
  const ep = scriptedEndpoint([{ status: 400, body: "out of order sample\nsecond line" }]);
  try {
    const r = await runWattwave(["push", "--url", ep.url], { stdin: INPUT });
    assertEquals(r.code, 1);
    assertEquals(ep.seen.length, 1);
    assertMatch(r.stderr, /dropped 10 samples: POST .*: HTTP 400: out of order sample\n/);
    assertMatch(r.stderr, /sent 0, retried 0, dropped 10/);
  } finally {
    await ep.server.shutdown();
  }
});

Deno.test("push: auth and extra headers are sent; protocol headers cannot be overridden", async () => {
  const ep = scriptedEndpoint([]);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/token`, "s3cret\n");
    const r = await runWattwave(
      [
        "push",
        "--url",
        ep.url,
        "--bearer-token-file",
        `${dir}/token`,
        "--header",
        "X-Scope-OrgID: tenant1",
      ],
      { stdin: INPUT },
    );
    assertEquals(r.code, 0, r.stderr);
    assertEquals(ep.seen[0].headers.get("authorization"), "Bearer s3cret");
    assertEquals(ep.seen[0].headers.get("x-scope-orgid"), "tenant1");
    await Deno.writeTextFile(`${dir}/pw`, "pa:ss");
    const b = await runWattwave(
      [
        "push",
        "--url",
        ep.url,
        "--basic-auth-user",
        "u",
        "--basic-auth-password-file",
        `${dir}/pw`,
      ],
      { stdin: INPUT },
    );
    assertEquals(b.code, 0, b.stderr);
    assertEquals(ep.seen[1].headers.get("authorization"), `Basic ${btoa("u:pa:ss")}`);
    const bad = await runWattwave(["push", "--url", ep.url, "--header", "Content-Encoding: gzip"], {
      stdin: INPUT,
    });
    assertEquals(bad.code, 2);
    assertMatch(bad.stderr, /cannot override the protocol header Content-Encoding/);
  } finally {
    await ep.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("push: no server → retries are bounded, samples dropped, exit 1", async () => {
  const port = freePort();
  const r = await runWattwave([
    "push",
    "--url",
    `http://127.0.0.1:${port}/api/v1/write`,
    "--max-retries",
    "2",
  ], {
    stdin: INPUT,
  });
  assertEquals(r.code, 1);
  assertMatch(r.stderr, /retry 2 in/);
  assertMatch(r.stderr, /sent 0, retried 2, dropped 10/);
});

Deno.test("push: usage errors exit 2 with a clear message", async () => {
  const noUrl = await runWattwave(["push"], { stdin: "" });
  assertEquals(noUrl.code, 2);
  assertMatch(noUrl.stderr, /--url \(or env REMOTE_WRITE_URL\) is required/);
  const badBatch = await runWattwave(
    ["push", "--url", "http://127.0.0.1:1/", "--batch-size", "0"],
    { stdin: "" },
  );
  assertEquals(badBatch.code, 2);
  assertMatch(badBatch.stderr, /expected a positive integer \(got "0"\)/);
  const envBatch = await runWattwave(["push"], {
    stdin: "",
    env: { REMOTE_WRITE_URL: "ftp://x", BATCH_SIZE: "5" },
  });
  assertEquals(envBatch.code, 2);
  assertMatch(envBatch.stderr, /must be http or https/);
});
