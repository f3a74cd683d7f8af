import { assertEquals, assertMatch, assertRejects } from "../../tests/support/assert.ts";
import { BadLine, formatRecord, parseLineWithZod } from "./contract.ts";
import { readNdjson, type ReadStats } from "./reader.ts";
import { InputError } from "../errors.ts";
import type { NdjsonRecord } from "../model/sample.ts";

const LINES = [
  '{"metadata":{"name":"m","type":"counter","unit":"joules","help":"h"}}',
  '{"name":"m","labels":{"a":"1"},"timestamp":1,"value":1.5}',
  "",
  '{"name":"m","labels":{"a":"1"},"timestamp":2,"value":"StaleNaN"}\r',
  '  {"value":3,"timestamp":3,"name":"m"}  ',
  '{"name":"m","labels":{"a":"é☃\\u00e9"},"timestamp":4,"value":-0}',
  '{"name":"bad name","timestamp":5,"value":1}',
  "not json",
  '{"name":"m","labels":{"a":"\ufeff"},"timestamp":6,"value":1e-7}',
  "\ufeff",
  '\ufeff{"name":"m","timestamp":7,"value":1}',
  '{"name":"m","labels":{"b":"2"},"timestamp":8,"value":123456789.125}',
];

/** What reading the text line by line with JSON.parse + zod gives. */
function reference(lines: string[]): { records: string[]; bad: number[] } {
  const records: string[] = [];
  const bad: number[] = [];
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "") return;
    try {
      records.push(formatRecord(parseLineWithZod(line)));
    } catch (err) {
      if (!(err instanceof BadLine)) throw err;
      bad.push(i + 1);
    }
  });
  return { records, bad };
}

async function read(chunks: Uint8Array[], stats: ReadStats, strict = false) {
  const records: NdjsonRecord[] = [];
  const bad: number[] = [];
  const sources = [{ name: "in", stream: ReadableStream.from(chunks) }];
  for await (
    const batch of readNdjson(sources, stats, {
      strict,
      onBadLine: (m) => bad.push(Number(/^in:(\d+):/.exec(m)![1])),
    })
  ) records.push(...batch);
  return { records: records.map(formatRecord), bad };
}

Deno.test("readNdjson: any chunking gives what JSON.parse + zod give line by line", async () => {
  const text = "\ufeff" + LINES.join("\n") + "\n";
  const bytes = new TextEncoder().encode(text);
  const want = reference(LINES);
  for (let n = 0; n < 100; n++) {
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < bytes.length;) {
      const len = 1 + Math.floor(Math.random() * (n < 50 ? 8 : 200));
      chunks.push(bytes.slice(at, at + len));
      at += len;
    }
    const stats: ReadStats = { lines: 0, badLines: 0, bytes: 0 };
    const got = await read(chunks, stats);
    assertEquals(got, want);
    assertEquals(stats.bytes, bytes.length - 3 - LINES.filter((l) => l.endsWith("\r")).length);
    assertEquals(stats.badLines, want.bad.length);
  }
});

Deno.test("readNdjson --strict: the lines before the bad one are delivered, then an error naming it", async () => {
  const bytes = new TextEncoder().encode(LINES.slice(0, 7).join("\n"));
  const records: string[] = [];
  const sources = [{ name: "in", stream: ReadableStream.from([bytes]) }];
  const stats: ReadStats = { lines: 0, badLines: 0, bytes: 0 };
  const err = await assertRejects(async () => {
    for await (const b of readNdjson(sources, stats, { strict: true })) {
      records.push(...b.map(formatRecord));
    }
  }, InputError);
  assertMatch(err.message, /bad NDJSON line/);
  assertMatch(String(err.where), /^in:7$/);
  assertEquals(records, reference(LINES.slice(0, 6)).records);
});
