import { assertEquals } from "../../tests/support/assert.ts";
import { seededRandom } from "../../tests/support/random.ts";
import { formatSample } from "./contract.ts";
import { NdjsonWriter } from "./writer.ts";
import type { Labels } from "../model/sample.ts";

/** A writer into memory; `text()` is everything written. */
function memoryWriter(bufferBytes: number) {
  const chunks: Uint8Array[] = [];
  const writer = new NdjsonWriter(
    new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c) }),
    { bufferBytes },
  );
  return {
    writer,
    text: () => new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c]))),
  };
}

/** A float64 with the bit pattern `hi:lo`. */
function fromBits(hi: number, lo: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setUint32(0, hi);
  view.setUint32(4, lo);
  return view.getFloat64(0);
}

Deno.test("NdjsonWriter.writeSample writes formatSample's line, whatever the number", async () => {
  const rand = seededRandom(3);
  const { writer, text } = memoryWriter(100); // small: flushes often, lines cross the limit
  const utf8 = new TextEncoder();
  const labelSets: Labels[] = [{}, { zone: "ünï ☃", q: 'a"b\\c' }, { index: "0" }];
  const specials = [0, -0, 1e15, -1e15, 1e21, 5e-324, Infinity, -Infinity, NaN, 0.1, 1e-7, 2 ** 53];
  let expected = "";
  for (let n = 0; n < 20_000; n++) {
    const labels = labelSets[n % labelSets.length];
    const name = n % 2 ? "m_total" : "node_rapl_package_joules_total";
    const line = formatSample({ kind: "sample", name, labels, timestampMs: 0, value: 0 });
    const prefix = line.slice(0, line.lastIndexOf('"timestamp":') + 12);
    const timestampMs = n % 7 === 0
      ? -Math.floor(rand() * 2 ** 53)
      : Math.floor(rand() * (n % 3 ? 2e12 : 2 ** 53));
    const kind = n % 5;
    const value = kind === 0
      ? specials[n % specials.length]
      : kind === 1
      ? Math.round(rand() * 1e8) / 10 ** Math.floor(rand() * 8)
      : kind === 2
      ? (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20)
      : kind === 3
      ? Math.floor((rand() - 0.5) * 2 ** 53)
      : fromBits(0x7ff00000 | Math.floor(rand() * 0xfffff), Math.floor(rand() * 2 ** 32) | 1);
    const nanBits = value !== value && kind === 4
      ? (0x7ff00000 | 0).toString(16) // the bits given, not the ones read
      : undefined;
    const bits = nanBits === undefined ? undefined : `${nanBits}${"0".repeat(7)}1`;
    const p = writer.writeSample(utf8.encode(prefix), timestampMs, value, bits);
    if (p) await p;
    expected += formatSample({ kind: "sample", name, labels, timestampMs, value, nanBits: bits }) +
      "\n";
    if (n % 1000 === 0) {
      const long = "x".repeat(300) + "é"; // longer than the buffer
      writer.writeLine(long);
      expected += long + "\n";
    }
  }
  await writer.close();
  assertEquals(text(), expected);
});
