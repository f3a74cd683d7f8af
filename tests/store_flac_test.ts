/**
 * Every file of a store is standard FLAC: the reference `flac` tool tests and decodes it, and
 * the integers it decodes are the documented mapping.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { gunzipSync } from "node:zlib";
import { runWattwave } from "./support/cli.ts";

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

Deno.test("flac -t passes on every segment; flac -d shows the documented integers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-flac-" });
  try {
    const c = await runWattwave(["compress", "--store", dir, "--segment-samples", "5000"], {
      stdin: telemetry(),
    });
    assertEquals(c.code, 0, c.stderr);
    const files: string[] = [];
    for await (const e of Deno.readDir(`${dir}/segments`)) files.push(`${dir}/segments/${e.name}`);
    assert(files.length >= 11, `${files.length} segments`);
    const t = await new Deno.Command("flac", { args: ["-t", "-s", ...files], stderr: "piped" })
      .output();
    assertEquals(t.code, 0, new TextDecoder().decode(t.stderr));

    // Decode one `dec` segment by hand as the README says and rebuild timestamps and values.
    const index = JSON.parse(
      new TextDecoder().decode(gunzipSync(await Deno.readFile(`${dir}/index.json.gz`))),
    );
    const power = index.series.find((s: { labels: string[][] }) =>
      s.labels[0][1] === "gpu_power_watts"
    );
    const seg = power.segments[0];
    assertEquals(seg.mode, "dec");
    assertEquals(seg.scale, 2);
    const raw = `${dir}/seg.raw`;
    const d = await new Deno.Command("flac", {
      args: [
        "-d",
        "-s",
        "--force-raw-format",
        "--endian=little",
        "--sign=signed",
        "-o",
        raw,
        `${dir}/segments/${seg.file}`,
      ],
      stderr: "piped",
    }).output();
    assertEquals(d.code, 0, new TextDecoder().decode(d.stderr));
    const bytes = await Deno.readFile(raw);
    const width = Math.ceil(seg.bps / 8);
    assertEquals(bytes.length, seg.count * 2 * width);
    const view = new DataView(bytes.buffer);
    const read = (i: number) =>
      width === 2
        ? view.getInt16(i * width, true)
        : width === 3
        ? (view.getUint16(i * 3, true) | (view.getInt8(i * 3 + 2) << 16))
        : view.getInt32(i * width, true);
    const e = await runWattwave(["export", "--store", dir, "--match", "gpu_power_watts"]);
    const exported = e.stdout.trim().split("\n").slice(0, seg.count).map((l) => JSON.parse(l));
    let ts = seg.minTs;
    for (let i = 0; i < seg.count; i++) {
      if (i > 0) ts += read(2 * i) + seg.stepMs;
      assertEquals(ts, exported[i].timestamp);
      assertEquals(read(2 * i + 1) / 10 ** seg.scale, exported[i].value);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
