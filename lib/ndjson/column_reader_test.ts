import { assertEquals, assertMatch, assertRejects } from "../../tests/support/assert.ts";
import { seededRandom } from "../../tests/support/random.ts";
import { formatRecord } from "./contract.ts";
import { readNdjson, type ReadStats } from "./reader.ts";
import { type ReadColumnsOptions, readNdjsonColumns } from "./column_reader.ts";
import type { SampleColumns } from "./columns.ts";
import { InputError } from "../errors.ts";
import type { Labels, NdjsonRecord } from "../model/sample.ts";
import { readExactValue } from "../model/value.ts";

const OVERSIZED = '{"name":"m","timestamp":9,"value":1,"x":"' + "y".repeat((1 << 20) + 10) + '"}';
const KINDS = [
  () => '{"metadata":{"name":"m","type":"counter","unit":"joules","help":"h"}}',
  (i: number) => `{"name":"m","labels":{"a":"${i % 7}"},"timestamp":${i},"value":${i / 8}}`,
  (i: number) => `{"name":"n${i % 3}","timestamp":${i},"value":"StaleNaN"}`,
  (i: number) => `  {"value":${i},"timestamp":${i},"name":"m"}  `,
  (i: number) => `{"name":"m","labels":{"a":"é☃","b":"${i % 2}"},"timestamp":${i},"value":-0}`,
  (i: number) => `{"name":"bad name","timestamp":${i},"value":1}`,
  () => "not json",
  () => "",
  (i: number) => `{"name":"m","timestamp":${i},"value":"NaN"}\r`,
  () => OVERSIZED,
  () => OVERSIZED + "\r",
];

/** Random NDJSON text: mostly good lines, some of every other kind. */
function randomText(random: () => number, lines: number, bom: boolean): Uint8Array {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const r = random();
    const kind = r < 0.6
      ? 1
      : r < 0.995
      ? 1 + Math.floor(random() * 8)
      : KINDS.length - 1 - Math.floor(random() * 2);
    out.push(KINDS[kind](i));
  }
  const text = (bom ? "\ufeff" : "") + out.join("\n") + (random() < 0.5 ? "\n" : "");
  return new TextEncoder().encode(text);
}

function chunked(bytes: Uint8Array, random: () => number, maxChunk: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const len = 1 + Math.floor(random() * maxChunk);
    chunks.push(bytes.slice(at, at + len));
    at += len;
  }
  return chunks;
}

/** The records of a run of columns, rebuilt (series by parser id) and formatted. */
class Rebuilt {
  records: string[] = [];
  #defs = new Map<number, { name: string; labels: Labels }[]>();

  add(c: SampleColumns): void {
    if (c.reset || !this.#defs.has(c.parser)) this.#defs.set(c.parser, []);
    const defs = this.#defs.get(c.parser)!;
    defs.push(...c.newSeries);
    const view = new DataView(c.values.buffer, c.values.byteOffset, c.values.byteLength);
    let m = 0;
    for (let i = 0; i <= c.count; i++) {
      while (m < c.metadata.length && c.metadata[m].at <= i) {
        this.records.push(formatRecord(c.metadata[m++].record));
      }
      if (i === c.count) break;
      const { name, labels } = defs[c.seriesIds[i]];
      const record: NdjsonRecord = {
        kind: "sample",
        name,
        labels,
        timestampMs: c.timestampsMs[i],
        ...readExactValue(view, i * 8, true),
      };
      this.records.push(formatRecord(record));
    }
  }
}

async function viaRecords(chunks: Uint8Array[][], strict: boolean) {
  const stats: ReadStats = { lines: 0, badLines: 0, bytes: 0 };
  const records: string[] = [];
  const bad: string[] = [];
  const sources = chunks.map((c, i) => ({ name: `in${i}`, stream: ReadableStream.from(c) }));
  let error: string | undefined;
  try {
    for await (const b of readNdjson(sources, stats, { strict, onBadLine: (m) => bad.push(m) })) {
      records.push(...b.map(formatRecord));
    }
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    error = `${err.where}: ${err.message}`;
  }
  return { records, bad, stats, error };
}

async function viaColumns(chunks: Uint8Array[][], options: ReadColumnsOptions) {
  const stats: ReadStats = { lines: 0, badLines: 0, bytes: 0 };
  const rebuilt = new Rebuilt();
  const bad: string[] = [];
  const sources = chunks.map((c, i) => ({ name: `in${i}`, stream: ReadableStream.from(c) }));
  let error: string | undefined;
  try {
    await readNdjsonColumns(sources, stats, (c) => rebuilt.add(c), {
      ...options,
      onBadLine: (m) => bad.push(m),
    });
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    error = `${err.where}: ${err.message}`;
  }
  return { records: rebuilt.records, bad, stats, error };
}

Deno.test("readNdjsonColumns: same records, bad lines, stats and strict errors as readNdjson, on any chunking, with and without workers", async () => {
  const random = seededRandom(20261123);
  for (let round = 0; round < 16; round++) {
    const strict = round % 4 === 3;
    const inputs = [
      randomText(random, 300 + Math.floor(random() * 600), round % 3 === 0),
      randomText(random, 50, false),
    ];
    const chunks = inputs.map((b) => chunked(b, random, round % 2 ? 64 : 70_000));
    const want = await viaRecords(chunks, strict);
    const configs: ReadColumnsOptions[] = [
      { workers: 0 },
      { workers: 1, workersAfterBytes: 0, jobBytes: 1 },
      { workers: 2, workersAfterBytes: 500, jobBytes: 4096 },
    ];
    for (const options of configs) {
      const got = await viaColumns(chunks, { ...options, strict });
      assertEquals(got, want, `round ${round}, ${JSON.stringify(options)}`);
    }
  }
});

Deno.test("readNdjsonColumns: a signal ends reading; what was read is still consumed", async () => {
  const line = new TextEncoder().encode('{"name":"m","timestamp":1,"value":1}\n');
  let pull = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull: async (c) => {
      if (pull++ < 3) c.enqueue(line);
      else await new Promise(() => {}); // a stdin that never sends EOF
    },
  });
  const stop = new AbortController();
  let samples = 0;
  const stats: ReadStats = { lines: 0, badLines: 0, bytes: 0 };
  setTimeout(() => stop.abort(), 100);
  await readNdjsonColumns([{ name: "stdin", stream: endless }], stats, (c) => {
    samples += c.count;
  }, { signal: stop.signal, workers: 0 });
  assertEquals(samples, 3);
  assertEquals(stats.lines, 3);
});

Deno.test("readNdjsonColumns --strict: the error names the source and line", async () => {
  const text = '{"name":"m","timestamp":1,"value":1}\n\n{"name":"m","timestamp":2,"value":x}\n';
  const stats: ReadStats = { lines: 0, badLines: 0, bytes: 0 };
  let samples = 0;
  const err = await assertRejects(
    () =>
      readNdjsonColumns(
        [{ name: "a.ndjson", stream: ReadableStream.from([new TextEncoder().encode(text)]) }],
        stats,
        (c) => {
          samples += c.count;
        },
        { strict: true, workers: 0 },
      ),
    InputError,
  );
  assertMatch(String(err.where), /^a\.ndjson:3$/);
  assertEquals(samples, 1);
});
