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
