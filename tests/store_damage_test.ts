/**
 * Store damage (issue 12): a damaged FLAC frame affects only its series — `export` goes on with
 * the others, names the damaged series and file and exits 1; `serve-read` answers queries of the
 * other series and names the damage in the error of the query that touches it; `compress
 * --repair` takes the unreadable range out and says so; a journal with a torn last record and a
 * truncated index are handled without a stack trace.
 */
import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { runWattwave } from "./support/cli.ts";
import { startServeRead } from "./support/receive.ts";
import { Store } from "../lib/store/mod.ts";
import { encodeReadRequest } from "../lib/remote/codec/read_request.ts";
import { snappyDecode, snappyEncode } from "../lib/remote/codec/snappy.ts";
import { decodeReadResponse } from "../lib/remote/codec/read_response.ts";

const T0 = 1_700_000_000_000;
const N = 5000;

/** A store of two series of N samples each (`a` then `b` in one packed file). */
async function twoSeriesStore(dir: string): Promise<void> {
  const lines: string[] = [];
  for (const name of ["a", "b"]) {
    for (let i = 0; i < N; i++) {
      lines.push(`{"name":"${name}","labels":{},"timestamp":${T0 + i * 1000},"value":${i % 97}}`);
    }
  }
  const r = await runWattwave(["compress", "--store", dir, "--no-progress", "-"], {
    stdin: lines.join("\n") + "\n",
  });
  assertEquals(r.code, 0, r.stderr);
}

/** Flips bytes in a frame in the middle of series `name`'s range; returns the file name. */
async function damageMiddleOf(dir: string, name: string): Promise<string> {
  const store = await Store.open(dir, { readOnly: true });
  const s = store.series((l) => l.some(([k, v]) => k === "__name__" && v === name))[0];
  const entry = (await import("../lib/store/committed.ts")).CommittedIndex;
  const committed = new entry(dir);
  await committed.refresh();
  const range = committed.seriesById(s.id)!.range(0);
  const file = committed.file(range.file)!;
  const frame = Math.floor((range.at + range.count / 2) / file.blockSize);
  const path = `${dir}/segments/${range.file}`;
  const bytes = await Deno.readFile(path);
  const at = file.frames[frame] + 20;
  for (let i = at; i < at + 16; i++) bytes[i] ^= 0x5a;
  await Deno.writeFile(path, bytes);
  return range.file;
}

async function readSamples(baseUrl: string, name: string): Promise<[number, number, string]> {
  const body = snappyEncode(encodeReadRequest({
    queries: [{
      startMs: 0,
      endMs: 2 * T0,
      matchers: [{ name: "__name__", type: "=", value: name }],
    }],
    acceptedResponseTypes: [],
  }));
  const res = await fetch(`${baseUrl}/api/v1/read`, { method: "POST", body });
  if (res.status !== 200) return [res.status, 0, await res.text()];
  const decoded = decodeReadResponse(
    snappyDecode(new Uint8Array(await res.arrayBuffer()), 1 << 30),
  );
  const n = decoded[0].reduce((k, s) => k + s.timestampsMs.length, 0);
  return [200, n, ""];
}

Deno.test("a damaged frame: export goes on and exits 1 naming the series and file; serve-read answers the other series; --repair takes the range out", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-damage-" });
  try {
    await twoSeriesStore(dir);
    const file = await damageMiddleOf(dir, "a");

    const e = await runWattwave(["export", "--store", dir, "--no-metadata"]);
    assertEquals(e.code, 1, e.stderr);
    assertMatch(e.stderr, new RegExp(`series a is damaged: .*${file}`));
    assertMatch(e.stderr, /1 of 2 series could not be read whole/);
    assert(!e.stderr.includes("    at "), e.stderr);
    const bLines = e.stdout.split("\n").filter((l) => l.startsWith('{"name":"b"'));
    assertEquals(bLines.length, N);

    const server = await startServeRead(["--store", dir, "--read-workers", "0"]);
    try {
      assertEquals((await readSamples(server.baseUrl, "b")).slice(0, 2), [200, N]);
      const [status, , text] = await readSamples(server.baseUrl, "a");
      assertEquals(status, 500);
      assertMatch(text, new RegExp(`series a cannot be read .*${file}.*--repair`));
    } finally {
      const log = await server.stop();
      assert(!log.includes("    at "), log);
    }

    const r = await runWattwave(["compress", "--store", dir, "--repair", "--no-progress"]);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stderr, new RegExp(`dropped ${N} samples of a in ${file}`));
    assertMatch(r.stderr, /1 unreadable ranges \(5000 samples\) taken out of the index/);
    const after = await runWattwave(["export", "--store", dir, "--no-metadata"]);
    assertEquals(after.code, 0, after.stderr);
    assertEquals(after.stdout.trim().split("\n").length, N);
    // The file still holds b's range: it stays in segments/.
    const again = await runWattwave(["compress", "--store", dir, "--repair", "--no-progress"]);
    assertMatch(again.stderr, /all readable, nothing to do/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing segment: export names it and exits 1; --repair drops its ranges", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-missing-" });
  try {
    await twoSeriesStore(dir);
    const files = [...Deno.readDirSync(`${dir}/segments`)].filter((e) => e.name.endsWith(".flac"));
    for (const f of files) await Deno.remove(`${dir}/segments/${f.name}`);
    const e = await runWattwave(["export", "--store", dir]);
    assertEquals(e.code, 1);
    assertMatch(e.stderr, /No such file/);
    assert(!e.stderr.includes("    at "), e.stderr);
    const r = await runWattwave(["compress", "--store", dir, "--repair", "--no-progress"]);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stderr, /2 unreadable ranges \(10000 samples\)/);
    const after = await runWattwave(["export", "--store", dir]);
    assertEquals([after.code, after.stdout], [0, ""]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("index journal: a torn last record is ignored by readers and cut off by the next writer; a truncated index is refused naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-journal-" });
  try {
    await twoSeriesStore(dir);
    // A commit that leaves its record in the journal (a store closed without checkpointing).
    const store = await Store.open(dir);
    await store.append([["__name__", "c"]], [T0], new Float64Array([1]));
    await store.commit();
    const checkpoint = await Deno.stat(`${dir}/index.json.gz`);
    const journal = await Deno.stat(`${dir}/index.log`);
    assert(journal.size > 0, "the commit went to the journal");
    // A crash while appending the next record: 9 bytes of a header and payload.
    const f = await Deno.open(`${dir}/index.log`, { append: true });
    await f.write(new Uint8Array([200, 0, 0, 0, 1, 2, 3, 4, 5]));
    f.close();
    const e = await runWattwave(["export", "--store", dir, "--match", "c"]);
    assertEquals(e.code, 0, e.stderr);
    assertEquals(e.stdout.trim().split("\n").length, 1);
    // The writer that still holds the store commits again: the torn bytes go first.
    await store.append([["__name__", "c"]], [T0 + 1000], new Float64Array([2]));
    await store.commit();
    assertEquals(
      (await Deno.stat(`${dir}/index.json.gz`)).mtime?.getTime(),
      checkpoint.mtime?.getTime(),
    );
    const e2 = await runWattwave(["export", "--store", dir, "--match", "c"]);
    assertEquals(e2.stdout.trim().split("\n").length, 2, e2.stderr);
    await store.close();

    const bytes = await Deno.readFile(`${dir}/index.json.gz`);
    await Deno.writeFile(`${dir}/index.json.gz`, bytes.subarray(0, 20));
    const t = await runWattwave(["export", "--store", dir]);
    assertEquals(t.code, 1);
    assertMatch(t.stderr, /index\.json\.gz: not a wattwave store index/);
    assert(!t.stderr.includes("    at "), t.stderr);
    const c = await runWattwave(["compress", "--store", dir, "--no-progress", "-"], { stdin: "" });
    assertEquals(c.code, 1);
    assertEquals(
      [...Deno.readDirSync(`${dir}/segments`)].filter((e) => e.name.endsWith(".flac")).length > 0,
      true,
      "a writer deleted segments of a store whose index it could not read",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kill -9 of receive --store while it commits and checkpoints: every 204'd sample is exported", async () => {
  const { spawnWattwave } = await import("./support/cli.ts");
  const { PROTOCOL_HEADERS } = await import("../lib/remote/push/write_client.ts");
  const { encodeWriteRequest } = await import("../lib/remote/codec/write_request.ts");
  const seed = Number(Deno.env.get("WATTWAVE_TEST_SEED") ?? Date.now() % 1_000_000);
  const { seededRandom } = await import("./support/random.ts");
  const random = seededRandom(seed);
  for (const killAfter of [3, 11, 25]) {
    const dir = await Deno.makeTempDir({ prefix: "wattwave-kill-" });
    try {
      const child = spawnWattwave(["receive", "--port", "0", "--store", dir, "--quiet"], {
        env: { WATTWAVE_INDEX_CHECKPOINT_BYTES: "1" }, // checkpoints all the time
      });
      const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let log = "";
      let url = "";
      while (!url) {
        const { done, value } = await reader.read();
        if (done) throw new Error(log);
        log += value;
        url = /listening on (\S+)/.exec(log)?.[1] ?? "";
      }
      const drain = (async () => {
        while (!(await reader.read()).done) { /* keep the pipe open */ }
      })();
      let acked = 0;
      let killed = false;
      // Two senders; request k holds 300 series at timestamp T0 + k s.
      const send = async (first: number) => {
        for (let k = first; k < 200 && !killed; k += 2) {
          const body = snappyEncode(encodeWriteRequest(
            Array.from({ length: 300 }, (_, i) => ({
              labels: [["__name__", "kill"], ["id", String(i)]] as [string, string][],
              timestampsMs: [T0 + k * 1000],
              values: new Float64Array([k]),
            })),
          ));
          const res = await fetch(url, { method: "POST", headers: PROTOCOL_HEADERS, body })
            .catch(() => undefined);
          await res?.body?.cancel();
          if (res?.status === 204) {
            acked++;
            if (acked >= killAfter && !killed) {
              // A seeded fraction of a commit later: the kill lands inside the next commit or
              // checkpoint on any machine's speed.
              await new Promise((r) => setTimeout(r, Math.floor(random() * 20)));
              killed = true;
              child.kill("SIGKILL");
            }
          }
        }
      };
      await Promise.all([send(0), send(1)]);
      await child.status;
      await drain;
      await child.stdout.cancel();
      const e = await runWattwave(["export", "--store", dir, "--no-metadata"]);
      assertEquals(e.code, 0, `seed ${seed}: ${e.stderr}`);
      const lines = e.stdout.trim().split("\n").filter((l) => l !== "").length;
      assert(
        lines >= acked * 300,
        `seed ${seed}, kill after ${killAfter}: ${acked} requests acknowledged, ${lines} samples exported`,
      );
      // The store stays writable and readable after the crash.
      const more = await runWattwave(["compress", "--store", dir, "--no-progress", "-"], {
        stdin: `{"name":"after","labels":{},"timestamp":${T0},"value":1}\n`,
      });
      assertEquals(more.code, 0, more.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});
