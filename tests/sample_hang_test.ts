/**
 * `wattwave sample` never hangs on nvidia-smi: a wedged driver makes nvidia-smi hang at start or
 * stop giving rows mid-run; RAPL goes on, the stall is logged, killed and counted.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { parseNdjson, runWattwave } from "./support/cli.ts";
import { type Rec, samplesOf, withSampleFixtures } from "./support/sample.ts";

Deno.test("sample: an nvidia-smi that hangs at start is given up after --nvidia-smi-timeout; RAPL is sampled", async () => {
  await withSampleFixtures({ smi: { hangAtStart: true } }, async (fx) => {
    const r = await runWattwave(
      fx.argv("--period", "100ms", "--count", "3", "--nvidia-smi-timeout", "1s"),
    );
    assertEquals(r.code, 0, r.stderr);
    assert(r.stderr.includes("--help-query-gpu: no answer within 1000 ms (killed)"), r.stderr);
    assert(r.stderr.includes("going on without GPU sampling"), r.stderr);
    const recs = parseNdjson(r.stdout) as Rec[];
    assertEquals(samplesOf(recs, "node_rapl_package_joules_total", { index: "0" }).length, 3);
    assert(!r.stderr.includes("    at "), r.stderr);
  });
});

Deno.test("sample: an nvidia-smi that stops giving rows is killed and re-spawned; RAPL ticks go on", async () => {
  await withSampleFixtures({ smi: { hangAfterLoops: 3 } }, async (fx) => {
    const r = await runWattwave(
      fx.argv(
        "--period",
        "100ms",
        "--gpu-period",
        "100ms",
        "--nvidia-smi-timeout",
        "500ms",
        "--duration",
        "4s",
      ),
    );
    assertEquals(r.code, 0, r.stderr);
    assert(
      /gave no row for 500 ms \(stall 1\): killed; restarting it in \d+ ms/.test(r.stderr),
      r.stderr,
    );
    assert(/nvidia-smi started [2-9] time\(s\), [1-9] stall\(s\) killed/.test(r.stderr), r.stderr);
    const loops = fx.smi!.calls().filter((c) => c.includes("-lms"));
    assert(loops.length >= 2, JSON.stringify(loops));
    const recs = parseNdjson(r.stdout) as Rec[];
    const gpuTs = samplesOf(recs, "nvidia_smi_power_draw_watts", { index: "0" }).map((x) =>
      x.timestamp!
    );
    const raplTs = samplesOf(recs, "node_rapl_package_joules_total", { index: "0" }).map((x) =>
      x.timestamp!
    );
    // The stall: the longest gap between GPU rows. RAPL was sampled inside it.
    let gapStart = 0, gapEnd = 0;
    for (let i = 1; i < gpuTs.length; i++) {
      if (gpuTs[i] - gpuTs[i - 1] > gapEnd - gapStart) {
        [gapStart, gapEnd] = [gpuTs[i - 1], gpuTs[i]];
      }
    }
    assert(gapEnd - gapStart >= 500, JSON.stringify(gpuTs));
    const inside = raplTs.filter((t) => t > gapStart && t < gapEnd).length;
    assert(inside >= 3, `${inside} RAPL ticks inside the GPU stall ${gapStart}..${gapEnd}`);
  });
});
