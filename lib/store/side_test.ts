import { assertEquals } from "../../tests/support/assert.ts";
import { histogramSeries } from "../../tests/support/histograms.ts";
import { formatHistogramObject } from "../ndjson/histogram_line.ts";
import { Store } from "./mod.ts";

const LABELS: [string, string][] = [["__name__", "rpc_seconds"], ["job", "api"]];

Deno.test("side files: one per commit, merged once 16 small ones piled up; every histogram reads back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-side-" });
  try {
    const hs = histogramSeries(1_700_000_000_000, 40);
    const store = await Store.open(dir);
    const sideFiles = () =>
      [...Deno.readDirSync(`${dir}/segments`)].filter((e) => e.name.endsWith(".side.gz")).length;
    for (const h of hs) {
      store.appendHistograms(LABELS, [h]);
      store.appendExemplars(LABELS, [{
        labels: [["trace_id", String(h.timestampMs)]],
        value: { value: 1 },
        timestampMs: h.timestampMs,
      }]);
      await store.commit();
    }
    // 40 commits: merged at the 16th and 32nd, 8 left since
    assertEquals(store.stats().sideFiles, 10);
    assertEquals(sideFiles(), 10);
    const [s] = store.sideSeries();
    const back = await store.readSide(s.id);
    const text = (h: (typeof hs)[number]) => `${h.timestampMs} ${formatHistogramObject(h)}`;
    assertEquals(back.histograms.map(text), hs.map(text));
    assertEquals(back.exemplars.length, 40);
    // compress --compact merges whatever is small
    await store.compact();
    assertEquals(store.stats().sideFiles, 1);
    assertEquals(sideFiles(), 1);
    assertEquals((await store.readSide(s.id)).histograms.map(text), hs.map(text));
    await store.close();
    // a reader of the closed store sees the same
    const reader = await Store.open(dir, { readOnly: true });
    assertEquals((await reader.readSide(s.id)).histograms.map(text), hs.map(text));
    assertEquals(reader.stats().histograms, 40);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("side files: a damaged one fails only its series' reads; repair drops it and moves it aside", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-side-damage-" });
  try {
    const store = await Store.open(dir);
    store.appendHistograms(LABELS, histogramSeries(1_700_000_000_000, 5));
    store.appendSample([["__name__", "up"]], 1_700_000_000_000, 1);
    await store.commit();
    const [side] = store.sideSeries();
    const file = [...Deno.readDirSync(`${dir}/segments`)].find((e) => e.name.endsWith(".side.gz"))!;
    const path = `${dir}/segments/${file.name}`;
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length >> 1)); // cut in half
    await store.close();
    const broken = await Store.open(dir);
    let err = "";
    try {
      await broken.readSide(side.id);
    } catch (e) {
      err = (e as Error).message;
    }
    assertEquals(err.includes(file.name) && err.includes("side file unreadable"), true, err);
    const report = await broken.repair();
    assertEquals(report.movedFiles, [file.name]);
    assertEquals(report.dropped.map((d) => d.labels), [LABELS]);
    assertEquals(broken.sideSeries().length, 0);
    assertEquals(broken.series().length, 1); // the float series is untouched
    await broken.close();
    assertEquals(Deno.statSync(`${dir}/damaged/${file.name}`).isFile, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("side files: a reader whose index lists files a merge deleted re-reads the index", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-side-race-" });
  try {
    const hs = histogramSeries(1_700_000_000_000, 16);
    const writer = await Store.open(dir);
    for (const h of hs.slice(0, 15)) {
      writer.appendHistograms(LABELS, [h]);
      await writer.commit();
    }
    const reader = await Store.open(dir, { readOnly: true });
    assertEquals(reader.stats().sideFiles, 15);
    writer.appendHistograms(LABELS, [hs[15]]);
    await writer.commit(); // the 16th small file: all merged, the 15 deleted
    assertEquals(writer.stats().sideFiles, 1);
    const [s] = reader.sideSeries(); // still the old list
    const back = await reader.readSide(s.id);
    assertEquals(back.histograms.length, 16);
    await writer.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
