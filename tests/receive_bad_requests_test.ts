/**
 * A table of bad requests against a real `wattwave receive`: each gets its status and a
 * one-line reason, and the server goes on serving a valid request afterwards.
 */
import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { waitUntil } from "./support/lines.ts";
import { startReceive } from "./support/receive.ts";
import { encodeWriteRequest } from "../lib/remote/codec/write_request.ts";
import { snappyEncode } from "../lib/remote/codec/snappy.ts";
import { WireWriter } from "../lib/remote/codec/wire.ts";

const HEADERS = {
  "Content-Encoding": "snappy",
  "Content-Type": "application/x-protobuf",
  "X-Prometheus-Remote-Write-Version": "0.1.0",
};

function body(labels: [string, string][]): Uint8Array<ArrayBuffer> {
  return snappyEncode(
    encodeWriteRequest([{ labels, timestampsMs: [1000], values: new Float64Array([1]) }]),
  );
}

Deno.test("receive: bad requests get 4xx with a reason; a valid request still succeeds", async () => {
  const recv = await startReceive(["--max-body-bytes", "64KiB", "--max-decoded-bytes", "128KiB"]);
  try {
    const good = body([["__name__", "up"], ["job", "a"]]);
    // A valid snappy block whose preamble claims 100 MiB.
    const w = new WireWriter(8);
    w.varint(100 * 1024 * 1024);
    const hugeClaim = new Uint8Array([...w.finish(), 0x00]);
    const cases: {
      name: string;
      init: RequestInit;
      path?: string;
      status: number;
      reason: RegExp;
    }[] = [
      { name: "GET on write path", init: { method: "GET" }, status: 405, reason: /not allowed/ },
      {
        name: "unknown path",
        init: { method: "POST", headers: HEADERS, body: good },
        path: "/x",
        status: 404,
        reason: /no endpoint/,
      },
      {
        name: "body over --max-body-bytes",
        init: { method: "POST", headers: HEADERS, body: new Uint8Array(70 * 1024) },
        status: 413,
        reason: /over the limit/,
      },
      {
        name: "decoded size over --max-decoded-bytes (from the snappy header)",
        init: { method: "POST", headers: HEADERS, body: hugeClaim },
        status: 413,
        reason: /decodes to 104857600 bytes/,
      },
      {
        name: "not snappy",
        init: {
          method: "POST",
          headers: HEADERS,
          body: new TextEncoder().encode("\x05hello world"),
        },
        status: 400,
        reason: /malformed snappy/,
      },
      {
        name: "not protobuf",
        init: {
          method: "POST",
          headers: HEADERS,
          body: snappyEncode(new Uint8Array([0x0a, 0x7f, 1, 2])),
        },
        status: 400,
        reason: /malformed protobuf/,
      },
      {
        name: "invalid label name",
        init: {
          method: "POST",
          headers: HEADERS,
          body: body([["__name__", "up"], ["bad-label", "x"]]),
        },
        status: 400,
        reason: /invalid label name "bad-label"/,
      },
      {
        name: "no metric name",
        init: { method: "POST", headers: HEADERS, body: body([["job", "a"]]) },
        status: 400,
        reason: /without __name__/,
      },
      {
        name: "unsorted labels",
        init: { method: "POST", headers: HEADERS, body: body([["job", "a"], ["__name__", "up"]]) },
        status: 400,
        reason: /not sorted/,
      },
      {
        name: "gzip encoding",
        init: { method: "POST", headers: { ...HEADERS, "Content-Encoding": "gzip" }, body: good },
        status: 415,
        reason: /snappy/,
      },
      {
        name: "JSON content type",
        init: {
          method: "POST",
          headers: { ...HEADERS, "Content-Type": "application/json" },
          body: good,
        },
        status: 415,
        reason: /application\/x-protobuf/,
      },
      {
        name: "a remote-write message it does not speak",
        init: {
          method: "POST",
          headers: {
            ...HEADERS,
            "Content-Type": "application/x-protobuf;proto=io.prometheus.write.v3.Request",
            "X-Prometheus-Remote-Write-Version": "3.0.0",
          },
          body: good,
        },
        status: 415,
        reason:
          /speaks prometheus\.WriteRequest \(remote write 1\.0\) and io\.prometheus\.write\.v2\.Request/,
      },
    ];
    for (const c of cases) {
      const res = await fetch(new URL(c.path ?? "/api/v1/write", recv.baseUrl), c.init);
      const text = await res.text();
      assertEquals(res.status, c.status, `${c.name}: ${text}`);
      assertMatch(text, c.reason, c.name);
      assertEquals(text.trim().split("\n").length, 1, `${c.name}: one-line reason`);
      if (c.status === 405) assertEquals(res.headers.get("Allow"), "POST");
    }
    const health = await fetch(new URL("/-/healthy", recv.baseUrl));
    assertEquals([health.status, (await health.text()).trim()], [200, "OK"]);
    const ready = await fetch(new URL("/-/ready", recv.baseUrl));
    assertEquals(ready.status, 200);
    await ready.body?.cancel();
    const ok = await fetch(recv.url, { method: "POST", headers: HEADERS, body: good });
    assertEquals(ok.status, 204);
    const out = await recv.stop();
    assertEquals(out.code, 0);
    assertEquals(out.stdout, '{"name":"up","labels":{"job":"a"},"timestamp":1000,"value":1}\n');
  } finally {
    await recv.stop().catch(() => {});
  }
});

Deno.test("receive: a client gone mid-body is logged as such (not a 500); a snappy bomb is a 400", async () => {
  const server = await startReceive();
  const { hostname, port } = new URL(server.url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(new TextEncoder().encode(
    `POST ${new URL(server.url).pathname} HTTP/1.1\r\nHost: x\r\nContent-Encoding: snappy\r\n` +
      `Content-Type: application/x-protobuf\r\nContent-Length: 1000\r\n\r\n0123456789`,
  ));
  conn.close();
  // A 7-byte body whose preamble claims 64 MiB.
  const bomb = await fetch(server.url, {
    method: "POST",
    headers: HEADERS,
    body: new Uint8Array([0x80, 0x80, 0x80, 0x20, 0x00, 0x41, 0x00]),
  });
  const why = await bomb.text();
  assertEquals(bomb.status, 400, why);
  assert(why.includes("cannot decode to the 67108864 bytes"), why);
  await waitUntil(async () => {
    const r = await fetch(server.baseUrl + "/-/healthy");
    await r.body?.cancel();
    return r.ok;
  }, "the server to stay healthy");
  const out = await server.stop();
  assert(out.stderr.includes("the client closed the connection before the body ended"), out.stderr);
  assert(!out.stderr.includes("500"), out.stderr);
});
