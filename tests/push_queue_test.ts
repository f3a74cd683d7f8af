/**
 * `push --queue-dir`: an outage loses nothing that reached the queue, kill -9 included; cron runs
 * while the endpoint is down all arrive, oldest first; the queue's bound, its lock and a torn
 * file; network errors that name their cause.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { parseNdjson, runWattwave, spawnWattwave } from "./support/cli.ts";
import { freePort } from "./support/net.ts";
import { startReceive } from "./support/receive.ts";
import { pushIntoQueue, queuedSamples } from "./support/queue.ts";
import { lineReader } from "./support/lines.ts";

const T0 = 1_732_350_000_000;

/** NDJSON of `series` series × `steps` samples from step `from`, tagged with `file`. */
function lines(file: string, series: number, steps: number, from = 0): string[] {
  const out: string[] = [];
  for (let i = from; i < from + steps; i++) {
    for (let s = 0; s < series; s++) {
      out.push(
        `{"name":"queued","labels":{"file":"${file}","s":"${s}"},"timestamp":${
          T0 + i * 1000
        },"value":${i}}`,
      );
    }
  }
  return out;
}

/** Sample keys (`file/s/timestamp`) of what `receive` wrote. */
function received(stdout: string): string[] {
  return parseNdjson(stdout).filter((r) => "name" in r).map((r) => {
    const l = r.labels as Record<string, string>;
    return `${l.file}/${l.s}/${r.timestamp}`;
  });
}

/** Sample keys of every batch in the queue directory. */
async function queuedKeys(dir: string): Promise<Set<string>> {
  return new Set(
    (await queuedSamples(dir)).map((q) => `${q.labels.file}/${q.labels.s}/${q.timestampMs}`),
  );
}

async function queueFiles(dir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".wwq")) n++;
  return n;
}

/** Per series, whether timestamps arrive in increasing order. */
function inSeriesOrder(keys: string[]): boolean {
  const last = new Map<string, number>();
  for (const k of keys) {
    const at = k.lastIndexOf("/");
    const series = k.slice(0, at);
    const t = Number(k.slice(at + 1));
    if ((last.get(series) ?? -Infinity) >= t) return false;
    last.set(series, t);
  }
  return true;
}

Deno.test("push --queue-dir: an outage with two kill -9 loses nothing that reached the queue, delivers it once, in order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-queue-" });
  const port = freePort();
  const url = `http://127.0.0.1:${port}/api/v1/write`;
  try {
    const reached = new Set<string>();
    const sent: string[] = [];
    // Three runs during the outage, fed from a pipe; the first two are killed once the queue
    // holds batches of theirs (the run's own progress), the third ends at EOF.
    for (let run = 0; run < 3; run++) {
      const chunk = lines(`run${run}`, 5, 200, 0);
      sent.push(...chunk);
      // The first two are killed once half of their input is queued: their own progress.
      const { status, stderr: err } = await pushIntoQueue({
        url,
        dir,
        lines: chunk,
        flags: ["--batch-size", "100", "--flush-interval", "50ms", "--shutdown-grace", "300ms"],
        killAfterQueued: run < 2 ? 500 : undefined,
      });
      if (run < 2) assertEquals(status.signal, "SIGKILL", err);
      else {
        assertEquals(status.code, 0, err);
        assert(/connection refused \(127\.0\.0\.1:\d+\)/.test(err), err);
        assert(/left in /.test(err), err);
      }
      for (const k of await queuedKeys(dir)) reached.add(k);
    }
    assert(reached.size >= 5 * 100, `only ${reached.size} samples reached the queue`);
    // The endpoint comes back: the next run sends the backlog first, then its own input.
    const recv = await startReceive(["--port", String(port)]);
    const r = await runWattwave(["push", "--url", url, "--queue-dir", dir, "--batch-size", "100"], {
      stdin: lines("after", 2, 10).join("\n") + "\n",
    });
    assertEquals(r.code, 0, r.stderr);
    assert(/from an earlier run delivered/.test(r.stderr), r.stderr);
    const out = await recv.stop();
    const got = received(out.stdout);
    assertEquals(new Set(got).size, got.length, "a sample arrived twice");
    for (const k of reached) assert(got.includes(k), `queued sample ${k} never arrived`);
    const sentKeys = new Set(
      [...sent, ...lines("after", 2, 10)].map((l) => {
        const o = JSON.parse(l);
        return `${o.labels.file}/${o.labels.s}/${o.timestamp}`;
      }),
    );
    for (const k of got) assert(sentKeys.has(k), `${k} was never sent`);
    assert(inSeriesOrder(got), "per-series order broken");
    assertEquals(await queueFiles(dir), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("push --queue-dir from cron: three runs while the endpoint is down, one after: all four files arrive, oldest first", async () => {
  const root = await Deno.makeTempDir({ prefix: "wattwave-queue-" });
  const port = freePort();
  const url = `http://127.0.0.1:${port}/api/v1/write`;
  try {
    const files: string[] = [];
    for (let f = 0; f < 4; f++) {
      const path = `${root}/in${f}.ndjson`;
      await Deno.writeTextFile(path, lines(`f${f}`, 3, 50, f * 50).join("\n") + "\n");
      files.push(path);
    }
    const args = ["push", "--url", url, "--queue-dir", `${root}/q`, "--shutdown-grace", "200ms"];
    for (let f = 0; f < 3; f++) {
      const r = await runWattwave([...args, files[f]]);
      assertEquals(r.code, 0, r.stderr);
      assert(/queued 150 in \d+ bytes \(\d+ left/.test(r.stderr), r.stderr);
    }
    const recv = await startReceive(["--port", String(port)]);
    const r = await runWattwave([...args, files[3]]);
    assertEquals(r.code, 0, r.stderr);
    const got = received((await recv.stop()).stdout);
    assertEquals(got.length, 600);
    const order = got.map((k) => k.split("/")[0]).filter((f, i, a) => i === 0 || a[i - 1] !== f);
    assertEquals(order, ["f0", "f1", "f2", "f3"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("push --queue-dir: the bound drops the oldest and counts them; a torn file is skipped; one push per queue", async () => {
  const root = await Deno.makeTempDir({ prefix: "wattwave-queue-" });
  const port = freePort();
  const url = `http://127.0.0.1:${port}/api/v1/write`;
  const q = `${root}/q`;
  try {
    const input = lines("b", 4, 500).join("\n") + "\n";
    const r = await runWattwave([
      "push",
      "--url",
      url,
      "--queue-dir",
      q,
      "--batch-size",
      "200",
      "--queue-max-bytes",
      "4KiB",
      "--shutdown-grace",
      "100ms",
    ], { stdin: input });
    assertEquals(r.code, 1, r.stderr); // samples were dropped: not everything was kept
    assert(/dropped the oldest batch/.test(r.stderr), r.stderr);
    assert(/\d+ dropped over --queue-max-bytes/.test(r.stderr), r.stderr);
    const files: string[] = [];
    for await (const e of Deno.readDir(q)) if (e.name.endsWith(".wwq")) files.push(e.name);
    files.sort();
    assert(files.length >= 1, files.join(", "));
    // A torn write: a newer file whose last record lost its tail.
    const torn = `${q}/9999999999999999.wwq`;
    const bytes = await Deno.readFile(`${q}/${files[0]}`);
    await Deno.writeFile(torn, bytes.subarray(0, bytes.length - 7));
    // Another push holds the queue (it said what it found there): the second is refused.
    const holder = spawnWattwave(["push", "--url", url, "--queue-dir", q], { stdin: "piped" });
    const holderLog = lineReader(holder.stderr);
    await holderLog.until("left by an earlier run");
    const second = await runWattwave(["push", "--url", url, "--queue-dir", q], { stdin: "" });
    assertEquals(second.code, 2, second.stderr);
    assert(second.stderr.includes("another wattwave push is using the queue"), second.stderr);
    holder.kill("SIGTERM");
    await holder.status;
    await holder.stdout.cancel();
    await holderLog.rest();
    // The first push to open the queue found the torn file, reported it and set it aside.
    const log = holderLog.all.join("\n");
    assert(log.includes(`damaged queue file ${torn}`), log);
    const recv = await startReceive(["--port", String(port)]);
    const d = await runWattwave(["push", "--url", url, "--queue-dir", q], { stdin: "" });
    assertEquals(d.code, 0, d.stderr);
    const got = received((await recv.stop()).stdout);
    assert(got.length > 0 && got.length < 2000, `${got.length}: ${d.stderr}`);
    assertEquals(new Set(got).size, got.length);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("push: network errors name their cause; a port the runtime blocks fails at once with exit 2", async () => {
  const port = freePort();
  const refused = await runWattwave(
    ["push", "--url", `http://127.0.0.1:${port}/api/v1/write`, "--max-retries", "0"],
    { stdin: lines("e", 1, 1).join("\n") + "\n" },
  );
  assertEquals(refused.code, 1, refused.stderr);
  assert(refused.stderr.includes(`connection refused (127.0.0.1:${port})`), refused.stderr);
  const dns = await runWattwave(
    ["push", "--url", "http://no-such-host.invalid/api/v1/write", "--max-retries", "0"],
    { stdin: lines("e", 1, 1).join("\n") + "\n" },
  );
  assert(dns.stderr.includes("DNS lookup failed (no-such-host.invalid)"), dns.stderr);
  const recv = await startReceive();
  try {
    const tls = await runWattwave(
      ["push", "--url", recv.url.replace("http:", "https:"), "--max-retries", "0"],
      { stdin: lines("e", 1, 1).join("\n") + "\n" },
    );
    assert(/TLS error .*try http:\/\//.test(tls.stderr), tls.stderr);
  } finally {
    await recv.stop();
  }
  const t0 = performance.now();
  const blocked = await runWattwave(["push", "--url", "http://127.0.0.1:1/api/v1/write"], {
    stdin: lines("e", 1, 1).join("\n") + "\n",
  });
  assertEquals(blocked.code, 2, blocked.stderr);
  assert(blocked.stderr.includes("refuses connections to 127.0.0.1:1"), blocked.stderr);
  assert(!blocked.stderr.includes("retry"), `retried a permanent failure: ${blocked.stderr}`);
  assert(performance.now() - t0 < 20_000);
});
