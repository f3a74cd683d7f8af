/**
 * The in-memory side of a store writer: one growable buffer per series taking appended samples
 * (bit-exact values, arrival order), cut into sorted runs (split at long gaps) that wait to be
 * packed into files. Counts the bytes it holds, the quantity `memoryBudgetBytes` bounds.
 *
 * @module
 */
import { Float64Slab } from "../bytes.ts";
import type { LabelPairs } from "../model/labels.ts";
import { EventLoopPacer } from "../sleep.ts";
import { sortSamples, splitAtGaps } from "./blocks.ts";
import { pairsKey, seriesId } from "./index_file.ts";
import type { SampleBlock } from "./segment.ts";

/** Labels sorted by name (the same array when they already are). */
export function sortPairs(labels: LabelPairs): LabelPairs {
  for (let i = 1; i < labels.length; i++) {
    if (labels[i - 1][0] > labels[i][0]) {
      return [...labels].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    }
  }
  return labels;
}

/** Label names whose last pair {@linkcode SeriesBuffers} keeps for sharing (bounded memory). */
const MAX_SHARED_NAMES = 1024;

/** Samples a buffer holds when it first gets samples (small: a store may hold a million series). */
const INITIAL_CAPACITY = 4;

const EMPTY_F64 = new Float64Array(0);
const EMPTY_U32 = new Uint32Array(0);

/** Small sample arrays of buffers and cut runs: views of shared slabs (see `Float64Slab`). */
const slabTs = new Float64Slab();
const slabValues = new Float64Slab();
const slab = {
  take: (n: number) => ({ timestampsMs: slabTs.take(n), values: slabValues.take(n) }),
};

/**
 * The in-memory tail of one series, before it is cut into a range. An empty buffer holds no
 * arrays (a series idle since the last commit costs only its labels and id).
 */
class SeriesBuffer {
  readonly id: string;
  readonly key: string;
  readonly labels: LabelPairs;
  timestampsMs: Float64Array = EMPTY_F64;
  values: Float64Array = EMPTY_F64;
  words: Uint32Array = EMPTY_U32;
  length = 0;
  sorted = true;
  /** Listed among the buffers a commit cuts. */
  dirty = false;
  constructor(key: string, labels: LabelPairs) {
    this.key = key;
    this.id = seriesId(key);
    this.labels = labels;
  }
  get capacity(): number {
    return this.timestampsMs.length;
  }
  /** Doubles the capacity (or gives the first arrays); returns the bytes added. */
  grow(): number {
    const before = this.capacity;
    const after = Math.max(INITIAL_CAPACITY, before * 2);
    const { timestampsMs: ts, values: vals } = slab.take(after);
    ts.set(this.timestampsMs);
    const words = new Uint32Array(vals.buffer, vals.byteOffset, after * 2);
    words.set(this.words);
    this.timestampsMs = ts;
    this.values = vals;
    this.words = words;
    return (after - before) * 16;
  }
  /** Empties the buffer and lets its arrays go; returns the bytes freed. */
  reset(): number {
    const freed = this.capacity * 16;
    this.timestampsMs = EMPTY_F64;
    this.values = EMPTY_F64;
    this.words = EMPTY_U32;
    this.length = 0;
    this.sorted = true;
    return freed;
  }
}

/** Sorted samples of one series waiting to be written into a file. */
export interface Run {
  id: string;
  key: string;
  labels: LabelPairs;
  /** The samples (for a {@linkcode OneSampleRun}, views made when asked). */
  readonly block: SampleBlock;
  /** Samples in the run (without making the block). */
  readonly samples: number;
}

/**
 * A run of one sample kept in the shared slabs, with no arrays of its own until it is packed: a
 * request of a million one-sample series made two views and a block object for each (230 bytes a
 * run, most of the garbage of appending them).
 */
class OneSampleRun implements Run {
  readonly samples = 1;
  #ts: Float64Array;
  #values: Float64Array;
  #at: number;
  /** A run of sample `at` of the slabs `ts` and `values`. */
  constructor(
    readonly id: string,
    readonly key: string,
    readonly labels: LabelPairs,
    ts: Float64Array,
    values: Float64Array,
    at: number,
  ) {
    this.#ts = ts;
    this.#values = values;
    this.#at = at;
  }
  get block(): SampleBlock {
    const at = this.#at;
    return {
      timestampsMs: this.#ts.subarray(at, at + 1),
      values: this.#values.subarray(at, at + 1),
    };
  }
}

/** The series buffers and cut runs of one writer (see the module doc). */
export class SeriesBuffers {
  #buffers = new Map<string, SeriesBuffer>();
  /**
   * Buffers that got samples since they were last cut (some may have been cut since): what a
   * commit cuts, without a walk over every series the writer has seen (a million idle ones made
   * a 1-sample commit take 30 ms).
   */
  #dirty: SeriesBuffer[] = [];
  /** Buffers that reached `maxSegmentSamples` through `appendSample` (cut by `cutFull`). */
  #full: SeriesBuffer[] = [];
  #runs: Run[] = [];
  /** The last label pair seen of each name (see `#sharePairs`). */
  #lastPairs = new Map<string, [string, string]>();
  #runSamples = 0;
  #bytes = 0;
  #maxSegmentSamples: number;

  /** Buffers cut into a run once they hold `maxSegmentSamples`. */
  constructor(maxSegmentSamples: number) {
    this.#maxSegmentSamples = maxSegmentSamples;
  }

  /** Bytes held by series buffers and cut runs. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Samples cut into runs, not yet taken. */
  get runSamples(): number {
    return this.#runSamples;
  }

  /** Samples buffered or cut, not yet written to files. */
  get samples(): number {
    let n = this.#runSamples;
    for (const b of this.#dirty) n += b.length;
    return n;
  }

  #buffer(labels: LabelPairs, key?: string): SeriesBuffer {
    key ??= pairsKey(labels);
    let b = this.#buffers.get(key);
    if (!b) {
      b = new SeriesBuffer(key, sortPairs(labels));
      this.#buffers.set(key, b);
    }
    if (b.length === 0 && !b.dirty) {
      b.dirty = true;
      this.#dirty.push(b);
    }
    return b;
  }

  /** Buffers one sample (see `Store.appendSample`). */
  appendSample(
    labels: LabelPairs,
    timestampMs: number,
    value: number,
    nanBits?: string,
    key?: string,
  ): void {
    const b = this.#buffer(labels, key);
    if (b.length === b.capacity) this.#bytes += b.grow();
    const i = b.length++;
    if (b.length === this.#maxSegmentSamples) this.#full.push(b);
    if (i > 0 && timestampMs < b.timestampsMs[i - 1]) b.sorted = false;
    b.timestampsMs[i] = timestampMs;
    if (value === value || nanBits === undefined) b.values[i] = value;
    else {
      b.words[2 * i + 1] = parseInt(nanBits.slice(0, 8), 16);
      b.words[2 * i] = parseInt(nanBits.slice(8, 16), 16);
    }
  }

  /** Buffers samples of one series (values bit-exact); a buffer reaching the limit is cut. */
  append(
    labels: LabelPairs,
    timestampsMs: ArrayLike<number>,
    values: Float64Array,
    key?: string,
  ): void {
    if (timestampsMs.length !== values.length) {
      throw new RangeError(
        `append needs as many timestamps as values (got ${timestampsMs.length} and ${values.length})`,
      );
    }
    const b = this.#buffer(labels, key);
    const src = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
    for (let j = 0; j < values.length; j++) {
      if (b.length === b.capacity) this.#bytes += b.grow();
      const i = b.length++;
      const t = timestampsMs[j];
      if (!Number.isSafeInteger(t)) {
        b.length--;
        throw new RangeError(`timestamps must be integer ms (got ${t})`);
      }
      if (i > 0 && t < b.timestampsMs[i - 1]) b.sorted = false;
      b.timestampsMs[i] = t;
      b.words[2 * i] = src[2 * j];
      b.words[2 * i + 1] = src[2 * j + 1];
      if (b.length >= this.#maxSegmentSamples) this.#cut(b);
    }
  }

  /**
   * Adds the samples of one series as a run of their own, waiting for a file, without a
   * buffer for the series (see `Store.appendRun`). When the series has samples buffered, they
   * are appended to the buffer instead (so they stay in one range).
   */
  appendRun(labels: LabelPairs, timestampsMs: ArrayLike<number>, values: Float64Array): void {
    const n = timestampsMs.length;
    if (n !== values.length) {
      throw new RangeError(
        `append needs as many timestamps as values (got ${n} and ${values.length})`,
      );
    }
    if (n === 0) return;
    const key = pairsKey(labels);
    const buffered = this.#buffers.get(key);
    if (buffered && buffered.length > 0) {
      this.append(labels, timestampsMs, values, key);
      return;
    }
    if (n === 1 && this.#oneSample(labels, key, buffered, timestampsMs[0], values)) return;
    const block = slab.take(n);
    const ts = block.timestampsMs;
    let sorted = true;
    for (let i = 0; i < n; i++) {
      const t = timestampsMs[i];
      if (!Number.isSafeInteger(t)) {
        throw new RangeError(`timestamps must be integer ms (got ${t})`);
      }
      if (i > 0 && t < ts[i - 1]) sorted = false;
      ts[i] = t;
    }
    block.values.set(values);
    if (!sorted) {
      const words = new Uint32Array(block.values.buffer, block.values.byteOffset, n * 2);
      sortSamples(ts, words, n);
    }
    const id = buffered?.id ?? seriesId(key);
    const sortedLabels = buffered?.labels ?? this.#sharePairs(sortPairs(labels));
    for (const part of splitAtGaps(block)) {
      this.#runs.push({
        id,
        key,
        labels: sortedLabels,
        block: part,
        samples: part.timestampsMs.length,
      });
    }
    this.#runSamples += n;
    this.#bytes += n * 16;
  }

  /** {@linkcode appendRun} of one sample, kept in the slabs (see `OneSampleRun`). */
  #oneSample(
    labels: LabelPairs,
    key: string,
    buffered: SeriesBuffer | undefined,
    t: number,
    values: Float64Array,
  ): boolean {
    if (!Number.isSafeInteger(t)) throw new RangeError(`timestamps must be integer ms (got ${t})`);
    const at = slabTs.reserveOne();
    if (slabValues.reserveOne() !== at) return false; // the slabs always move in step
    const ts = slabTs.current;
    const vals = slabValues.current;
    ts[at] = t;
    vals.set(values, at); // the value's bits as they are
    const id = buffered?.id ?? seriesId(key);
    const sortedLabels = buffered?.labels ?? this.#sharePairs(sortPairs(labels));
    this.#runs.push(new OneSampleRun(id, key, sortedLabels, ts, vals, at));
    this.#runSamples += 1;
    this.#bytes += 16;
    return true;
  }

  /**
   * `labels` with each pair that equals the last pair seen of its name replaced by that pair
   * (a copy of the array when any is): consecutive series of a request repeat `__name__`, `job`
   * and `instance`, and their index entries then share one array per pair instead of a million.
   */
  #sharePairs(labels: LabelPairs): LabelPairs {
    let out: LabelPairs | undefined;
    for (let i = 0; i < labels.length; i++) {
      const pair = labels[i];
      const last = this.#lastPairs.get(pair[0]);
      if (last === pair) continue;
      if (last !== undefined && last[1] === pair[1]) (out ??= labels.slice())[i] = last;
      else {
        if (this.#lastPairs.size >= MAX_SHARED_NAMES) this.#lastPairs.clear();
        this.#lastPairs.set(pair[0], pair);
      }
    }
    return out ?? labels;
  }

  /** Cuts every buffer that reached `maxSegmentSamples` (only those: no walk over all series). */
  cutFull(): void {
    const full = this.#full;
    this.#full = [];
    for (const b of full) {
      if (b.length >= this.#maxSegmentSamples) this.#cut(b);
    }
  }

  /** Cuts every buffer, pausing for the event loop every few ms (a million series take seconds). */
  async cutAll(): Promise<void> {
    const pacer = new EventLoopPacer();
    const dirty = this.#dirty;
    this.#dirty = [];
    for (const b of dirty) {
      b.dirty = false;
      this.#cut(b);
      const pause = pacer.tick();
      if (pause) await pause;
    }
  }

  /**
   * Cuts the largest buffers until at most `targetBytes` are held, calling `onRunsDue` whenever
   * the cut runs reach `maxSegmentSamples`.
   */
  async cutLargest(targetBytes: number, onRunsDue: () => Promise<void>): Promise<void> {
    const bySize = this.#dirty.filter((b) => b.length > 0).sort((a, b) => b.length - a.length);
    for (const b of bySize) {
      if (this.#bytes <= targetBytes) break;
      this.#cut(b);
      if (this.#runSamples >= this.#maxSegmentSamples) await onRunsDue();
    }
  }

  /** Forgets empty buffers (idle series), to bound the map too. */
  dropEmpty(): void {
    for (const [key, b] of this.#buffers) {
      if (b.length === 0) {
        this.#bytes -= b.capacity * 16;
        this.#buffers.delete(key);
      }
    }
  }

  /** Moves a buffer's samples (sorted, split at long gaps) to the runs waiting for a file. */
  #cut(b: SeriesBuffer): void {
    const n = b.length;
    if (n === 0) return;
    if (!b.sorted) sortSamples(b.timestampsMs, b.words, n);
    const block = slab.take(n);
    block.timestampsMs.set(b.timestampsMs.subarray(0, n));
    block.values.set(b.values.subarray(0, n));
    for (const part of splitAtGaps(block)) {
      this.#runs.push({
        id: b.id,
        key: b.key,
        labels: b.labels,
        block: part,
        samples: part.timestampsMs.length,
      });
    }
    this.#runSamples += n;
    this.#bytes += n * 16;
    this.#bytes -= b.reset();
  }

  /** Takes the cut runs; their bytes count until {@linkcode release} says they are written. */
  takeRuns(): { runs: Run[]; samples: number } {
    const out = { runs: this.#runs, samples: this.#runSamples };
    this.#runs = [];
    this.#runSamples = 0;
    return out;
  }

  /** The runs of `samples` taken earlier are written: their bytes no longer count. */
  release(samples: number): void {
    this.#bytes -= samples * 16;
  }
}
