/**
 * Edge cases: limits answered before streaming, arroyo timestamps out of
 * range, retries counted when a batch is dropped, `--max-retries 0`, empty label values,
 * values out of float64 range.
 */
import { assertEquals, assertMatch } from "./support/assert.ts";
import { runWattwave } from "./support/cli.ts";
import { startReceive, startServeRead } from "./support/receive.ts";
import { freePort } from "./support/net.ts";
import { encodeReadRequest } from "../lib/remote/codec/read_request.ts";
import { encodeWriteRequest } from "../lib/remote/codec/write_request.ts";
import { snappyEncode } from "../lib/remote/codec/snappy.ts";
import { PROTOCOL_HEADERS } from "../lib/remote/push/write_client.ts";

Deno.test("serve-read: STREAMED_XOR_CHUNKS over --max-samples-per-query is a 422, not a broken stream", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-review-" });
  try {
    const lines = [];
    for (let s = 0; s < 3; s++) {
      for (let i = 0; i < 20; i++) {
        lines.push(`{"name":"m","labels":{"s":"${s}"},"timestamp":${1000 + i},"value":${i}}`);
      }
    }
    const c = await runWattwave(["compress", "--store", `${dir}/store`], {
      stdin: lines.join("\n"),
    });
    assertEquals(c.code, 0, c.stderr);
    const server = await startServeRead([
      "--store",
      `${dir}/store`,
      "--max-samples-per-query",
      "30",
      "--quiet",
    ]);
    try {
      for (const type of [0, 1]) {
        const body = snappyEncode(encodeReadRequest({
          queries: [{
            startMs: 0,
            endMs: 10_000,
            matchers: [{ name: "__name__", type: "=", value: "m" }],
          }],
          acceptedResponseTypes: [type],
        }));
        const res = await fetch(`${server.baseUrl}/api/v1/read`, {
          method: "POST",
          headers: { "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf" },
          body,
        });
        const text = await res.text();
        assertEquals(res.status, 422, `response type ${type}: ${text}`);
      }
    } finally {
      await server.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("receive --format arroyo: a timestamp outside the ISO-8601 range is a 400", async () => {
  for (const workers of ["0", "1"]) {
    const recv = await startReceive(["--format", "arroyo", "--workers", workers, "--quiet"]);
    try {
      const body = snappyEncode(encodeWriteRequest([{
        labels: [["__name__", "m"]],
        timestampsMs: [9e15],
        values: new Float64Array([1]),
      }]));
      const res = await fetch(recv.url, { method: "POST", headers: PROTOCOL_HEADERS, body });
      assertEquals([res.status, /outside the ISO-8601 range/.test(await res.text())], [400, true]);
    } finally {
      await recv.stop();
    }
  }
});

Deno.test("push: retries are counted when a batch is dropped; --max-retries 0 means none", async () => {
  const port = freePort();
  const url = `http://127.0.0.1:${port}/api/v1/write`;
  const input = '{"name":"m","timestamp":1,"value":1}\n';
  const two = await runWattwave(["push", "--url", url, "--max-retries", "2"], { stdin: input });
  assertEquals(two.code, 1);
  assertMatch(two.stderr, /sent 0, retried 2, dropped 1/);
  const none = await runWattwave(["push", "--url", url, "--max-retries", "0"], { stdin: input });
  assertEquals(none.code, 1);
  assertMatch(none.stderr, /sent 0, retried 0, dropped 1/);
});

Deno.test("push: an empty label value is no label, so --label applies; 1e400 is a bad line", async () => {
  const recv = await startReceive();
  try {
    const push = await runWattwave(["push", "--url", recv.url, "--label", "host=h"], {
      stdin: '{"name":"m","labels":{"host":"","a":"1"},"timestamp":1000,"value":1}\n' +
        '{"name":"m","timestamp":2000,"value":1e400}\n',
    });
    assertEquals(push.code, 1);
    assertMatch(push.stderr, /stdin:2: value: value must be a number within float64 range/);
    const out = await recv.stop();
    assertEquals(
      out.stdout,
      '{"name":"m","labels":{"a":"1","host":"h"},"timestamp":1000,"value":1}\n',
    );
  } finally {
    await recv.stop();
  }
});

Deno.test("push: a line over 1 MiB is a bad line (skipped, counted), not the end of the run", async () => {
  const recv = await startReceive();
  try {
    const huge = `{"name":"m","labels":{"k":"${"x".repeat(2 << 20)}"},"timestamp":1,"value":1}`;
    const push = await runWattwave(["push", "--url", recv.url], {
      stdin:
        `{"name":"m","timestamp":1000,"value":1}\n${huge}\n{"name":"m","timestamp":2000,"value":2}\n`,
    });
    assertEquals(push.code, 1);
    assertMatch(
      push.stderr,
      new RegExp(`stdin:2: line of ${huge.length} bytes is longer than the 1 MiB limit`),
    );
    assertMatch(push.stderr, /read 2 samples \(1 bad lines\), sent 2/);
  } finally {
    await recv.stop();
  }
});

Deno.test("receive --workers 2: push | receive is bit-exact through the worker pool too", async () => {
  const recv = await startReceive(["--workers", "2"]);
  try {
    const values = [
      '"NaN"',
      '"StaleNaN"',
      '"+Inf"',
      '"-Inf"',
      "-0",
      '"0x7ff8000000000123"',
      "5e-324",
      "0.1",
      "69.85",
    ];
    const lines = [];
    for (let r = 0; r < 30; r++) {
      for (let i = 0; i < values.length; i++) {
        lines.push(
          `{"name":"m","labels":{"r":"${r}"},"timestamp":${1795420800000 + i},"value":${
            values[i]
          }}`,
        );
      }
    }
    const push = await runWattwave(["push", "--url", recv.url, "--batch-size", "20"], {
      stdin: lines.join("\n"),
    });
    assertEquals(push.code, 0, push.stderr);
    const out = await recv.stop();
    assertEquals(out.stdout.trimEnd().split("\n").sort(), [...lines].sort());
  } finally {
    await recv.stop();
  }
});
