/**
 * Idempotent ingest: before a run of samples is packed into a file, the samples the store
 * already holds — same series, same timestamp, same value bits — are taken out, so that running
 * an ingest again, or a remote-write request retried after a lost 204, stores nothing twice.
 *
 * Only runs whose time span overlaps a committed range of their series are checked (the common
 * case, samples after a series' last stored one, costs one comparison per committed range). A
 * sample whose timestamp is stored with other value bits is kept (the store keeps every distinct
 * sample; readers see them in commit order) and counted as conflicting.
 *
 * @module
 */
import { splitAtGaps } from "./blocks.ts";
import type { Run } from "./buffers.ts";
import { EventLoopPacer } from "../sleep.ts";
import type { CommittedIndex } from "./committed.ts";
import type { SegmentReader } from "./reads.ts";

/** What {@linkcode dedupeRuns} found. */
export interface DedupeCounts {
  /** Samples left out: already stored with the same value bits. */
  duplicates: number;
  /** Samples kept whose timestamp is stored with other value bits. */
  conflicts: number;
}

/** The committed samples of one series in a time window, sorted, value bits as words. */
interface Window {
  ts: Float64Array;
  words: Uint32Array;
}

async function committedWindow(
  reader: SegmentReader,
  id: string,
  startMs: number,
  endMs: number,
): Promise<Window> {
  const parts: { ts: ArrayLike<number>; words: Uint32Array }[] = [];
  let n = 0;
  for await (const b of reader.read(id, startMs, endMs)) {
    const v = b.values;
    parts.push({
      ts: b.timestampsMs,
      words: new Uint32Array(v.buffer, v.byteOffset, v.length * 2),
    });
    n += b.timestampsMs.length;
  }
  const ts = new Float64Array(n);
  const words = new Uint32Array(2 * n);
  let at = 0;
  for (const p of parts) {
    for (let i = 0; i < p.ts.length; i++, at++) {
      ts[at] = p.ts[i];
      words[2 * at] = p.words[2 * i];
      words[2 * at + 1] = p.words[2 * i + 1];
    }
  }
  return { ts, words };
}

/**
 * Takes out of `runs` the samples already committed (see the module doc); returns the runs
 * left (empty ones dropped) and adds what it found to `counts`.
 */
export async function dedupeRuns(
  runs: Run[],
  committed: CommittedIndex,
  reader: SegmentReader,
  counts: DedupeCounts,
): Promise<Run[]> {
  const out: Run[] = [];
  const pacer = new EventLoopPacer();
  for (const run of runs) {
    const pause = pacer.tick(); // a commit of a million series leaves the server answering
    if (pause) await pause;
    const ts = run.block.timestampsMs;
    const n = ts.length;
    const series = committed.seriesById(run.id);
    if (n === 0 || !series) {
      if (n > 0) out.push(run);
      continue;
    }
    const lo = ts[0];
    const hi = ts[n - 1];
    let overlaps = false;
    for (let k = 0; k < series.rangeCount; k++) {
      if (series.rangeMaxTs(k) >= lo && series.rangeMinTs(k) <= hi) {
        overlaps = true;
        break;
      }
    }
    if (!overlaps) {
      out.push(run);
      continue;
    }
    const have = await committedWindow(reader, run.id, lo, hi);
    const v = run.block.values;
    const words = new Uint32Array(v.buffer, v.byteOffset, n * 2);
    const keep = new Uint8Array(n);
    let kept = 0;
    let j = 0;
    for (let i = 0; i < n; i++) {
      const t = ts[i];
      while (j < have.ts.length && have.ts[j] < t) j++;
      let sameTs = false;
      let same = false;
      for (let k = j; k < have.ts.length && have.ts[k] === t; k++) {
        sameTs = true;
        if (have.words[2 * k] === words[2 * i] && have.words[2 * k + 1] === words[2 * i + 1]) {
          same = true;
          break;
        }
      }
      if (same) {
        counts.duplicates++;
        continue;
      }
      if (sameTs) counts.conflicts++;
      keep[i] = 1;
      kept++;
    }
    if (kept === n) {
      out.push(run);
      continue;
    }
    if (kept === 0) continue;
    const keptTs = new Float64Array(kept);
    const keptValues = new Float64Array(kept);
    const keptWords = new Uint32Array(keptValues.buffer);
    let k = 0;
    for (let i = 0; i < n; i++) {
      if (!keep[i]) continue;
      keptTs[k] = ts[i];
      keptWords[2 * k] = words[2 * i];
      keptWords[2 * k + 1] = words[2 * i + 1];
      k++;
    }
    // Samples taken out of the middle can leave a gap too long for one range: split again.
    for (const part of splitAtGaps({ timestampsMs: keptTs, values: keptValues })) {
      out.push({
        id: run.id,
        key: run.key,
        labels: run.labels,
        block: part,
        samples: part.timestampsMs.length,
      });
    }
  }
  return out;
}
