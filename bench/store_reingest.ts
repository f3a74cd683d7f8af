/**
 * What idempotent ingest costs `compress`: samples/s of input newer than what the store holds (the
 * common case: only a comparison per committed range), and of a full re-ingest of the same input
 * (every sample checked against the store and skipped). Medians of `--reps` runs each.
 *
 *   deno run -A bench/store_reingest.ts [--series 200] [--steps 10000] [--reps 3]
 *
 * @module
 */
import { runWattwave } from "../tests/support/cli.ts";
import { arg, fmt, median } from "./support.ts";

const SERIES = Number(arg("series", "200"));
const STEPS = Number(arg("steps", "10000"));
const REPS = Number(arg("reps", "3"));
const T0 = 1_732_350_000_000;

const dir = await Deno.makeTempDir({ prefix: "wattwave-reingest-" });

async function writeInput(path: string, from: number): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  for (let i = from; i < from + STEPS; i += 500) {
    let text = "";
    for (let j = i; j < Math.min(i + 500, from + STEPS); j++) {
      for (let s = 0; s < SERIES; s++) {
        text += `{"name":"reingest","labels":{"s":"${s}"},"timestamp":${T0 + j * 1000},"value":${
          (j * 13 + s) % 1000 / 10
        }}\n`;
      }
    }
    await f.write(enc.encode(text));
  }
  f.close();
}

const first = `${dir}/first.ndjson`;
const newer = `${dir}/newer.ndjson`;
await writeInput(first, 0);
await writeInput(newer, STEPS);
const samples = SERIES * STEPS;

async function compress(store: string, input: string): Promise<number> {
  const r = await runWattwave(["compress", "--store", store, "--report", "json", input]);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout).seconds;
}

const newerS: number[] = [];
const againS: number[] = [];
for (let rep = 0; rep < REPS; rep++) {
  const store = `${dir}/store${rep}`;
  await compress(store, first);
  newerS.push(await compress(store, newer)); // after everything stored
  againS.push(await compress(store, newer)); // the same input again: all skipped
}
console.log(`${fmt(samples)} samples per run (${SERIES} series × ${STEPS}), medians of ${REPS}`);
console.log(`  newer than the store: ${fmt(samples / median(newerS))} samples/s`);
console.log(`  full re-ingest:       ${fmt(samples / median(againS))} samples/s`);
await Deno.remove(dir, { recursive: true });
