/**
 * Connections (issue 12): header, read and idle timeouts close slow or idle clients and are
 * counted; a server under `prlimit --nofile=256` faced with 400 connections lowers its cap to what
 * the limit allows, keeps running, and answers once the clients are gone. Real CLI processes on
 * loopback; every wait is bounded.
 */
import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { startReceive } from "./support/receive.ts";

/** Opens a connection, sends `text`, and resolves with seconds until the server closes it. */
async function secondsUntilClosed(port: number, text: string, limitS = 20): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const t0 = performance.now();
  await conn.write(new TextEncoder().encode(text));
  const buf = new Uint8Array(4096);
  const timer = setTimeout(() => conn.close(), limitS * 1000);
  try {
    while (true) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed already */ }
  }
  return (performance.now() - t0) / 1000;
}

Deno.test("receive: slow headers, a slow body and an idle keep-alive connection are closed at their timeouts and counted", async () => {
  const recv = await startReceive([
    "--quiet",
    "--web.read-header-timeout",
    "1s",
    "--web.read-timeout",
    "2s",
    "--web.idle-timeout",
    "1s",
  ]);
  try {
    const port = Number(new URL(recv.baseUrl).port);
    const [header, body, idle] = await Promise.all([
      secondsUntilClosed(port, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n"),
      secondsUntilClosed(
        port,
        "POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Encoding: snappy\r\n" +
          "Content-Type: application/x-protobuf\r\nContent-Length: 100\r\n\r\nabc",
      ),
      secondsUntilClosed(port, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"),
    ]);
    // Never before the timeout; the upper bounds only say "closed by the server, not the test".
    assert(header >= 0.9 && header < 15, `slow headers closed after ${header} s`);
    assert(body >= 1.9 && body < 15, `slow body closed after ${body} s`);
    assert(idle >= 0.9 && idle < 15, `idle connection closed after ${idle} s`);
    const metrics = await (await fetch(`${recv.baseUrl}/metrics`)).text();
    assertMatch(metrics, /wattwave_http_connection_timeouts_total\{kind="header"\} 1\n/);
    assertMatch(metrics, /wattwave_http_connection_timeouts_total\{kind="read"\} 1\n/);
    assertMatch(metrics, /wattwave_http_connection_timeouts_total\{kind="idle"\} [1-9]/);
  } finally {
    await recv.stop();
  }
});

Deno.test("receive under prlimit --nofile=256: 400 connections do not end it; it answers once they are gone", async () => {
  const recv = await startReceive(["--quiet", "--web.idle-timeout", "2s"], {
    prefix: ["prlimit", "--nofile=256"],
  });
  const port = Number(new URL(recv.baseUrl).port);
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 400; i++) {
      // Beyond the cap, connections wait in the kernel's backlog (or are refused by it).
      const c = await Deno.connect({ hostname: "127.0.0.1", port }).catch(() => undefined);
      if (c) conns.push(c);
    }
    // Idle clients are closed by the idle timeout; the backlog is accepted meanwhile.
    await new Promise((r) => setTimeout(r, 3000));
    for (const c of conns.splice(0)) {
      try {
        c.close();
      } catch { /* closed by the server */ }
    }
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      const res = await fetch(`${recv.baseUrl}/-/healthy`, { signal: AbortSignal.timeout(10_000) })
        .catch(() => undefined);
      status = res?.status ?? 0;
      await res?.body?.cancel();
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    assertEquals(status, 200);
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    const { code, stderr } = await recv.stop();
    assertEquals(code, 0, stderr);
    assertMatch(stderr, /the limit is 256 \(ulimit -n\): at most \d+ connections/);
    assert(!stderr.includes("    at "), stderr);
  }
});
