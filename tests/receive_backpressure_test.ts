/**
 * `wattwave receive` when stdout cannot keep up: memory stays bounded by refusing new requests
 * with 503 + Retry-After, and everything answered 204 is written once stdout drains.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { wattwaveArgv } from "./support/cli.ts";
import { freePort, waitForHttp } from "./support/net.ts";
import { encodeWriteRequest } from "../lib/remote/codec/write_request.ts";
import { snappyEncode } from "../lib/remote/codec/snappy.ts";
import { PROTOCOL_HEADERS } from "../lib/remote/push/write_client.ts";

Deno.test("receive: a stalled stdout gives 503 + Retry-After; nothing answered 204 is lost", async () => {
  const port = freePort();
  const [cmd, ...args] = wattwaveArgv([
    "receive",
    "--port",
    String(port),
    "--max-pending-bytes",
    "256KiB",
    "--quiet",
  ]);
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).spawn();
  try {
    await waitForHttp(`http://127.0.0.1:${port}/-/ready`);
    const url = `http://127.0.0.1:${port}/api/v1/write`;
    let accepted = 0;
    let refused = 0;
    let retryAfter: string | null = null;
    // Nobody reads stdout yet: the pipe fills, then the pending queue, then requests are refused.
    for (let r = 0; r < 200 && refused === 0; r++) {
      const ts = Array.from({ length: 1000 }, (_, i) => r * 1000 + i);
      const body = snappyEncode(encodeWriteRequest([{
        labels: [["__name__", "m"], ["r", String(r)]],
        timestampsMs: ts,
        values: Float64Array.from(ts),
      }]));
      const res = await Promise.race([
        fetch(url, { method: "POST", headers: PROTOCOL_HEADERS, body }),
        new Promise<"held">((resolve) => setTimeout(() => resolve("held"), 2000)),
      ]);
      if (res === "held") continue; // held (waiting for stdout) also bounds memory; keep going
      await res.body?.cancel();
      if (res.status === 204) accepted++;
      else if (res.status === 503) {
        refused++;
        retryAfter = res.headers.get("Retry-After");
      } else throw new Error(`unexpected status ${res.status}`);
    }
    assert(refused > 0, "a stalled stdout must lead to 503");
    assertEquals(retryAfter, "1");
    // Now drain stdout: every accepted request's lines arrive.
    child.kill("SIGTERM");
    const text = await new Response(child.stdout).text();
    const lines = text.trimEnd().split("\n").length;
    assert(lines >= accepted * 1000, `${lines} lines for ${accepted} accepted requests`);
    assertEquals((await child.status).code, 0);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
  }
});
