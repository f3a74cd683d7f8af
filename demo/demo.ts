/**
 * `deno task demo`: pushes the bundled telemetry sample (`demo/telemetry.ndjson`) through
 * `wattwave push` into an in-process remote-write receiver, and prints what arrived.
 *
 * @module
 */
import { run } from "../main.ts";
import { createWriteHandler, routeRequests } from "../lib/remote/write_handler.ts";
import { formatWriteRequest } from "../lib/remote/ndjson_output.ts";

const input = new URL("./telemetry.ndjson", import.meta.url).pathname;
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
  routeRequests("/api/v1/write", handler),
);
const url = `http://127.0.0.1:${server.addr.port}/api/v1/write`;

console.log(`$ wattwave push --url ${url} --batch-size 500 demo/telemetry.ndjson`);
const code = await run(["push", "--url", url, "--batch-size", "500", input]);
await server.shutdown();

const sent = (await Deno.readTextFile(input)).trimEnd().split("\n");
const key = (line: string) => line;
const same = new Set(sent.map(key));
const identical = received.filter((l) => same.has(l)).length;
const series = new Set(
  received.filter((l) => !l.startsWith('{"metadata"')).map((l) => {
    const o = JSON.parse(l);
    return o.name + JSON.stringify(o.labels);
  }),
);
console.log(`\nreceived ${requests} remote-write requests: ${received.length} NDJSON lines, ${series.size} series`);
console.log("first lines as received:");
for (const l of received.slice(0, 4)) console.log("  " + l);
console.log(
  `${identical} of ${sent.length} input lines came back byte for byte` +
    (identical === sent.length ? " (lossless)" : ""),
);
if (code !== 0 || identical !== sent.length) Deno.exit(1);
