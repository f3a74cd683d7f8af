import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { type LabelPairs, type SampleBlock, SEGMENTS_DIR, Store } from "./mod.ts";

const CPU: LabelPairs = [["__name__", "cpu_percent"], ["host", "a"]];
const POWER: LabelPairs = [["__name__", "gpu_power_watts"], ["gpu", "0"]];

function bits(values: Float64Array): string[] {
  const w = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
  const out: string[] = [];
  for (let i = 0; i < values.length; i++) {
    out.push(w[2 * i + 1].toString(16).padStart(8, "0") + w[2 * i].toString(16).padStart(8, "0"));
  }
  return out;
}

function fromBits(hex: string): number[] {
  const f = new Float64Array(1);
  const w = new Uint32Array(f.buffer);
  w[1] = parseInt(hex.slice(0, 8), 16);
  w[0] = parseInt(hex.slice(8), 16);
  return Array.from(f);
}

async function readAll(
  store: Store,
  labels: LabelPairs,
  startMs?: number,
  endMs?: number,
): Promise<{ ts: number[]; bits: string[] }> {
  const info = store.series((l) => JSON.stringify(l) === JSON.stringify(labels));
  const ts: number[] = [];
  const b: string[] = [];
  for (const s of info) {
    for await (const block of store.read(s.id, startMs, endMs) as AsyncGenerator<SampleBlock>) {
      ts.push(...block.timestampsMs);
      b.push(...bits(block.values));
    }
  }
  return { ts, bits: b };
}

Deno.test("store: append, commit, read back bit-exact with specials", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-store-" });
  try {
    const store = await Store.open(dir);
    const values = new Float64Array([12.5, 13.25, -0, Infinity, -Infinity, 5e-324, 14]);
    const nan = new Float64Array(1);
    new Uint32Array(nan.buffer).set([2, 0x7ff00000]); // StaleNaN
    const all = new Float64Array(values.length + 1);
    all.set(values);
    new Uint32Array(all.buffer).set(new Uint32Array(nan.buffer), values.length * 2);
    const ts = Array.from({ length: all.length }, (_, i) => 1_700_000_000_000 + i * 1000);
    await store.append(CPU, ts, all);
    store.appendSample(POWER, 1_700_000_000_000, 69.85);
    const r = await store.commit();
    assertEquals(r.segments, 1); // both series packed into one file
    assertEquals(r.ranges, 2);
    assertEquals(r.samples, all.length + 1);
    const back = await readAll(store, CPU);
    assertEquals(back.ts, ts);
    assertEquals(back.bits, bits(all));
    const other = await Store.open(dir, { readOnly: true });
    assertEquals((await readAll(other, POWER)).ts, [1_700_000_000_000]);
    assertEquals(other.stats().samples, all.length + 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: out-of-order and duplicate timestamps are sorted stably and kept", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-store-" });
  try {
    const store = await Store.open(dir, { blockSize: 16 });
    const ts = [5000, 1000, 3000, 3000, 2000, 3000];
    const vals = new Float64Array([5, 1, 3.1, 3.2, 2, 3.3]);
    await store.append(CPU, ts, vals);
    await store.commit();
    // A later commit overlapping in time: merged at read, ties after the earlier commit.
    await store.append(CPU, [3000, 6000], new Float64Array([3.4, 6]));
    await store.commit();
    const back = await readAll(store, CPU);
    assertEquals(back.ts, [1000, 2000, 3000, 3000, 3000, 3000, 5000, 6000]);
    assertEquals(
      back.bits,
      bits(new Float64Array([1, 2, 3.1, 3.2, 3.3, 3.4, 5, 6])),
    );
    const range = await readAll(store, CPU, 2500, 5000);
    assertEquals(range.ts, [3000, 3000, 3000, 3000, 5000]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: range reads decode only covering frames and stay exact", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-store-" });
  try {
    const store = await Store.open(dir, { blockSize: 16, maxSegmentSamples: 100 });
    const n = 1000;
    const ts: number[] = [];
    const vals = new Float64Array(n);
    let t = 1_000_000;
    for (let i = 0; i < n; i++) {
      t += i % 7 === 0 ? 0 : 1000 + (i % 5);
      ts.push(t);
      vals[i] = i % 50 === 0 ? fromBits("7ff8000000000001")[0] : Math.round(i * 1.7) / 100;
    }
    // The NaN above lost its payload in a plain array: write Prometheus' NaN bits directly.
    const w = new Uint32Array(vals.buffer);
    for (let i = 0; i < n; i += 50) w.set([1, 0x7ff80000], 2 * i);
    await store.append(CPU, ts, vals);
    await store.commit();
    assertEquals(store.stats().segments, 10);
    for (const [a, b] of [[0, 0], [3, 40], [95, 105], [17, 999], [500, 500], [0, 999]]) {
      const back = await readAll(store, CPU, ts[a], ts[b]);
      const lo = ts.indexOf(ts[a]);
      const hi = ts.lastIndexOf(ts[b]) + 1;
      assertEquals(back.ts, ts.slice(lo, hi), `range ${a}..${b}`);
      assertEquals(back.bits, bits(vals.subarray(lo, hi)), `range ${a}..${b}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: the memory budget cuts segments and bounds buffers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-store-" });
  try {
    const budget = 64 * 1024;
    const store = await Store.open(dir, { memoryBudgetBytes: budget });
    let maxBuffered = 0;
    for (let i = 0; i < 20_000; i++) {
      for (let s = 0; s < 5; s++) {
        store.appendSample([["__name__", "m"], ["s", String(s)]], i * 1000, i * s);
      }
      if (i % 100 === 0) {
        await store.flushDue();
        maxBuffered = Math.max(maxBuffered, store.bufferedBytes);
      }
    }
    await store.commit();
    assert(maxBuffered <= budget * 2, `buffered ${maxBuffered} bytes`);
    assert(store.stats().segments > 5, `${store.stats().segments} segments`);
    assertEquals(store.stats().samples, 100_000);
    const back = await readAll(store, [["__name__", "m"], ["s", "3"]]);
    assertEquals(back.ts.length, 20_000);
    assertEquals(
      back.bits,
      bits(new Float64Array(Array.from({ length: 20_000 }, (_, i) => i * 3))),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: uncommitted segments are invisible; readers refresh to see commits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-store-" });
  try {
    const writer = await Store.open(dir, { maxSegmentSamples: 10 });
    const reader = await Store.open(dir, { readOnly: true });
    await writer.append(CPU, Array.from({ length: 25 }, (_, i) => i), new Float64Array(25));
    let files = 0;
    for await (const e of Deno.readDir(`${dir}/${SEGMENTS_DIR}`)) {
      if (e.name.endsWith(".flac")) files++;
    }
    assertEquals(files, 2); // two full segments written, not committed
    await reader.refresh();
    assertEquals(reader.series().length, 0);
    await writer.commit();
    assert(await reader.refresh());
    assertEquals(reader.stats().samples, 25);
    assertEquals((await readAll(reader, CPU)).ts.length, 25);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: a snapshot of many one-sample series packs into one file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-store-" });
  try {
    const store = await Store.open(dir);
    const n = 3000;
    for (let s = 0; s < n; s++) {
      store.appendSample(
        [["__name__", `m${s % 10}`], ["gpu", String(s % 8)], ["host", `h${Math.floor(s / 8)}`]],
        1_752_871_354_000 + (s % 4) * 1000,
        s % 3 === 0 ? s / 1000 : s,
      );
    }
    const r = await store.commit();
    assertEquals(r.segments, 1);
    assertEquals(r.ranges, n);
    let files = 0;
    for await (const e of Deno.readDir(`${dir}/${SEGMENTS_DIR}`)) {
      if (e.name.endsWith(".flac")) files++;
    }
    assertEquals(files, 1);
    const reader = await Store.open(dir, { readOnly: true });
    assertEquals(reader.stats().samples, n);
    for (const s of [0, 1, 17, 1234, 2999]) {
      const back = await readAll(
        reader,
        [["__name__", `m${s % 10}`], ["gpu", String(s % 8)], ["host", `h${Math.floor(s / 8)}`]],
      );
      assertEquals(back.ts, [1_752_871_354_000 + (s % 4) * 1000]);
      assertEquals(back.bits, bits(new Float64Array([s % 3 === 0 ? s / 1000 : s])));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: a writer deletes orphan files of dead writers, keeps live writers' files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-store-" });
  const flacs = async () => {
    const out: string[] = [];
    for await (const e of Deno.readDir(`${dir}/${SEGMENTS_DIR}`)) {
      if (e.name.endsWith(".flac")) out.push(e.name);
    }
    return out.sort();
  };
  try {
    const committed = await Store.open(dir, { maxSegmentSamples: 10 });
    await committed.append(CPU, [1, 2, 3], new Float64Array([1, 2, 3]));
    await committed.commit();
    const kept = await flacs();
    assertEquals(kept.length, 1);
    // A live writer with uncommitted files, and a dead one (its lock released).
    const live = await Store.open(dir, { maxSegmentSamples: 10 });
    await live.append(CPU, Array.from({ length: 20 }, (_, i) => 100 + i), new Float64Array(20));
    const dead = await Store.open(dir, { maxSegmentSamples: 10 });
    await dead.append(POWER, Array.from({ length: 20 }, (_, i) => 100 + i), new Float64Array(20));
    await dead.close();
    assertEquals((await flacs()).length, 5);
    const next = await Store.open(dir);
    const left = await flacs();
    assertEquals(left.length, 3, `left ${left}`); // the committed one and the live writer's two
    assert(kept.every((f) => left.includes(f)));
    await live.commit(); // the live writer's files were not touched
    await next.refresh();
    assertEquals(next.stats().samples, 23);
    assertEquals((await readAll(next, CPU)).ts.length, 23);
    assertEquals((await readAll(next, POWER)).ts.length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: many small commits are compacted at commit; ties keep commit order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-store-" });
  try {
    const store = await Store.open(dir, { compactMinDebt: 16, blockSize: 64 });
    const want = new Map<string, { ts: number[]; v: number[] }>();
    const series = Array.from(
      { length: 6 },
      (_, s): LabelPairs => [["__name__", "m"], ["s", `${s}`]],
    );
    let compactions = 0;
    for (let c = 0; c < 120; c++) {
      for (let s = 0; s < series.length; s++) {
        // Each commit repeats the previous commit's last timestamp: ties across ranges.
        const ts = [c * 10, c * 10 + 1, c * 10 + 2, c * 10 + 10];
        const v = ts.map((t, i) => t * 100 + s + i / 8);
        await store.append(series[s], ts, new Float64Array(v));
        const w = want.get(`${s}`) ?? { ts: [], v: [] };
        w.ts.push(...ts);
        w.v.push(...v);
        want.set(`${s}`, w);
      }
      const r = await store.commit();
      if (r.compaction) compactions++;
    }
    assert(compactions >= 3, `${compactions} compactions`);
    const stats = store.stats();
    assert(stats.ranges <= series.length * 12, `${stats.ranges} ranges after 120 commits`);
    assert(stats.segments <= 15, `${stats.segments} files after 120 commits`);
    let files = 0;
    for await (const e of Deno.readDir(`${dir}/${SEGMENTS_DIR}`)) {
      if (e.name.endsWith(".flac")) files++;
    }
    assertEquals(files, stats.segments); // replaced files are deleted
    const check = async (s: Store) => {
      for (let i = 0; i < series.length; i++) {
        const w = want.get(`${i}`)!;
        // Stable merge of equal timestamps in commit order = sort by ts, then arrival.
        const order = w.ts.map((_, k) => k).sort((a, b) => w.ts[a] - w.ts[b] || a - b);
        const back = await readAll(s, series[i]);
        assertEquals(back.ts, order.map((k) => w.ts[k]));
        assertEquals(back.bits, bits(new Float64Array(order.map((k) => w.v[k]))));
      }
    };
    await check(store);
    const full = await store.compact();
    assert(full.rangesIn > full.rangesOut);
    assertEquals(store.stats().ranges, series.length);
    await check(store);
    await check(await Store.open(dir, { readOnly: true }));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: a reader with an old index restarts a read whose files compaction deleted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-store-" });
  try {
    const writer = await Store.open(dir, { autoCompact: false });
    for (let c = 0; c < 10; c++) {
      await writer.append(CPU, [c * 1000, c * 1000 + 500], new Float64Array([c, c + 0.5]));
      await writer.commit();
    }
    const reader = await Store.open(dir, { readOnly: true });
    assertEquals(reader.series()[0].segments, 10);
    const r = await writer.compact();
    assertEquals([r.rangesIn, r.rangesOut, r.filesDeleted], [10, 1, 10]);
    // The reader has not refreshed: its index names deleted files.
    const back = await readAll(reader, CPU);
    assertEquals(back.ts.length, 20);
    assertEquals(reader.series()[0].segments, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: appendRun keeps NaN bits and sorts; a series with buffered samples stays one range", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-store-" });
  try {
    const store = await Store.open(dir);
    const values = new Float64Array([3, 1, 2]);
    new Uint32Array(values.buffer).set([2, 0x7ff00000], 2); // sample 1: StaleNaN
    const staleBits = bits(values)[1];
    await store.appendRun(
      [["gpu", "0"], ["__name__", "gpu_power_watts"]],
      [3000, 1000, 2000],
      values,
    );
    await store.append(CPU, [1000], new Float64Array([1]));
    await store.appendRun(CPU, [2000, 3000], new Float64Array([2, 3])); // buffered: joins it
    const r = await store.commit();
    assertEquals(r.ranges, 2);
    assertEquals(r.samples, 6);
    const power = await readAll(store, POWER);
    assertEquals(power.ts, [1000, 2000, 3000]);
    assertEquals(power.bits, [
      staleBits,
      bits(new Float64Array([2]))[0],
      bits(new Float64Array([3]))[0],
    ]);
    assertEquals((await readAll(store, CPU)).ts, [1000, 2000, 3000]);
    assertEquals(store.series().map((s) => s.segments).sort(), [1, 1]);
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: appendRun shares equal label pairs between series, never the caller's arrays", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-store-" });
  try {
    const store = await Store.open(dir);
    const given: [string, string][][] = [];
    for (const [job, id] of [["a", "1"], ["a", "2"], ["b", "3"], ["a", "4"]]) {
      const labels: [string, string][] = [["__name__", "up"], ["id", id], ["job", job]];
      given.push(labels);
      await store.appendRun(labels, [1000], new Float64Array([1]));
    }
    await store.commit();
    const byId = new Map(store.series().map((s) => [s.labels[1][1], s.labels]));
    // The labels read back are those given…
    for (const labels of given) assertEquals(byId.get(labels[1][1]), labels);
    // …and repeated pairs are one array: `__name__` everywhere, `job="a"` of consecutive series.
    const name = byId.get("1")![0];
    for (const id of ["2", "3", "4"]) assertEquals(byId.get(id)![0] === name, true);
    assertEquals(byId.get("2")![2] === byId.get("1")![2], true);
    // The caller's arrays are left as they were.
    assertEquals(given[1][0] === given[0][0], false);
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
