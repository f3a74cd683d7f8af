import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  decodeIndex,
  emptyIndex,
  encodeIndexAsync,
  pairsKey,
  SeriesEntry,
  seriesId,
} from "./index_file.ts";

Deno.test("index checkpoint: labels that look like numbers (and do not quite) come back as written", async () => {
  const index = emptyIndex();
  index.generation = 3;
  index.files.push({
    file: "a-1.flac",
    bytes: 100,
    count: 9,
    channels: 2,
    bps: 8,
    blockSize: 512,
    frames: [42],
  });
  const values = [
    "0",
    "9100",
    "007",
    "-1",
    "1e3",
    "4294967295",
    "123456789",
    "1234567890",
    "",
    "0.5",
  ];
  values.forEach((v, i) => {
    const labels: [string, string][] = [["__name__", "m"], ["v", v], ["w", "9100"]];
    index.series.push(SeriesEntry.withRanges(seriesId(pairsKey(labels)), labels, index.rangeTable, [
      {
        file: "a-1.flac",
        at: i,
        count: 1,
        minTs: 1000,
        maxTs: 1000,
        stepMs: 0,
        mode: "dec",
        scale: 0,
        ...(i === 0 ? { exceptions: [[0, "7ff0000000000002"]] as [number, string][] } : {}),
      },
    ]));
  });
  const back = decodeIndex(await encodeIndexAsync(index), "test");
  strictEqual(back.generation, 3);
  deepStrictEqual(back.files, index.files);
  deepStrictEqual(back.series.map((s) => s.labels), index.series.map((s) => s.labels));
  deepStrictEqual(back.series.map((s) => s.id), index.series.map((s) => s.id));
  deepStrictEqual(
    back.series.map((s) => s.ranges()),
    index.series.map((s) => s.ranges()),
  );
});
