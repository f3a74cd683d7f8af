import { assert, assertEquals } from "../../tests/support/assert.ts";
import { parseCanonicalSample, parseCanonicalSampleBytes } from "./fast_parse.ts";
import { BadLine, formatRecord, parseLineWithZod } from "./contract.ts";
import { hexOfNumber } from "../model/value.ts";
import type { NdjsonRecord, Sample } from "../model/sample.ts";

function same(a: Sample, b: NdjsonRecord): void {
  assert(b.kind === "sample");
  assertEquals(formatRecord(a), formatRecord(b));
  assertEquals(a.nanBits, b.nanBits);
  if (a.value === a.value) assertEquals(hexOfNumber(a.value), hexOfNumber(b.value));
  assertEquals(a.labels, b.labels);
}

/** Whenever the fast path accepts a line, zod accepts it too and gives the same record. */
function checkAgrees(line: string): boolean {
  return agreesWithZod(parseCanonicalSample(line), line);
}

/** Whether the fast path took `line` (giving `fast`); throws when zod disagrees with it. */
function agreesWithZod(fast: Sample | undefined, line: string): boolean {
  if (fast === undefined) return false;
  let slow: NdjsonRecord;
  try {
    slow = parseLineWithZod(line);
  } catch (err) {
    throw new Error(`fast path accepted a line zod refuses: ${line}: ${(err as Error).message}`);
  }
  same(fast, slow);
  return true;
}

const CANONICAL = [
  '{"name":"node_rapl_package_joules_total","labels":{"index":"0","path":"/sys/x"},"timestamp":1732350000123,"value":12.5}',
  '{"name":"m","timestamp":0,"value":-0}',
  '{"name":"m","labels":{},"timestamp":-5,"value":"StaleNaN"}',
  '{"name":"a:b","labels":{"k":"v é ☃"},"timestamp":1,"value":"0x7ff8000000000123"}',
  '{"name":"m","labels":{"k":""},"timestamp":9007199254740991,"value":1.7976931348623157e+308}',
  '{"name":"m","timestamp":1,"value":5e-324}',
  '{"name":"m","timestamp":1,"value":"+Inf"}',
  '{"name":"m","timestamp":1,"value":"NaN"}',
  '{"name":"m","timestamp":1,"value":1E5}',
];

Deno.test("fast path: accepts canonical lines and agrees with zod", () => {
  for (const line of CANONICAL) assert(checkAgrees(line), `fast path should take ${line}`);
});

Deno.test("fast path: declines what zod refuses or what needs JSON.parse", () => {
  const declined = [
    '{"name":"bad name","timestamp":1,"value":1}',
    '{"name":"m","labels":{"__name__":"x"},"timestamp":1,"value":1}',
    '{"name":"m","labels":{"0k":"x"},"timestamp":1,"value":1}',
    '{"name":"m","labels":{"k":"a","k":"b"},"timestamp":1,"value":1}',
    '{"name":"m","timestamp":1.5,"value":1}',
    '{"name":"m","timestamp":01,"value":1}',
    '{"name":"m","timestamp":99999999999999999,"value":1}',
    '{"name":"m","timestamp":1,"value":"abc"}',
    '{"name":"m","timestamp":1,"value":0x10}',
    '{"name":"m","timestamp":1,"value":Infinity}',
    '{"name":"m","timestamp":1,"value":.5}',
    '{"name":"m","timestamp":1,"value":1,"extra":2}',
    '{"name":"m","labels":{"k":"a\\"b"},"timestamp":1,"value":1}',
    '{"name":"m","timestamp":1,"value":1} ',
    '{"timestamp":1,"name":"m","value":1}',
  ];
  for (const line of declined) assertEquals(parseCanonicalSample(line), undefined, line);
});

Deno.test("fast path: random mutations never make the two paths disagree", () => {
  const alphabet = '{}[]":,.-+eE0123456789abcxyz_\\ NaInfStl';
  let accepted = 0;
  for (let n = 0; n < 50_000; n++) {
    let line = CANONICAL[n % CANONICAL.length];
    const edits = 1 + (n % 3);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(Math.random() * line.length);
      const c = alphabet[Math.floor(Math.random() * alphabet.length)];
      const op = Math.random();
      line = op < 0.4
        ? line.slice(0, at) + c + line.slice(at + 1)
        : op < 0.7
        ? line.slice(0, at) + c + line.slice(at)
        : line.slice(0, at) + line.slice(at + 1);
    }
    if (checkAgrees(line)) accepted++;
    else {
      try {
        parseLineWithZod(line);
      } catch (err) {
        if (!(err instanceof BadLine)) throw err;
      }
    }
  }
  assert(accepted > 100, `too few mutants took the fast path (${accepted})`);
});

Deno.test("fast path: decimal values equal Number(text) bit for bit", () => {
  for (let n = 0; n < 100_000; n++) {
    const digits = 1 + (n % 17);
    let text = "";
    for (let d = 0; d < digits; d++) text += String(Math.floor(Math.random() * 10));
    text = text.replace(/^0+(?=\d)/, "");
    const point = Math.floor(Math.random() * (text.length + 1));
    if (point > 0 && point < text.length) text = text.slice(0, point) + "." + text.slice(point);
    if (n % 2) text = "-" + text;
    const line = `{"name":"m","timestamp":1,"value":${text}}`;
    const fast = parseCanonicalSample(line);
    const expected = Number(text);
    if (fast === undefined) {
      assert(!/^-?(0|[1-9]\d*)(\.\d+)?$/.test(text), `declined a valid number ${text}`);
      continue;
    }
    assertEquals(hexOfNumber(fast.value), hexOfNumber(expected), text);
  }
});

Deno.test("fast path on bytes: mutated UTF-8 (multi-byte, invalid, controls) agrees with decoding + zod", () => {
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  const encoder = new TextEncoder();
  const extra = [
    0x22,
    0x5c,
    0x7d,
    0x00,
    0x0a,
    0x80,
    0xc3,
    0xa9,
    0xe2,
    0x98,
    0x83,
    0xef,
    0xbb,
    0xbf,
    0xff,
  ];
  let accepted = 0;
  for (let n = 0; n < 30_000; n++) {
    const base = encoder.encode(CANONICAL[n % CANONICAL.length]);
    const bytes = new Uint8Array(base.length + 4);
    bytes.set(base);
    let len = base.length;
    const at = Math.floor(Math.random() * len);
    const b = extra[Math.floor(Math.random() * extra.length)];
    if (n % 2) bytes[at] = b;
    else {
      bytes.copyWithin(at + 1, at, len);
      bytes[at] = b;
      len++;
    }
    const line = decoder.decode(bytes.subarray(0, len));
    if (agreesWithZod(parseCanonicalSampleBytes(bytes, 0, len), line)) accepted++;
  }
  assert(accepted > 300, `too few mutants took the fast path (${accepted})`);
});
