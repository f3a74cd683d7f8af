/**
 * Running `wattwave sample` against fixtures: a powercap tree and a fake nvidia-smi made for a
 * test and removed after it, the argv that points the sampler at them, and record filters.
 *
 * @module
 */
import {
  type FixtureZone,
  makePowercapTree,
  type PowercapTree,
} from "../fixtures/powercap_tree.ts";
import {
  type FakeNvidiaSmi,
  type FakeNvidiaSmiOptions,
  makeFakeNvidiaSmi,
} from "../fixtures/nvidia_smi_fake.ts";

/** An NDJSON record as the tests look at it. */
export type Rec = Record<string, unknown> & {
  name?: string;
  labels?: Record<string, string>;
  timestamp?: number;
  value?: number;
  metadata?: { name: string; type: string; unit: string; help: string };
};

/** The samples of metric `name` whose labels include `labels`. */
export function samplesOf(recs: Rec[], name: string, labels: Record<string, string> = {}): Rec[] {
  return recs.filter((r) =>
    r.name === name && Object.entries(labels).every(([k, v]) => r.labels?.[k] === v)
  );
}

/** What {@linkcode withSampleFixtures} makes. */
export interface SampleFixtures {
  /** The powercap tree (absent with `zones: false`). */
  tree?: PowercapTree;
  /** The fake nvidia-smi (absent with `smi: false`). */
  smi?: FakeNvidiaSmi;
  /** `sample` and the flags pointing it at the fixtures (`--no-gpu`/`--no-powercap` without). */
  argv(...extra: string[]): string[];
}

/** Which fixtures to make: zones (default two sockets) and nvidia-smi options (default on). */
export interface SampleFixtureOptions {
  /** Powercap zones, or false for none (`--no-powercap`). */
  zones?: FixtureZone[] | false;
  /** Fake nvidia-smi options, false for none (`--no-gpu`), "missing" for a path that is not there. */
  smi?: FakeNvidiaSmiOptions | false | "missing";
}

/** Makes the fixtures, runs `fn` with them, removes them. */
export async function withSampleFixtures<T>(
  options: SampleFixtureOptions,
  fn: (fx: SampleFixtures) => Promise<T>,
): Promise<T> {
  const tree = options.zones === false ? undefined : await makePowercapTree(options.zones);
  const smi = options.smi === false || options.smi === "missing"
    ? undefined
    : await makeFakeNvidiaSmi(options.smi ?? {});
  const gpuFlags = smi
    ? ["--nvidia-smi", smi.path]
    : options.smi === "missing"
    ? ["--nvidia-smi", "/nonexistent/nvidia-smi"]
    : ["--no-gpu"];
  const fx: SampleFixtures = {
    tree,
    smi,
    argv: (...extra) => [
      "sample",
      ...(tree ? ["--powercap-root", tree.root] : ["--no-powercap"]),
      ...gpuFlags,
      ...extra,
    ],
  };
  try {
    return await fn(fx);
  } finally {
    await tree?.remove();
    await smi?.remove();
  }
}
