/**
 * `deno task demo`: the main job on the bundled telemetry sample (`demo/telemetry.ndjson`:
 * RAPL counters and GPU power of two sockets and two GPUs over two minutes).
 *
 * 1. `wattwave push` into an in-process remote-write receiver; print what arrived.
 * 2. `wattwave compress` into a FLAC store in a temp dir, `wattwave export` it back, and check
 *    that every sample came back bit for bit; `flac -t` on the segments when `flac` is installed.
 *
 * @module
 */
import { run } from "../main.ts";
import { routePosts } from "../lib/remote/http.ts";
import { createWriteHandler } from "../lib/remote/receive/write_handler.ts";
import { formatWriteRequest } from "../lib/remote/receive/ndjson_output.ts";
import { PERMISSION_FLAGS } from "../tests/support/cli.ts";

const input = new URL("./telemetry.ndjson", import.meta.url).pathname;
const main = new URL("../main.ts", import.meta.url).pathname;
const sent = (await Deno.readTextFile(input)).trimEnd().split("\n");
const sentSamples = sent.filter((l) => !l.startsWith('{"metadata"'));

// 1. push → receive
const received: string[] = [];
let requests = 0;
const handler = createWriteHandler({
  sink: (req) => {
    requests++;
    received.push(...formatWriteRequest(req).trimEnd().split("\n"));
    return Promise.resolve("ok");
  },
});
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  routePosts([{ path: "/api/v1/write", name: "remote write", handler }]),
);
const url = `http://127.0.0.1:${server.addr.port}/api/v1/write`;
console.log(`$ wattwave push --url ${url} --batch-size 500 demo/telemetry.ndjson`);
const pushCode = await run(["push", "--url", url, "--batch-size", "500", input]);
await server.shutdown();
const inputLines = new Set(sent);
const identical = received.filter((l) => inputLines.has(l)).length;
const series = new Set(sentSamples.map((l) => {
  const o = JSON.parse(l);
  return o.name + JSON.stringify(o.labels);
}));
console.log(
  `received ${requests} remote-write requests: ${received.length} NDJSON lines, ${series.size} series`,
);
for (const l of received.slice(0, 3)) console.log("  " + l);
console.log(`${identical} of ${sent.length} input lines came back byte for byte\n`);

// 2. compress → export
const dir = await Deno.makeTempDir({ prefix: "wattwave-demo-" });
const store = `${dir}/store`;
console.log(`$ wattwave compress --store ${store} demo/telemetry.ndjson`);
const compressCode = await run(["compress", "--store", store, input]);
console.log(`$ wattwave export --store ${store}`);
const exported = await new Deno.Command(Deno.execPath(), {
  args: ["run", "--quiet", ...PERMISSION_FLAGS, main, "export", "--store", store],
  stdout: "piped",
  stderr: "inherit",
}).output();
const exportedLines = new TextDecoder().decode(exported.stdout).trimEnd().split("\n")
  .filter((l) => !l.startsWith('{"metadata"'));
const back = new Set(exportedLines);
const lossless = exportedLines.length === sentSamples.length &&
  sentSamples.every((l) => back.has(l));
console.log(
  `exported ${exportedLines.length} samples: ${
    lossless ? "identical to the input, bit for bit" : "DIFFERENT from the input"
  }`,
);
const segments = [...Deno.readDirSync(`${store}/segments`)]
  .filter((e) => e.name.endsWith(".flac"))
  .map((e) => `${store}/segments/${e.name}`);
let flacOk = true;
try {
  const t = await new Deno.Command("flac", { args: ["-t", "-s", ...segments], stderr: "piped" })
    .output();
  flacOk = t.code === 0;
  console.log(`flac -t on ${segments.length} segment files: ${flacOk ? "all ok" : "FAILED"}`);
} catch {
  console.log("(flac is not installed: skipping flac -t)");
}
await Deno.remove(dir, { recursive: true });
if (
  pushCode !== 0 || identical !== sent.length || compressCode !== 0 || exported.code !== 0 ||
  !lossless || !flacOk
) Deno.exit(1);
