import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { gunzipSync, gzipSync } from "node:zlib";
import { asObjectCheckpoint } from "../../tests/support/old_checkpoint.ts";
import {
  decodeIndex,
  emptyIndex,
  encodeIndexAsync,
  pairsKey,
  SeriesEntry,
  seriesId,
} from "./index_file.ts";

/** An empty index at `generation` holding one file of `count` samples. */
function indexOfFile(generation: number, file: string, count: number) {
  const index = emptyIndex();
  index.generation = generation;
  index.files.push({ file, bytes: 100, count, channels: 2, bps: 8, blockSize: 512, frames: [42] });
  return index;
}

Deno.test("index checkpoint: labels that look like numbers (and do not quite) come back as written", async () => {
  const index = indexOfFile(3, "a-1.flac", 9);
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

Deno.test("index checkpoint: versions 2 to 4 (an object per series and range) read as version 5 does", async () => {
  const index = indexOfFile(9, "a.flac", 3000);
  const labels: [string, string][] = [["__name__", "m"], ["i", "7"]];
  const range = (at: number, extra = {}) => ({
    file: "a.flac",
    at,
    count: 1000,
    minTs: 1000 + at,
    maxTs: 2000 + at,
    stepMs: 1,
    mode: "dec2" as const,
    scale: 3,
    ...extra,
  });
  const ranges = [
    range(0, { seek: [1512] }),
    range(1000, {
      exceptions: [[5, "7ff0000000000002"]] as [number, string][],
      seek: [2024, 2536],
    }),
    range(2000),
  ];
  index.series.push(
    SeriesEntry.withRanges(seriesId(pairsKey(labels)), labels, index.rangeTable, ranges),
  );
  index.series.push(
    SeriesEntry.withRanges(seriesId("m"), [["__name__", "m"]], index.rangeTable, []),
  );
  const bytes = await encodeIndexAsync(index);
  const disk = JSON.parse(new TextDecoder().decode(gunzipSync(bytes)));
  strictEqual(disk.version, 5);
  for (const version of [2, 4, 5]) {
    const doc = version === 5 ? disk : asObjectCheckpoint(disk, version);
    const back = decodeIndex(gzipSync(new TextEncoder().encode(JSON.stringify(doc))), "t");
    strictEqual(back.version, version);
    deepStrictEqual(back.series.map((s) => [s.id, s.labels, s.ranges()]), [
      [index.series[0].id, labels, ranges],
      [index.series[1].id, [["__name__", "m"]], []],
    ]);
  }
  // Columns that do not fit together are refused, naming what.
  const bad = { ...disk, ranges: { ...disk.ranges, count: disk.ranges.count.slice(1) } };
  throws(
    () => decodeIndex(gzipSync(new TextEncoder().encode(JSON.stringify(bad))), "t"),
    /ranges.count is not an array of 3 numbers/,
  );
});
