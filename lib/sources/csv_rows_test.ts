import { assert, assertEquals, assertMatch } from "../../tests/support/assert.ts";
import { parse } from "csv-parse/sync";
import { readCsvRows } from "./csv_rows.ts";
import { seededRandom } from "../../tests/support/random.ts";

interface Row {
  fields?: string[];
  line: number;
  error?: string;
}

/** All rows of `text`, fed in chunks of `chunkBytes` bytes to exercise chunk boundaries. */
async function rowsOf(
  text: string,
  chunkBytes: number,
  options: { comment?: string; delimiter?: string; maxRecordChars?: number } = {},
): Promise<Row[]> {
  const bytes = new TextEncoder().encode(text);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += chunkBytes) chunks.push(bytes.slice(i, i + chunkBytes));
  const out: Row[] = [];
  for await (const b of readCsvRows(ReadableStream.from(chunks), options)) {
    for (let i = 0; i < b.length; i++) {
      out.push({ fields: b.fields[i], line: b.lines[i], error: b.errors[i] });
    }
  }
  return out;
}

/** The rows `csv-parse` (the reference) gives with the options wattwave used it with. */
function reference(text: string, comment?: string): Row[] {
  const out: Row[] = [];
  parse(text, {
    bom: true,
    ltrim: true,
    comment,
    comment_no_infix: true,
    skip_empty_lines: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_records_with_error: true,
    on_record: (record: string[], context) => {
      out.push({ fields: record, line: context.lines, error: context.error?.message });
      return null;
    },
    on_skip: (err) => {
      out.push({ line: typeof err?.lines === "number" ? err.lines : 0, error: err?.message });
      return undefined;
    },
  });
  return out;
}

/** A random CSV text: quoted and unquoted fields, inner quotes, commas and newlines, comments. */
function randomCsv(rand: () => number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const rows: string[] = [];
  const width = 1 + Math.floor(rand() * 4);
  for (let r = 0; r < 1 + rand() * 12; r++) {
    const kind = rand();
    if (kind < 0.05) {
      rows.push("");
      continue;
    }
    if (kind < 0.1) {
      rows.push('# a comment, with "quotes"');
      continue;
    }
    const n = rand() < 0.85 ? width : 1 + Math.floor(rand() * 5);
    const fields: string[] = [];
    for (let f = 0; f < n; f++) {
      const content = Array.from(
        { length: Math.floor(rand() * 6) },
        () => pick(["a", "1", "é", "x y", ".", "-", "☃"]),
      ).join("");
      const lead = rand() < 0.15 ? " " : "";
      if (rand() < 0.3) {
        const inner = Array.from(
          { length: Math.floor(rand() * 4) },
          // (no CRLF inside quotes: csv-parse counts it as two lines, we count one)
          () => pick(["b", '""', ",", "\n", " ", "é", "#"]),
        ).join("");
        fields.push(`${lead}"${content}${inner}"`);
      } else {
        fields.push(lead + content + (rand() < 0.1 ? 'q"t' : ""));
      }
    }
    rows.push(fields.join(","));
  }
  const eol = rand() < 0.5 ? "\n" : "\r\n";
  return (rand() < 0.2 ? "\ufeff" : "") + rows.join(eol) + (rand() < 0.7 ? eol : "");
}

Deno.test("csv rows: the same fields, line numbers and length errors as csv-parse on 3000 random CSVs", async () => {
  const rand = seededRandom(11);
  for (let n = 0; n < 3000; n++) {
    const text = randomCsv(rand);
    const want = reference(text, "#").map((r) => ({
      fields: r.fields,
      line: r.line,
      lengthError: r.fields !== undefined && r.error !== undefined,
    }));
    const got = (await rowsOf(text, 1 + Math.floor(rand() * 40), { comment: "#" })).map((r) => ({
      fields: r.fields,
      line: r.line,
      lengthError: r.fields !== undefined && r.error !== undefined,
    }));
    assertEquals(got, want, JSON.stringify(text));
  }
});

Deno.test("csv rows: RFC 4180 quoting, BOM, CRLF, comments and line numbers across chunk edges", async () => {
  const text = '\ufeffa,b\r\n"x ""q""",2\r\n# note\r\n"1,5",3\r\n\r\n"z",4\r\n';
  for (const chunk of [1, 2, 3, 64]) {
    const rows = await rowsOf(text, chunk, { comment: "#" });
    assertEquals(rows.map((r) => r.fields), [["a", "b"], ['x "q"', "2"], ["1,5", "3"], ["z", "4"]]);
    assertEquals(rows.map((r) => r.line), [1, 2, 4, 6]);
  }
  // A quoted field spanning lines: the row's line is its last one.
  const multi = await rowsOf('a,b\n"x\ny",1\nc,2\n', 4);
  assertEquals(multi.map((r) => [r.fields, r.line]), [[["a", "b"], 1], [["x\ny", "1"], 3], [
    ["c", "2"],
    4,
  ]]);
  // A CRLF inside quotes is one line break (csv-parse counts two).
  assertEquals((await rowsOf('"x\r\ny",1\r\nc,2\r\n', 3)).map((r) => r.line), [2, 3]);
  // nvidia-smi style: ", " between fields, a tab delimiter.
  assertEquals((await rowsOf("a, b,  c\n", 2))[0].fields, ["a", "b", "c"]);
  assertEquals((await rowsOf("a\t b\n", 2, { delimiter: "\t" }))[0].fields, ["a", "b"]);
  // A blank that is the delimiter is not trimmed away: empty fields stay.
  assertEquals((await rowsOf('a\t\tb\t"c"\t \t\n', 2, { delimiter: "\t" }))[0].fields, [
    "a",
    "",
    "b",
    "c",
    "",
    "",
  ]);
  assertEquals((await rowsOf("a  b\n", 2, { delimiter: " " }))[0].fields, ["a", "", "b"]);
});

Deno.test("csv rows: stray quotes are text, wrong lengths carry a reason, unclosed quotes are bad rows", async () => {
  const loose = await rowsOf('a,b\nfoo"bar,1\n1,2,3\n', 3);
  assertEquals(loose[1].fields, ['foo"bar', "1"]);
  assertEquals(loose[2].fields, ["1", "2", "3"]);
  assertMatch(loose[2].error!, /Record Length/);
  const open = await rowsOf('a,b\n"x,1\n', 3);
  assertEquals(open[1].fields, undefined);
  assertMatch(open[1].error!, /Quote Not Closed/);
  const closing = await rowsOf('a,b\n"x"y,1\nc,2\n', 3);
  assertEquals(closing.map((r) => [r.fields, r.line]), [[["a", "b"], 1], [undefined, 2], [
    ["c", "2"],
    3,
  ]]);
  assertMatch(closing[1].error!, /Invalid Closing Quote/);
});

Deno.test("csv rows: a record over the size limit is a bad row and reading goes on", async () => {
  const huge = "x".repeat(300);
  const text = `a,b\n1,${huge}\n2,3\n"${huge}\n${huge}\n`;
  const rows = await rowsOf(text, 64, { maxRecordChars: 100 });
  assertEquals(rows[0].fields, ["a", "b"]);
  assertEquals(rows[1].fields, undefined);
  assertMatch(rows[1].error!, /Max Record Size/);
  assertEquals(rows[2], { fields: ["2", "3"], line: 3, error: undefined });
  assert(
    rows.slice(3).every((r) => r.fields === undefined),
    "the unclosed quote yields only bad rows",
  );
});
