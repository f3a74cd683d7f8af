/**
 * Every file of a store is standard FLAC, packed files too: the reference `flac` tool tests and
 * decodes it, and the integers it decodes are the documented mapping (read as the README says).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { gunzipSync } from "node:zlib";
import { runWattwave } from "../support/cli.ts";
import { peerBin, peerTest } from "../support/peers.ts";

const T0 = 1_732_350_000_000;

/** Mixed real-looking telemetry: RAPL counters, GPU power and %, temperatures, CPU seconds, specials. */
function telemetry(): string {
  const lines: string[] = [];
  let seed = 1;
  const r = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  let uj = 2 ** 38;
  let cpu = 12345.67;
  for (let i = 0; i < 6000; i++) {
    const t = T0 + i * 1000 + Math.floor(r() * 4);
    uj += 30_000_000 + Math.floor(r() * 5_000_000);
    cpu = Math.round((cpu + r() * 0.9) * 100) / 100;
    const power = Math.round((250 + 150 * Math.sin(i / 200) + r() * 20) * 100) / 100;
    lines.push(
      `{"name":"rapl_energy_microjoules_total","labels":{"zone":"package-0"},"timestamp":${t},"value":${uj}}`,
      `{"name":"gpu_power_watts","labels":{"gpu":"0"},"timestamp":${t},"value":${power}}`,
      `{"name":"gpu_utilization_percent","labels":{"gpu":"0"},"timestamp":${t},"value":${
        Math.floor(r() * 101)
      }}`,
      `{"name":"node_cpu_seconds_total","labels":{"cpu":"0","mode":"user"},"timestamp":${t},"value":${cpu}}`,
      `{"name":"load_ratio","labels":{},"timestamp":${t},"value":${
        i % 500 === 499 ? '"StaleNaN"' : r()
      }}`,
    );
    if (i % 10 === 0) {
      lines.push(
        `{"name":"gpu_temperature_celsius","labels":{"gpu":"0"},"timestamp":${t},"value":${
          40 + Math.floor(r() * 30)
        }}`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

/** The README's jq program: each series with labels as an object and ranges naming their file. */
const JQ_SERIES =
  ".strings as $s | .files as $f | .series as $S | .ranges as $r | ([$r.exceptions[] | {key: (.[0] | tostring), value: .[1]}] | from_entries) as $ex | ([$r.seek[] | {key: (.[0] | tostring), value: .[1]}] | from_entries) as $sk | foreach range(0; $S.pairs | length) as $i ({l: 0, r: 0}; {l0: .l, r0: .r, l: (.l + 2 * $S.pairs[$i]), r: (.r + $S.ranges[$i])}; {labels: ([range(.l0; .l; 2) as $j | {($s[$S.labels[$j]]): $s[$S.labels[$j + 1]]}] | add), ranges: [range(.r0; .r) as $k | {file: $f[$r.file[$k]].file, at: $r.at[$k], count: $r.count[$k], minTs: $r.minTs[$k], maxTs: $r.maxTs[$k], stepMs: $r.stepMs[$k], mode: $r.modes[$r.mode[$k]], scale: $r.scale[$k]} + (if $ex[$k | tostring] then {exceptions: $ex[$k | tostring]} else {} end) + (if $sk[$k | tostring] then {seek: $sk[$k | tostring]} else {} end)]})";

peerTest(
  ["flac"],
  "flac -t passes on every file; flac -d of a packed file shows the documented integers",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "wattwave-flac-" });
    try {
      const c = await runWattwave(["compress", "--store", dir, "--segment-samples", "5000"], {
        stdin: telemetry(),
      });
      assertEquals(c.code, 0, c.stderr);
      const files: string[] = [];
      for await (const e of Deno.readDir(`${dir}/segments`)) {
        if (e.name.endsWith(".flac")) files.push(`${dir}/segments/${e.name}`);
      }
      assert(files.length >= 6, `${files.length} files`);
      const t = await new Deno.Command(peerBin("flac"), {
        args: ["-t", "-s", ...files],
        stderr: "piped",
      })
        .output();
      assertEquals(t.code, 0, new TextDecoder().decode(t.stderr));

      // Find the series and its ranges with the README's jq program.
      const q = await new Deno.Command("sh", {
        args: ["-c", `zcat "$1/index.json.gz" | jq -c "$2"`, "sh", dir, JQ_SERIES],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(q.code, 0, new TextDecoder().decode(q.stderr));
      const series = new TextDecoder().decode(q.stdout).trim().split("\n").map((l) =>
        JSON.parse(l)
      );
      const cpu = series.find((s) => s.labels.__name__ === "node_cpu_seconds_total");
      assertEquals(cpu.labels, { __name__: "node_cpu_seconds_total", cpu: "0", mode: "user" });
      const index = JSON.parse(
        new TextDecoder().decode(gunzipSync(await Deno.readFile(`${dir}/index.json.gz`))),
      );
      // A range packed after other series' ranges in its file.
      const shared = cpu.ranges.find((r: { at: number }) => r.at > 0);
      assert(shared, `no packed range in ${JSON.stringify(cpu.ranges)}`);
      assertEquals(shared.mode, "dec");
      assertEquals(shared.scale, 2);
      const file = index.files.find((f: { file: string }) => f.file === shared.file);
      const raw = `${dir}/seg.raw`;
      const d = await new Deno.Command(peerBin("flac"), {
        args: [
          "-d",
          "-s",
          "--force-raw-format",
          "--endian=little",
          "--sign=signed",
          "-o",
          raw,
          `${dir}/segments/${shared.file}`,
        ],
        stderr: "piped",
      }).output();
      assertEquals(d.code, 0, new TextDecoder().decode(d.stderr));
      const bytes = await Deno.readFile(raw);
      const width = file.bps / 8;
      assertEquals(bytes.length, file.count * file.channels * width);
      const view = new DataView(bytes.buffer);
      const read = (i: number) =>
        width === 1
          ? view.getInt8(i)
          : width === 2
          ? view.getInt16(i * width, true)
          : width === 3
          ? (view.getUint16(i * 3, true) | (view.getInt8(i * 3 + 2) << 16))
          : view.getInt32(i * width, true);
      const e = await runWattwave(["export", "--store", dir, "--match", "node_cpu_seconds_total"]);
      const exported = e.stdout.trim().split("\n").map((l) => JSON.parse(l));
      const first = exported.findIndex((x) => x.timestamp === shared.minTs);
      assert(first >= 0);
      let ts = shared.minTs;
      for (let i = 0; i < shared.count; i++) {
        const sample = (shared.at + i) * file.channels; // interleaved: ts delta, value[, value lo]
        if (i > 0) ts += read(sample) + shared.stepMs;
        else assertEquals(read(sample), 0);
        assertEquals(ts, exported[first + i].timestamp);
        assertEquals(read(sample + 1) / 10 ** shared.scale, exported[first + i].value);
      }
      assertEquals(ts, shared.maxTs);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
