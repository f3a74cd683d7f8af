/**
 * `wattwave inspect`: figures of a store built from known input; not a store and a selector
 * that matches nothing are said clearly (for `export` too).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { runWattwave } from "./support/cli.ts";

const T0 = 1_732_350_000_000;

async function buildStore(dir: string): Promise<void> {
  const lines: string[] = [];
  for (let i = 0; i < 100; i++) {
    for (let g = 0; g < 3; g++) {
      lines.push(
        `{"name":"gpu_power_watts","labels":{"gpu":"${g}"},"timestamp":${T0 + i * 1000},"value":${
          100 + g
        }}`,
      );
    }
    lines.push(
      `{"name":"cpu_joules_total","labels":{"socket":"0"},"timestamp":${
        T0 + i * 1000
      },"value":${i}}`,
    );
  }
  const r = await runWattwave(["compress", "--store", dir], { stdin: lines.join("\n") + "\n" });
  assertEquals(r.code, 0, r.stderr);
}

Deno.test("inspect: series, samples, time range, bytes, top metrics and labels of known input", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-inspect-" });
  try {
    await buildStore(dir);
    const j = await runWattwave(["inspect", "--store", dir, "--json", "--series"]);
    assertEquals(j.code, 0, j.stderr);
    const a = JSON.parse(j.stdout);
    assertEquals(a.series, 4);
    assertEquals(a.samples, 400);
    assertEquals(a.minTs, T0);
    assertEquals(a.maxTs, T0 + 99_000);
    assertEquals(a.store.samples, 400);
    assert(a.segmentBytes > 0 && a.segmentBytes <= a.store.segmentBytes, j.stdout);
    assertEquals(
      a.topBySamples.map((m: { name: string; samples: number }) => [m.name, m.samples]),
      [
        ["gpu_power_watts", 300],
        ["cpu_joules_total", 100],
      ],
    );
    const labels = Object.fromEntries(
      a.labels.map((
        l: { name: string; values: number; series: number },
      ) => [l.name, [l.values, l.series]]),
    );
    assertEquals(labels, { __name__: [2, 4], gpu: [3, 3], socket: [1, 1] });
    assertEquals(a.seriesList.length, 4);
    // A selector narrows every figure but the whole-store totals.
    const m = JSON.parse(
      (await runWattwave([
        "inspect",
        "--store",
        dir,
        "--json",
        "--match",
        'gpu_power_watts{gpu="1"}',
      ])).stdout,
    );
    assertEquals([m.series, m.samples, m.store.samples], [1, 100, 400]);
    const text = await runWattwave(["inspect", "--store", dir]);
    assertEquals(text.code, 0, text.stderr);
    assert(
      text.stdout.includes("samples: 400") && text.stdout.includes("gpu_power_watts"),
      text.stdout,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("inspect and export: not a store is an error; a selector matching nothing names the closest metrics", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-inspect-" });
  try {
    for (const cmd of ["inspect", "export"]) {
      const r = await runWattwave([cmd, "--store", dir]);
      assertEquals(r.code, 1, r.stderr);
      assert(r.stderr.includes("not a wattwave store"), r.stderr);
      assert(!r.stderr.includes("    at "), r.stderr);
    }
    await buildStore(`${dir}/s`);
    for (const cmd of ["inspect", "export"]) {
      const r = await runWattwave([cmd, "--store", `${dir}/s`, "--match", "gpu_powr_watts"]);
      assertEquals(r.code, 0, r.stderr);
      assert(/matches no series; closest metric names: gpu_power_watts/.test(r.stderr), r.stderr);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
