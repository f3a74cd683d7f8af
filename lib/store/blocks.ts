/**
 * Operations on blocks of samples (timestamps and bit-exact values) that the store's buffering,
 * packing, verification and compaction share: sorting, splitting at long gaps, merging, and
 * comparing bit for bit.
 *
 * @module
 */
import type { SampleBlock } from "./segment.ts";
import { MAX_GAP_MS } from "./timestamps.ts";

/** Sorts samples by timestamp, stable (ties keep arrival order), copying value bits exactly. */
export function sortSamples(ts: Float64Array, words: Uint32Array, n: number): void {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => ts[a] - ts[b] || a - b);
  const ts2 = ts.slice(0, n);
  const words2 = words.slice(0, 2 * n);
  for (let i = 0; i < n; i++) {
    const j = order[i];
    ts[i] = ts2[j];
    words[2 * i] = words2[2 * j];
    words[2 * i + 1] = words2[2 * j + 1];
  }
}

/** Splits a sorted block where consecutive timestamps are more than {@linkcode MAX_GAP_MS} apart. */
export function splitAtGaps(block: SampleBlock): SampleBlock[] {
  const ts = block.timestampsMs;
  if (ts.length < 2 || ts[ts.length - 1] - ts[0] <= MAX_GAP_MS) return [block]; // no gap possible
  const out: SampleBlock[] = [];
  let start = 0;
  for (let i = 1; i <= ts.length; i++) {
    if (i === ts.length || ts[i] - ts[i - 1] > MAX_GAP_MS) {
      out.push({ timestampsMs: ts.subarray(start, i), values: block.values.subarray(start, i) });
      start = i;
    }
  }
  return out;
}

/** Samples in blocks. */
export function encodedSamples(blocks: SampleBlock[]): number {
  let n = 0;
  for (const b of blocks) n += b.timestampsMs.length;
  return n;
}

/** Index of the first sample whose timestamp or value bits differ, or -1 when identical. */
export function firstMismatch(ts: Float64Array, values: Float64Array, block: SampleBlock): number {
  const n = ts.length;
  if (block.timestampsMs.length !== n) return Math.min(n, block.timestampsMs.length);
  const a = new Uint32Array(values.buffer, values.byteOffset, n * 2);
  const b = new Uint32Array(block.values.buffer, block.values.byteOffset, n * 2);
  for (let i = 0; i < n; i++) {
    if (ts[i] !== block.timestampsMs[i] || a[2 * i] !== b[2 * i] || a[2 * i + 1] !== b[2 * i + 1]) {
      return i;
    }
  }
  return -1;
}

/** Whether the blocks are in increasing commit order and each starts at or after the last ends. */
function inOrder(blocks: SampleBlock[], orders: number[]): boolean {
  let lastTs = -Infinity;
  for (let i = 0; i < blocks.length; i++) {
    if (i > 0 && orders[i] <= orders[i - 1]) return false;
    const ts = blocks[i].timestampsMs;
    if (!ts.length) continue;
    if (ts[0] < lastTs) return false;
    lastTs = ts[ts.length - 1];
  }
  return true;
}

/** Merges blocks into one sorted block; ties ordered by the blocks' commit order. */
export function mergeBlocks(blocks: SampleBlock[], orders: number[]): SampleBlock {
  let n = 0;
  for (const b of blocks) n += b.timestampsMs.length;
  if (inOrder(blocks, orders)) {
    // Blocks one after the other in time and in commit order (what compaction merges): their
    // concatenation (`set` copies the values' bits as they are).
    const ts = new Float64Array(n);
    const values = new Float64Array(n);
    let k = 0;
    for (const b of blocks) {
      ts.set(b.timestampsMs, k);
      values.set(b.values, k);
      k += b.timestampsMs.length;
    }
    return { timestampsMs: ts, values };
  }
  const ts = new Float64Array(n);
  const vals = new Float64Array(n);
  const words = new Uint32Array(vals.buffer);
  const rank = new Float64Array(n);
  let k = 0;
  for (let bi = 0; bi < blocks.length; bi++) {
    const b = blocks[bi];
    const w = new Uint32Array(b.values.buffer, b.values.byteOffset, b.values.length * 2);
    for (let i = 0; i < b.timestampsMs.length; i++, k++) {
      ts[k] = b.timestampsMs[i];
      words[2 * k] = w[2 * i];
      words[2 * k + 1] = w[2 * i + 1];
      rank[k] = orders[bi] * 2 ** 32 + i;
    }
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => ts[a] - ts[b] || rank[a] - rank[b]);
  const outTs = new Float64Array(n);
  const outVals = new Float64Array(n);
  const outWords = new Uint32Array(outVals.buffer);
  for (let i = 0; i < n; i++) {
    const j = order[i];
    outTs[i] = ts[j];
    outWords[2 * i] = words[2 * j];
    outWords[2 * i + 1] = words[2 * j + 1];
  }
  return { timestampsMs: outTs, values: outVals };
}
