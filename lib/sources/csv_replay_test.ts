import { assert, assertEquals, assertMatch, assertRejects } from "../../tests/support/assert.ts";
import { DCGM_T0_MS, dcgmCsv, nabCsv } from "../../tests/fixtures/csv/fixtures.ts";
import { NdjsonWriter } from "../ndjson/writer.ts";
import { parseLine } from "../ndjson/contract.ts";
import type { NdjsonRecord, Sample } from "../model/sample.ts";
import { InputError } from "../errors.ts";
import { replayCsv, type ReplayOptions, type ReplaySource } from "./replay.ts";

function textSource(name: string, text: string): ReplaySource {
  const bytes = new TextEncoder().encode(text);
  return {
    name,
    open: () =>
      Promise.resolve({
        stream: new ReadableStream<Uint8Array>({
          start(c) {
            for (let i = 0; i < bytes.length; i += 64) c.enqueue(bytes.slice(i, i + 64));
            c.close();
          },
        }),
        sizeBytes: bytes.length,
      }),
  };
}

/** Runs a replay into memory; `stopAfterLines` aborts (for --loop). */
async function replayText(
  sources: ReplaySource[],
  options: ReplayOptions & { stopAfterLines?: number } = {},
) {
  const records: NdjsonRecord[] = [];
  const messages: string[] = [];
  const abort = new AbortController();
  const decoder = new TextDecoder();
  const sink = new WritableStream<Uint8Array>({
    write(chunk) {
      for (const line of decoder.decode(chunk).split("\n")) {
        if (line === "") continue;
        records.push(parseLine(line)); // every line must satisfy the NDJSON contract
        if (options.stopAfterLines !== undefined && records.length >= options.stopAfterLines) {
          abort.abort();
        }
      }
    },
  });
  const writer = new NdjsonWriter(sink, { bufferBytes: 256 });
  const stats = await replayCsv(sources, writer, {
    timeZone: "UTC",
    onMessage: (m) => messages.push(m),
    signal: abort.signal,
    ...options,
  });
  await writer.close();
  const samples = records.filter((r): r is Sample => r.kind === "sample");
  return { stats, records, samples, messages };
}

Deno.test("replay: dcgm file → samples, metadata once per metric, bad rows and disorder reported", async () => {
  const { stats, records, samples, messages } = await replayText([textSource("d.csv", dcgmCsv())]);
  assertEquals(stats.rows, 13);
  assertEquals(stats.badRows, 2);
  assertEquals(stats.samples, 10);
  assertEquals(stats.outOfOrder, 1);
  assertEquals(samples.length, 10);
  const metadata = records.filter((r) => r.kind === "metadata").map((r) => r.name);
  assertEquals(metadata, [
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
  ]);
  // Metadata comes before the first sample of its metric.
  const firstEnergy = records.findIndex((r) => r.name === "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION");
  assertEquals(records[firstEnergy].kind, "metadata");
  // Written in file order, not reordered.
  assertEquals(samples[8].timestampMs, DCGM_T0_MS - 1000);
  assert(
    messages.some((m) => /^bad row d\.csv:11: expected 12 fields/.test(m)),
    messages.join("\n"),
  );
  assert(messages.some((m) => /^bad row d\.csv:12: not a timestamp/.test(m)));
  assert(
    messages.some((m) =>
      /^out of order d\.csv:13: DCGM_FI_DEV_POWER_USAGE at 2025-07-18T20:42:33\.000Z is before 2025-07-18T20:42:35\.000Z/
        .test(m)
    ),
    messages.join("\n"),
  );
});

Deno.test("replay: --strict stops at the first bad row with its line", async () => {
  const err = await assertRejects(
    () => replayText([textSource("d.csv", dcgmCsv())], { strict: true }),
    InputError,
  );
  assertMatch(err.message, /^d\.csv:11: bad row: expected 12 fields/);
});

Deno.test("replay: --shift-to-now moves the first timestamp to now and keeps the spacing", async () => {
  const nowMs = 1_800_000_000_000;
  const { samples } = await replayText([textSource("n.csv", nabCsv())], {
    shiftToNow: true,
    now: () => nowMs,
    formatOptions: { metric: "temp" },
  });
  assertEquals(samples.map((s) => (s.timestampMs - nowMs) / 60_000), [0, 5, 10, 10, 15, 25]);
});

Deno.test("replay: --speed paces by the file's timestamps relative to the first row", async () => {
  let clock = 1_000;
  const waits: number[] = [];
  const { samples } = await replayText([textSource("n.csv", nabCsv())], {
    speed: 60, // 5 minutes of data per 5 s
    now: () => clock,
    sleep: (ms) => {
      waits.push(ms);
      clock += ms;
      return Promise.resolve();
    },
    formatOptions: { metric: "temp" },
  });
  assertEquals(samples.length, 6);
  // Rows at +5, +10, +15, +25 minutes → waits of 5 s, 5 s, 5 s, 10 s (the duplicate needs none).
  assertEquals(waits, [5000, 5000, 5000, 10000]);
});

Deno.test("replay: --loop starts again shifted after the span plus one step", async () => {
  const text = "timestamp,value\n1000,1\n1010,2\n1020,3\n";
  const { samples, stats } = await replayText([textSource("l.csv", text)], {
    loop: true,
    stopAfterLines: 9,
    formatOptions: { metric: "m" },
  });
  assert(stats.passes >= 3);
  assertEquals(
    samples.slice(0, 9).map((s) => s.timestampMs / 1000),
    [1000, 1010, 1020, 1030, 1040, 1050, 1060, 1070, 1080],
  );
  assertEquals(stats.outOfOrder, 0);
});

Deno.test("replay: several files share the series state (order checked across files)", async () => {
  const a = "timestamp,value\n2020-01-01T00:00:00Z,1\n2020-01-01T00:01:00Z,2\n";
  const b = "timestamp,value\n2020-01-01T00:00:30Z,3\n";
  const { stats, messages } = await replayText([textSource("a", a), textSource("b", b)], {
    formatOptions: { metric: "m" },
  });
  assertEquals(stats.outOfOrder, 1);
  assert(messages.some((m) => /^out of order b:2:/.test(m)));
});

Deno.test("replay: a file without a header row, or with an unreadable one", async () => {
  const empty = await replayText([textSource("e.csv", "")]);
  assertEquals(empty.stats.rows, 0);
  assert(empty.messages.some((m) => /empty/.test(m)));
  await assertRejects(() => replayText([textSource("h.csv", '"unclosed\n')]), InputError);
});

Deno.test("replay: the progress line gives rows, rows/s and % of bytes, and is cleared at the end", async () => {
  let clock = 0;
  const progress: (string | undefined)[] = [];
  const rows = ["timestamp,value"];
  for (let i = 0; i < 200; i++) rows.push(`${1_700_000_000 + i},${i}`);
  const { stats } = await replayText([textSource("p.csv", rows.join("\n") + "\n")], {
    progress: true,
    onProgress: (line) => progress.push(line),
    now: () => (clock += 100),
    formatOptions: { metric: "m" },
  });
  assertEquals(stats.rows, 200);
  const shown = progress.filter((p): p is string => p !== undefined);
  assert(shown.length > 0);
  assertMatch(
    shown[shown.length - 1],
    /^replay-csv: p\.csv \(1\/1\): \d+\.\d% of bytes, \d+ rows, \d+ rows\/s$/,
  );
  assertEquals(progress[progress.length - 1], undefined);
});
