import { assert, assertEquals, assertMatch, assertThrows } from "../../tests/support/assert.ts";
import { dcgmCsv, nabCsv, nvidiaSmiCsv, wideCsv } from "../../tests/fixtures/csv/fixtures.ts";
import { readCsvRows } from "./csv_rows.ts";
import { createCsvFormat, detectCsvFormat } from "./csv_detect.ts";
import {
  BadRow,
  type CsvFormat,
  isNonValue,
  newMappedRow,
  parseNumberCell,
  sanitizeName,
} from "./csv_formats.ts";
import { parseLabelsRaw } from "./csv_dcgm.ts";
import { TimestampParser } from "./csv_time.ts";
import { UsageError } from "../errors.ts";

/** All rows of a CSV text, fed in chunks of `chunkBytes` bytes to exercise chunk boundaries. */
async function rowsOf(
  text: string,
  chunkBytes = 7,
  comment?: string,
): Promise<{ fields?: string[]; line: number; error?: string }[]> {
  const bytes = new TextEncoder().encode(text);
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < bytes.length; i += chunkBytes) c.enqueue(bytes.slice(i, i + chunkBytes));
      c.close();
    },
  });
  const out: { fields?: string[]; line: number; error?: string }[] = [];
  for await (const b of readCsvRows(stream, { comment })) {
    for (let i = 0; i < b.length; i++) {
      out.push({ fields: b.fields[i], line: b.lines[i], error: b.errors[i] });
    }
  }
  return out;
}

interface Emitted {
  ts: number;
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Maps every data row with `format`; bad rows are returned as `line: message`. */
async function mapAll(
  text: string,
  options: { zone?: string; comment?: string; metric?: string; labelColumns?: string[] } = {},
): Promise<{ format: CsvFormat; samples: Emitted[]; bad: string[]; notes: string[] }> {
  const rows = await rowsOf(text, 5, options.comment);
  const notes: string[] = [];
  const format = createCsvFormat(
    rows[0].fields!,
    {
      timestamps: new TimestampParser({ timeZone: options.zone ?? "UTC" }),
      metric: options.metric,
      labelColumns: options.labelColumns,
    },
    undefined,
    (n) => notes.push(n),
  );
  const out = newMappedRow();
  const samples: Emitted[] = [];
  const bad: string[] = [];
  for (const r of rows.slice(1)) {
    try {
      if (r.fields === undefined) throw new BadRow(r.error!);
      format.mapRow(r.fields, out);
      for (let i = 0; i < out.count; i++) {
        const id = format.series(r.fields, out, i);
        samples.push({
          ts: out.timestampMs,
          name: id.name,
          labels: id.labels,
          value: out.values[i],
        });
      }
    } catch (err) {
      if (!(err instanceof BadRow)) throw err;
      bad.push(`${r.line}: ${err.message}`);
    }
  }
  return { format, samples, bad, notes: [...format.notes, ...notes] };
}

Deno.test("csv rows: RFC 4180 quoting, BOM, CRLF, comments and line numbers across chunk edges", async () => {
  const text = '\ufeffa,b\r\n"x ""q""",2\r\n# note\r\n"1,5",3\r\n\r\n"z",4\r\n';
  const rows = await rowsOf(text, 3, "#");
  assertEquals(rows.map((r) => r.fields), [["a", "b"], ['x "q"', "2"], ["1,5", "3"], ["z", "4"]]);
  assertEquals(rows.map((r) => r.line), [1, 2, 4, 6]);
  // A stray quote inside an unquoted field is kept; a row of the wrong length carries a reason.
  const loose = await rowsOf('a,b\nfoo"bar,1\n1,2,3\n');
  assertEquals(loose[1].fields, ['foo"bar', "1"]);
  assertEquals(loose[2].fields, ["1", "2", "3"]);
  assertMatch(loose[2].error!, /Record Length/);
  // An unclosed quote is reported as a bad row.
  const open = await rowsOf('a,b\n"x,1\n');
  assertEquals(open[1].fields, undefined);
  assertMatch(open[1].error!, /Quote Not Closed/);
});

Deno.test("formats are detected from the header", () => {
  assertEquals(
    detectCsvFormat(
      "timestamp,metric_name,gpu_id,device,uuid,modelName,Hostname,container,pod,namespace,value,labels_raw"
        .split(","),
    ),
    "dcgm",
  );
  assertEquals(detectCsvFormat(["timestamp", " name", " power.draw [W]"]), "nvidia-smi");
  assertEquals(detectCsvFormat(["name", " pci.bus_id", " memory.used [MiB]"]), "nvidia-smi");
  assertEquals(detectCsvFormat(["timestamp", "value"]), "generic");
  assertEquals(detectCsvFormat(["time", "cpu", "mem"]), "generic");
});

Deno.test("dcgm: names, labels from columns and labels_raw, non-values, bad rows", async () => {
  for (const opts of [{}, { bom: true, eol: "\r\n" }]) {
    const { samples, bad, format } = await mapAll(dcgmCsv(opts));
    assertEquals(format.format, "dcgm");
    assertEquals(samples.length, 10);
    assertEquals(samples[0], {
      ts: Date.UTC(2025, 6, 18, 20, 42, 34),
      name: "DCGM_FI_DEV_POWER_USAGE",
      labels: {
        DCGM_FI_DRIVER_VERSION: "535.129.03",
        Hostname: "dgx-01",
        UUID: "GPU-00000000-aaaa-bbbb-cccc-000000000000",
        device: "nvidia0",
        gpu: "0",
        instance: "dgx-01:9400",
        job: "dgx_dcgm_exporter",
        modelName: "NVIDIA H100 80GB HBM3",
      },
      value: 66.781,
    });
    assertEquals(bad.length, 2);
    assertMatch(bad[0], /^11: expected 12 fields as in the header, got 3/);
    assertMatch(bad[1], /^12: not a timestamp.*"yesterday"/);
    assertEquals(format.metadata("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION")?.type, "counter");
    assertEquals(format.metadata("DCGM_FI_DEV_POWER_USAGE")?.type, "gauge");
    assertEquals(format.metadata("SOMETHING_ELSE"), undefined);
  }
});

Deno.test("dcgm labels_raw: escapes, braces, __name__ dropped, malformed refused", () => {
  assertEquals(parseLabelsRaw('{a="1", b="x\\"y\\\\z\\n",__name__="m"}'), {
    a: "1",
    b: 'x"y\\z\n',
  });
  assertEquals(parseLabelsRaw(""), {});
  assertThrows(() => parseLabelsRaw('a="1",b=2'), BadRow);
  assertThrows(() => parseLabelsRaw('a="1'), BadRow);
  assertThrows(() => parseLabelsRaw('1a="1"'), BadRow);
});

Deno.test("nvidia-smi: same metrics, units and labels as sample; non-values left out", async () => {
  for (const nounits of [false, true]) {
    const { samples, bad, notes, format } = await mapAll(nvidiaSmiCsv({ nounits }), {
      zone: "Europe/Berlin",
    });
    assertEquals(format.format, "nvidia-smi");
    const t0 = Date.UTC(2026, 6, 14, 6, 12, 38, 696); // 08:12:38.696 in Berlin summer time
    const gpu0 = {
      index: "0",
      uuid: "11111111-2222-3333-4444-555555555555",
      name: "NVIDIA H100 80GB HBM3",
    };
    const first = samples.filter((s) => s.ts === t0);
    assertEquals(first.map((s) => [s.name, s.value]), [
      ["nvidia_smi_power_draw_watts", 69.85],
      ["nvidia_smi_memory_used_bytes", 81559 * 1048576],
      ["nvidia_smi_utilization_gpu_ratio", 0],
      ["nvidia_smi_clocks_current_sm_clock_hz", 345e6],
      ["nvidia_smi_pstate", 0],
    ]);
    assertEquals(first[0].labels, gpu0);
    // GPU 1: power [Not Supported] / N/A left out; fan 30 % → 0.3.
    const gpu1 = samples.filter((s) => s.labels.index === "1");
    assert(!gpu1.some((s) => s.name === "nvidia_smi_power_draw_watts"));
    assertEquals(gpu1.find((s) => s.name === "nvidia_smi_fan_speed_ratio")?.value, 0.3);
    assertEquals(samples.length, 5 + 5 + 5 + 5);
    assertEquals(bad.length, 1);
    assertMatch(bad[0], /^6: power\.draw \[W\]: not a value \(got "lots W"\)/);
    assert(notes.some((n) => /display_mode/.test(n)), notes.join("\n"));
  }
});

Deno.test("generic: timestamp,value with --metric; duplicates kept; text in a value column is a bad row", async () => {
  const { samples, bad } = await mapAll(nabCsv({ eol: "\r\n" }), { metric: "machine_temp" });
  assertEquals(samples.length, 6);
  assertEquals(samples[0], {
    ts: Date.UTC(2013, 11, 2, 21, 15),
    name: "machine_temp",
    labels: {},
    value: 73.96732207,
  });
  assertEquals(bad, ['7: column "value": not a number (got "hot")']);
});

Deno.test("generic wide: label columns, quoted labels, comments, text column ignored, NaN kept", async () => {
  const { samples, bad, notes } = await mapAll(wideCsv({ bom: true }), {
    comment: "#",
    labelColumns: ["host"],
  });
  assertEquals(bad, []);
  assertEquals(
    samples.map((s) => [s.ts / 1000, s.name, s.labels.host, s.value]),
    [
      [1700000000, "cpu_watts", "a,1", 12.5],
      [1700000000, "temp_c", "a,1", 40],
      [1700000001, "temp_c", 'b "x"', 41],
      [1700000002, "cpu_watts", "c", NaN],
      [1700000002, "temp_c", "c", 42],
    ],
  );
  assert(notes.some((n) => /"note" is not numeric/.test(n)), notes.join("\n"));
});

Deno.test("generic: missing timestamp column and unknown named columns are clear errors", async () => {
  const rows = await rowsOf("a,b\n1,2\n");
  const timestamps = new TimestampParser({ timeZone: "UTC" });
  const err = assertThrows(() => createCsvFormat(rows[0].fields!, { timestamps }), Error);
  assertMatch(err.message, /no timestamp column.*--timestamp-column/);
  assertThrows(
    () => createCsvFormat(rows[0].fields!, { timestamps, timestampColumn: "nope" }),
    UsageError,
  );
  const f = createCsvFormat(rows[0].fields!, { timestamps, timestampColumn: "a" });
  const out = newMappedRow();
  f.mapRow(["1700000000", "2"], out);
  assertEquals([out.timestampMs, out.count, out.values[0]], [1_700_000_000_000, 1, 2]);
});

Deno.test("cells: numbers, non-values, names", () => {
  assertEquals(parseNumberCell("1.5"), 1.5);
  assertEquals(parseNumberCell(" 2 "), 2);
  assertEquals(parseNumberCell("-1e3"), -1000);
  assertEquals(parseNumberCell("+Inf"), Infinity);
  assertEquals(parseNumberCell("-Inf"), -Infinity);
  assert(Number.isNaN(parseNumberCell("NaN")));
  for (const no of ["", " ", "abc", "0x10", "1,5", "12 W"]) {
    assertEquals(parseNumberCell(no), undefined, no);
  }
  for (const nv of ["", "N/A", "[N/A]", "[Not Supported]", "null", "-"]) assert(isNonValue(nv), nv);
  assert(!isNonValue("abc"));
  assertEquals(sanitizeName("temp c", "metric"), "temp_c");
  assertEquals(sanitizeName("power.draw [W]", "metric"), "power_draw_W");
  assertEquals(sanitizeName("1st", "label"), "_1st");
});
