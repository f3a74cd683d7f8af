import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { closestNames, editDistance } from "./suggest.ts";

Deno.test("editDistance: insertions, deletions, substitutions", () => {
  strictEqual(editDistance("", "abc"), 3);
  strictEqual(editDistance("kitten", "sitting"), 3);
  strictEqual(editDistance("node_rapl_package_joules_total", "node_rapl_pakage_joules_total"), 1);
  strictEqual(editDistance("same", "same"), 0);
});

Deno.test("closestNames: nearest first, far ones left out", () => {
  const known = ["gpu_power_watts", "gpu_power_watt", "cpu_power_watts", "node_load1"];
  // 1 edit, then two at 2 edits (ties by name).
  deepStrictEqual(closestNames("gpu_powr_watts", known), [
    "gpu_power_watts",
    "cpu_power_watts",
    "gpu_power_watt",
  ]);
  deepStrictEqual(closestNames("zzz", known), []);
});
