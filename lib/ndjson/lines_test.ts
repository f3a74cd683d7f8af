import { assertEquals } from "../../tests/support/assert.ts";
import { type LineBatch, LineBatchStream, OVERSIZED_LINE_MARK } from "./lines.ts";

async function split(chunks: string[], maxLineChars?: number): Promise<LineBatch[]> {
  const out: LineBatch[] = [];
  await ReadableStream.from(chunks).pipeThrough(new LineBatchStream({ maxLineChars })).pipeTo(
    new WritableStream({ write: (b) => void out.push(b) }),
  );
  return out;
}

Deno.test("lines: CRLF, a BOM, a last line without newline, numbering across chunks", async () => {
  const got = await split(["\ufeffa\r\nb", "c\nd"]);
  assertEquals(got, [{ lines: ["a"], firstLineNo: 1 }, { lines: ["bc"], firstLineNo: 2 }, {
    lines: ["d"],
    firstLineNo: 3,
  }]);
});

Deno.test("lines: an oversized line is replaced by a mark with its length; the lines around it stay", async () => {
  const long = "x".repeat(50);
  const got = await split(["ok1\n" + long.slice(0, 30), long.slice(30) + "\nok2\n" + long], 20);
  const lines = got.flatMap((b) => b.lines);
  assertEquals(lines, ["ok1", `${OVERSIZED_LINE_MARK}50`, "ok2", `${OVERSIZED_LINE_MARK}50`]);
});
