import { deepStrictEqual } from "node:assert/strict";
import { mergeBlocks } from "./blocks.ts";
import type { SampleBlock } from "./segment.ts";

/** A block of timestamps whose values carry their block and position (and a NaN payload). */
function block(ts: number[], tag: number): SampleBlock {
  const values = new Float64Array(ts.length);
  const words = new Uint32Array(values.buffer);
  ts.forEach((_, i) => {
    words[2 * i] = tag * 1000 + i;
    words[2 * i + 1] = 0x7ff00000 | tag; // NaN with a payload: kept bit for bit
  });
  return { timestampsMs: Float64Array.from(ts), values };
}

/** What the merge must give: by timestamp, ties in commit order, then position. */
function expected(blocks: SampleBlock[], orders: number[]): [number, number, number][] {
  const all: [number, number, number, number][] = [];
  blocks.forEach((b, bi) => {
    const w = new Uint32Array(b.values.buffer, b.values.byteOffset, b.values.length * 2);
    b.timestampsMs.forEach((t, i) => all.push([t, orders[bi], i, w[2 * i]]));
  });
  all.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  return all.map(([t, , , w]) => [t, w, 0]);
}

function got(b: SampleBlock): [number, number, number][] {
  const w = new Uint32Array(b.values.buffer, b.values.byteOffset, b.values.length * 2);
  return Array.from(b.timestampsMs, (t, i) => [t, w[2 * i], 0]);
}

Deno.test("mergeBlocks: in time and commit order, out of order, overlapping, empty blocks between", () => {
  const cases: [number[][], number[]][] = [
    [[[1, 2], [3, 4], [4, 9]], [0, 1, 2]], // one after the other (a tie at 4 keeps commit order)
    [[[1, 2], [], [3]], [0, 1, 2]],
    [[[5, 6], [], [1, 2]], [0, 1, 2]], // an empty block between does not hide the disorder
    [[[1, 5], [2, 3]], [0, 1]], // overlapping
    [[[3, 4], [1, 2]], [1, 0]], // later commit first in the list
    [[[1, 2], [2, 3]], [1, 0]], // a tie resolved by commit order, not list order
  ];
  for (const [spans, orders] of cases) {
    const blocks = spans.map((ts, i) => block(ts, i + 1));
    const merged = mergeBlocks(blocks, orders);
    deepStrictEqual(got(merged), expected(blocks, orders), JSON.stringify(spans));
    // The high words (NaN payloads) come through too.
    const w = new Uint32Array(
      merged.values.buffer,
      merged.values.byteOffset,
      merged.values.length * 2,
    );
    for (let i = 0; i < merged.values.length; i++) deepStrictEqual(w[2 * i + 1] >>> 20, 0x7ff);
  }
});
