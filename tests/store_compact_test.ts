/**
 * Compaction is crash-safe: `wattwave compress --compact` killed with SIGKILL at random moments
 * leaves a store that opens with every committed sample exactly once (the export is identical
 * before and after), and the next writer deletes what the killed one left behind.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { gunzipSync } from "node:zlib";
import { type LabelPairs, Store } from "../lib/store/mod.ts";
import { runWattwave } from "./support/cli.ts";
import { runUntilKilled } from "./support/kill.ts";
import { seededRandom } from "./support/random.ts";

const SERIES = 200;
const COMMITS = 40;
const PER_COMMIT = 10;

/** A store whose series each have COMMITS small ranges (one per commit). */
async function buildStore(dir: string): Promise<void> {
  const store = await Store.open(dir, { autoCompact: false });
  for (let c = 0; c < COMMITS; c++) {
    for (let s = 0; s < SERIES; s++) {
      const labels: LabelPairs = [["__name__", `compact_metric_${s % 7}`], ["s", `${s}`]];
      const ts = Array.from(
        { length: PER_COMMIT },
        (_, i) => 1_732_350_000_000 + (c * PER_COMMIT + i) * 1000,
      );
      const values = new Float64Array(
        ts.map((_, i) => s % 3 === 0 ? Math.sin(c + i + s) : (c * PER_COMMIT + i) * (s + 1) / 100),
      );
      await store.append(labels, ts, values);
    }
    await store.commit();
  }
  await store.close();
}

/** Names of the .flac files in segments/ and of the files the index refers to. */
async function files(
  dir: string,
): Promise<{ onDisk: string[]; indexed: string[]; retired: string[] }> {
  const onDisk: string[] = [];
  for await (const e of Deno.readDir(`${dir}/segments`)) {
    if (e.name.endsWith(".flac")) onDisk.push(e.name);
  }
  const index = JSON.parse(
    new TextDecoder().decode(gunzipSync(await Deno.readFile(`${dir}/index.json.gz`))),
  );
  return {
    onDisk: onDisk.sort(),
    indexed: index.files.map((f: { file: string }) => f.file).sort(),
    retired: index.retired,
  };
}

Deno.test("kill -9 during compress --compact: every committed sample exactly once, leftovers cleaned", async () => {
  const root = await Deno.makeTempDir({ prefix: "wattwave-compact-" });
  try {
    const base = `${root}/base`;
    await buildStore(base);
    const before = await runWattwave(["export", "--store", base]);
    assertEquals(before.code, 0, before.stderr);
    assertEquals(before.stdout.trim().split("\n").length, SERIES * COMMITS * PER_COMMIT);
    // How long an uninterrupted compaction takes, to spread the kills over it.
    const timing = `${root}/timing`;
    await new Deno.Command("cp", { args: ["-a", base, timing] }).output();
    const t0 = performance.now();
    const full = await runWattwave([
      "compress",
      "--store",
      timing,
      "--compact",
      "--report",
      "json",
    ]);
    const ms = performance.now() - t0;
    assertEquals(full.code, 0, full.stderr);
    const report = JSON.parse(full.stdout);
    assertEquals(report.compaction.rangesIn, SERIES * COMMITS);
    assertEquals(report.compaction.rangesOut, SERIES);
    assertEquals((await runWattwave(["export", "--store", timing])).stdout, before.stdout);
    const after = await files(timing);
    assertEquals(after.onDisk, after.indexed);

    const seed = Number(Deno.env.get("WATTWAVE_TEST_SEED") ?? Date.now() % 1_000_000);
    const random = seededRandom(seed);
    let killedMidway = 0;
    for (let round = 0; round < 5; round++) {
      const dir = `${root}/r${round}`;
      await new Deno.Command("cp", { args: ["-a", base, dir] }).output();
      const delay = Math.floor(ms * (0.3 + round * 0.16 + random() * 0.05));
      const status =
        (await runUntilKilled(["compress", "--store", dir, "--compact", "--no-progress"], {
          killAtMs: delay,
        })).status;
      const state = await files(dir);
      if (status.signal === "SIGKILL") killedMidway++;
      // Readers see exactly the committed samples, whatever the moment of the kill.
      const e = await runWattwave(["export", "--store", dir]);
      assertEquals(e.code, 0, `round ${round}: ${e.stderr}`);
      assert(
        e.stdout === before.stdout,
        `round ${round}: export differs after kill at ${delay} ms (seed ${seed})`,
      );
      // The next writer deletes the killed writer's unindexed files and retired ones.
      const again = await runWattwave(["compress", "--store", dir, "--compact"]);
      assertEquals(again.code, 0, again.stderr);
      const clean = await files(dir);
      assertEquals(
        clean.onDisk,
        clean.indexed,
        `round ${round}: leftovers ${JSON.stringify(state)}`,
      );
      assertEquals(clean.retired, []);
      assertEquals(clean.indexed.length, after.indexed.length);
      assertEquals((await runWattwave(["export", "--store", dir])).stdout, before.stdout);
    }
    assert(
      killedMidway >= 2,
      `only ${killedMidway} rounds were killed before finishing (seed ${seed})`,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
