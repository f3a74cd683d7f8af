/**
 * Crash safety: `wattwave compress` killed with SIGKILL at random moments leaves a store that
 * opens, and `export` returns, per series, a prefix of the input holding at least everything
 * the run reported as committed; the next writer deletes the killed run's uncommitted files.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { gunzipSync } from "node:zlib";
import { runWattwave } from "./support/cli.ts";
import { countMatches, runUntilKilled } from "./support/kill.ts";
import { seededRandom } from "./support/random.ts";

const T0 = 1_732_350_000_000;
const SERIES = 12;
const STEPS = 40_000;

function inputLines(): string[] {
  const lines: string[] = [];
  for (let i = 0; i < STEPS; i++) {
    for (let s = 0; s < SERIES; s++) {
      const value = s % 3 === 0 ? i * 17 + s : s % 3 === 1 ? (i % 1000) / 100 : Math.sin(i + s);
      lines.push(
        `{"name":"crash_metric","labels":{"s":"${s}"},"timestamp":${
          T0 + i * 1000
        },"value":${value}}`,
      );
    }
  }
  return lines;
}

function seriesOf(line: string): string {
  return line.slice(0, line.indexOf(',"timestamp":'));
}

Deno.test("kill -9 during compress leaves a prefix-consistent store with every commit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-crash-" });
  try {
    const lines = inputLines();
    const input = `${dir}/input.ndjson`;
    await Deno.writeTextFile(input, lines.join("\n") + "\n");
    const perSeries = new Map<string, string[]>();
    for (const l of lines) {
      const k = seriesOf(l);
      if (!perSeries.has(k)) perSeries.set(k, []);
      perSeries.get(k)!.push(l);
    }
    // Kill points come from the run's own progress: after the k-th "committed" line, plus a
    // seeded fraction of the time the last commit took, so the kill lands at the same place of
    // the run on any machine. 480k samples at 20k per commit make 24 commits.
    const seed = Number(Deno.env.get("WATTWAVE_TEST_SEED") ?? Date.now() % 1_000_000);
    const random = seededRandom(seed);
    const afterCommits = [1, 3, 6, 10, 15];
    let killedMidway = 0;
    for (let round = 0; round < afterCommits.length; round++) {
      const store = `${dir}/store${round}`;
      const fraction = random();
      let lastAt = performance.now();
      let lastGapMs = 0;
      let seen = 0;
      const run = await runUntilKilled([
        "compress",
        "--store",
        store,
        "--commit-samples",
        "20000",
        "--segment-samples",
        "3000",
        "--no-progress",
        input,
      ], {
        killAfter: (text) => {
          const n = countMatches(text, /committed \d+ samples/g);
          if (n > seen) {
            const now = performance.now();
            lastGapMs = now - lastAt;
            lastAt = now;
            seen = n;
          }
          return seen >= afterCommits[round] ? Math.floor(lastGapMs * fraction) : undefined;
        },
      });
      const where = `round ${round} (seed ${seed}, after commit ${afterCommits[round]} + ${
        fraction.toFixed(2)
      } of a commit)`;
      const log = run.stderr;
      let reported = 0;
      for (const m of log.matchAll(/committed (\d+) samples/g)) reported += Number(m[1]);
      if (run.killSent && reported > 0) killedMidway++;

      const e = await runWattwave(["export", "--store", store]);
      if (reported === 0 && e.code !== 0) {
        // Killed before anything was committed: the directory may not even be complete.
        continue;
      }
      assertEquals(e.code, 0, `${where}: ${e.stderr}`);
      const out = e.stdout.split("\n").filter((l) => l !== "");
      assert(
        out.length >= reported,
        `${where}: exported ${out.length} < committed ${reported}`,
      );
      const got = new Map<string, string[]>();
      for (const l of out) {
        const k = seriesOf(l);
        if (!got.has(k)) got.set(k, []);
        got.get(k)!.push(l);
      }
      for (const [k, list] of got) {
        const want = perSeries.get(k)!.slice(0, list.length);
        assertEquals(list, want, `${where}: series ${k} is not a prefix of the input`);
      }
      // The store stays writable: a later run appends to it.
      const more = await runWattwave(["compress", "--store", store, "--no-progress"], {
        stdin: `{"name":"after_crash","labels":{},"timestamp":${T0},"value":1}\n`,
      });
      assertEquals(more.code, 0, more.stderr);
      const e2 = await runWattwave(["export", "--store", store, "--match", "after_crash"]);
      assertEquals(e2.stdout.trim().split("\n").length, 1, e2.stderr);
      // That writer deleted the killed one's uncommitted files: every file left is indexed.
      const onDisk: string[] = [];
      for await (const f of Deno.readDir(`${store}/segments`)) {
        if (f.name.endsWith(".flac")) onDisk.push(f.name);
      }
      const index = JSON.parse(
        new TextDecoder().decode(gunzipSync(await Deno.readFile(`${store}/index.json.gz`))),
      );
      assertEquals(onDisk.sort(), index.files.map((f: { file: string }) => f.file).sort());
    }
    assertEquals(
      killedMidway,
      afterCommits.length,
      `only ${killedMidway} runs were killed after a commit and before finishing (seed ${seed})`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
