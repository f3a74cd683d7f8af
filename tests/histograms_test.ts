/**
 * Native histograms and exemplars through the CLI: `push | receive` bit for bit, the
 * `X-Prometheus-Remote-Write-*-Written` headers, `receive --store` and `compress` keeping them
 * (and start timestamps) for `export` bit for bit, `--format arroyo` counting what it has no
 * column for.
 */
import { assertEquals, assertMatch } from "./support/assert.ts";
import { runWattwave } from "./support/cli.ts";
import { startReceive } from "./support/receive.ts";
import { encodeWriteRequest, type WireSeries } from "../lib/remote/codec/write_request.ts";
import { snappyEncode } from "../lib/remote/codec/snappy.ts";
import { floatCustomHistogram, integerHistogram } from "./support/histograms.ts";

const HISTOGRAM_LINES = [
  '{"name":"rpc_seconds","labels":{"job":"api"},"timestamp":1795420800000,"histogram":{"count":12,"sum":18.4,"schema":1,"zeroThreshold":0.001,"zeroCount":2,"negativeSpans":[[0,2]],"negativeDeltas":[1,1],"positiveSpans":[[0,2],[1,2]],"positiveDeltas":[1,1,-1,0],"resetHint":"no"}}',
  '{"name":"rpc_seconds","labels":{"job":"api"},"timestamp":1795420801000,"histogram":{"float":true,"count":7.5,"sum":"StaleNaN","schema":-53,"zeroThreshold":0,"zeroCount":-0,"positiveSpans":[[0,3]],"positiveCounts":[1.5,2,4],"customValues":[0.1,0.5,1],"resetHint":"gauge"}}',
];
const EXEMPLAR_LINE =
  '{"name":"rpc_total","labels":{"job":"api"},"exemplar":{"labels":{"trace_id":"4bf92f3577b34da6"},"value":0.25,"timestamp":1795420800500}}';
const SAMPLE_LINE =
  '{"name":"rpc_total","labels":{"job":"api"},"timestamp":1795420800000,"value":"StaleNaN"}';

/** A snappy WriteRequest body with one sample, two histograms and one exemplar. */
function richBody(): Uint8Array<ArrayBuffer> {
  const series: WireSeries[] = [{
    labels: [["__name__", "rpc_seconds"], ["job", "api"]],
    timestampsMs: [1000],
    values: new Float64Array([1]),
    histograms: [integerHistogram(1000), floatCustomHistogram(2000)],
    exemplars: [{ labels: [["trace_id", "a"]], value: { value: 1 }, timestampMs: 1000 }],
  }];
  return snappyEncode(encodeWriteRequest(series));
}

function post(url: string, body: Uint8Array<ArrayBuffer>): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf" },
    body,
  });
}

function written(res: Response): string {
  const h = (k: string) => res.headers.get(`X-Prometheus-Remote-Write-${k}-Written`);
  return `${h("Samples")}/${h("Histograms")}/${h("Exemplars")}`;
}

Deno.test("push | receive: native histograms and exemplars arrive bit for bit", async () => {
  const recv = await startReceive();
  try {
    const input = [SAMPLE_LINE, ...HISTOGRAM_LINES, EXEMPLAR_LINE];
    const push = await runWattwave(["push", "--url", recv.url], { stdin: input.join("\n") + "\n" });
    assertEquals(push.code, 0, push.stderr);
    assertMatch(push.stderr, /read 4 samples \(0 bad lines\), sent 4, retried 0, dropped 0/);
    const out = await recv.stop();
    assertEquals(out.code, 0, out.stderr);
    assertEquals(out.stdout.trim().split("\n").sort(), [...input].sort());
  } finally {
    await recv.stop().catch(() => {});
  }
});

Deno.test("receive: every answer carries exact X-Prometheus-Remote-Write-*-Written counts", async () => {
  const recv = await startReceive();
  try {
    const ok = await post(recv.url, richBody());
    assertEquals(ok.status, 204);
    assertEquals(written(ok), "1/2/1");
    const bad = await post(recv.url, snappyEncode(new Uint8Array([0x0a, 0x7f, 1])));
    await bad.body?.cancel();
    assertEquals(bad.status, 400);
    assertEquals(written(bad), "0/0/0");
  } finally {
    await recv.stop();
  }
});

Deno.test("receive --store: histograms and exemplars are kept and exported bit for bit; a retry stores nothing twice", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-hist-store-" });
  const recv = await startReceive(["--store", `${dir}/store`]);
  try {
    for (let i = 0; i < 2; i++) { // the second is a retry after a lost answer
      const res = await post(recv.url, richBody());
      await res.body?.cancel();
      assertEquals(res.status, 204);
      assertEquals(written(res), "1/2/1");
    }
  } finally {
    await recv.stop();
  }
  try {
    const e = await runWattwave(["export", "--store", `${dir}/store`]);
    assertEquals(e.code, 0, e.stderr);
    const head = `{"name":"rpc_seconds","labels":{"job":"api"},`;
    assertEquals(e.stdout.trim().split("\n"), [
      `${head}"timestamp":1000,"value":1}`,
      `${head}"timestamp":1000,"histogram":{"count":12,"sum":18.4,"schema":1,"zeroThreshold":0.001,"zeroCount":2,"negativeSpans":[[0,2]],"negativeDeltas":[1,1],"positiveSpans":[[0,2],[1,2]],"positiveDeltas":[1,1,-1,0],"resetHint":"no"}}`,
      `${head}"timestamp":2000,"histogram":{"float":true,"count":7.5,"sum":"StaleNaN","schema":-53,"zeroThreshold":0,"zeroCount":-0,"positiveSpans":[[0,3]],"positiveCounts":[1.5,2,4],"customValues":[0.1,0.5,1],"resetHint":"gauge"}}`,
      `${head}"exemplar":{"labels":{"trace_id":"a"},"value":1,"timestamp":1000}}`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("receive --format arroyo: histograms and exemplars are counted and said once, not written", async () => {
  const recv = await startReceive(["--format", "arroyo"]);
  try {
    for (let i = 0; i < 2; i++) {
      const res = await post(recv.url, richBody());
      assertEquals(res.status, 204);
      assertEquals(written(res), "1/0/0");
    }
    const metrics = await (await fetch(new URL("/metrics", recv.baseUrl))).text();
    assertMatch(metrics, /^wattwave_receive_unwritten_total 6$/m);
    const out = await recv.stop();
    assertEquals(out.stdout.trim().split("\n").length, 2); // the two float samples
    const said = out.stderr.split("\n").filter((l) =>
      l.includes("no column for native histograms")
    );
    assertEquals(said.length, 1, out.stderr);
  } finally {
    await recv.stop().catch(() => {});
  }
});

Deno.test("compress | export: histogram, exemplar and startTimestamp lines come back bit for bit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-hist-compress-" });
  try {
    const started =
      '{"name":"rpc_total","labels":{"job":"api"},"timestamp":1795420801000,"value":3,"startTimestamp":1795420000000}';
    const input = [SAMPLE_LINE, started, ...HISTOGRAM_LINES, EXEMPLAR_LINE];
    const c = await runWattwave(["compress", "--store", `${dir}/s`], {
      stdin: input.join("\n") + "\n",
    });
    assertEquals(c.code, 0, c.stderr);
    assertMatch(c.stderr, /2 samples, 2 histograms, 1 exemplars, 2 series/);
    const e = await runWattwave(["export", "--store", `${dir}/s`]);
    assertEquals(e.code, 0, e.stderr);
    assertEquals(e.stdout.trim().split("\n").sort(), [...input].sort());
    // the same input again: nothing is stored twice
    const again = await runWattwave(["compress", "--store", `${dir}/s`], {
      stdin: input.join("\n") + "\n",
    });
    assertEquals(again.code, 0, again.stderr);
    assertMatch(again.stderr, /3 histograms\/exemplars already stored \(skipped\)/);
    const e2 = await runWattwave(["export", "--store", `${dir}/s`]);
    assertEquals(e2.stdout, e.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("push: an input of histogram lines only is sent (no float sample in the batch)", async () => {
  const recv = await startReceive();
  try {
    const push = await runWattwave(["push", "--url", recv.url], {
      stdin: HISTOGRAM_LINES.join("\n") + "\n",
    });
    assertEquals(push.code, 0, push.stderr);
    assertMatch(push.stderr, /read 2 samples \(0 bad lines\), sent 2/);
    const out = await recv.stop();
    assertEquals(out.stdout.trim().split("\n").sort(), [...HISTOGRAM_LINES].sort());
  } finally {
    await recv.stop().catch(() => {});
  }
});
