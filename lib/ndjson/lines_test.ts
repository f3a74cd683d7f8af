import { assertEquals } from "../../tests/support/assert.ts";
import { byteLinesOf } from "./lines.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder("utf-8", { ignoreBOM: true });

/** The lines of `chunks`, as text, and `<oversized N>` for a line not kept. */
async function split(chunks: string[], maxLineBytes?: number): Promise<[number, string][]> {
  const out: [number, string][] = [];
  const stream = ReadableStream.from(chunks.map((c) => utf8.encode(c)));
  for await (const b of byteLinesOf(stream, { maxLineBytes })) {
    for (let i = 0; i < b.starts.length; i++) {
      out.push([
        b.firstLineNo + i,
        b.starts[i] < 0
          ? `<oversized ${b.ends[i]}>`
          : text.decode(b.bytes.subarray(b.starts[i], b.ends[i])),
      ]);
    }
  }
  return out;
}

Deno.test("lines: CRLF, a BOM, a last line without newline, numbering across chunks", async () => {
  assertEquals(await split(["\ufeffa\r\nb", "c\nd"]), [[1, "a"], [2, "bc"], [3, "d"]]);
  assertEquals(await split(["\ufeffa\n\ufeffb\n"]), [[1, "a"], [2, "\ufeffb"]]); // only the first BOM
  assertEquals(await split(["x\r", "\ny", "", "z\r\n\r\n"]), [[1, "x"], [2, "yz"], [3, ""]]);
});

Deno.test("lines: a BOM or a multi-byte character split across chunks", async () => {
  const bytes = utf8.encode("\ufeffé☃\nz");
  const chunks = [
    bytes.subarray(0, 1),
    bytes.subarray(1, 2),
    bytes.subarray(2, 5),
    bytes.subarray(5),
  ];
  const out: string[] = [];
  for await (const b of byteLinesOf(ReadableStream.from(chunks))) {
    for (let i = 0; i < b.starts.length; i++) {
      out.push(text.decode(b.bytes.subarray(b.starts[i], b.ends[i])));
    }
  }
  assertEquals(out, ["é☃", "z"]);
});

Deno.test("lines: an oversized line is reported by its length; the lines around it stay", async () => {
  const long = "x".repeat(50);
  assertEquals(await split(["ok1\n" + long.slice(0, 30), long.slice(30) + "\nok2\n" + long], 20), [
    [1, "ok1"],
    [2, "<oversized 50>"],
    [3, "ok2"],
    [4, "<oversized 50>"],
  ]);
  assertEquals(
    await split([long.slice(0, 10), long.slice(10, 40), long.slice(40) + "\r\nok\n"], 20),
    [
      [1, "<oversized 50>"],
      [2, "ok"],
    ],
  );
});

Deno.test("lines: any chunking gives the lines of String.split", async () => {
  const lines = ["a", "", "bb\r", "ccc", "é☃ddd", "", "e"];
  const whole = lines.join("\n");
  const want = whole.split("\n").map((l, i) => [i + 1, l.replace(/\r$/, "")] as [number, string]);
  const bytes = utf8.encode(whole);
  for (let n = 0; n < 200; n++) {
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < bytes.length;) {
      const len = 1 + Math.floor(Math.random() * 6);
      chunks.push(bytes.slice(at, at + len));
      at += len;
    }
    const got: [number, string][] = [];
    for await (const b of byteLinesOf(ReadableStream.from(chunks))) {
      for (let i = 0; i < b.starts.length; i++) {
        got.push([b.firstLineNo + i, text.decode(b.bytes.subarray(b.starts[i], b.ends[i]))]);
      }
    }
    assertEquals(got, want);
  }
});
