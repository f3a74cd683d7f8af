/**
 * Remote write 2.0 (spec 2.0-rc.4) against its schema — no Prometheus that speaks 2.0 installs
 * here: the receiver's duties table-driven (content types → status, exact
 * `X-Prometheus-Remote-Write-*-Written` counts, each 400 case), `push --protobuf-message
 * io.prometheus.write.v2.Request | receive` bit for bit (histograms, exemplars, start
 * timestamps, stale markers, metadata), what push sends decoded with protobufjs from the
 * `.proto`, and push's fallback to 1.0 on 415.
 */
import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { runWattwave } from "./support/cli.ts";
import { startReceive } from "./support/receive.ts";
import { snappyDecode, snappyEncode } from "../lib/remote/codec/snappy.ts";
import { encodeWriteRequestV2 } from "../lib/remote/codec/write_request_v2.ts";
import { writeV2Type } from "../lib/remote/codec/prompb.ts";
import { integerHistogram } from "./support/histograms.ts";

const V2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

function v2Body(obj: Record<string, unknown>): Uint8Array<ArrayBuffer> {
  const type = writeV2Type("Request");
  return snappyEncode(type.encode(type.fromObject(obj)).finish());
}

const goodV2 = () =>
  snappyEncode(encodeWriteRequestV2([{
    labels: [["__name__", "up"], ["job", "a"]],
    timestampsMs: [1000, 2000],
    values: new Float64Array([1, 0]),
    histograms: [integerHistogram(3000)],
    exemplars: [{ labels: [["trace_id", "t"]], value: { value: 1 }, timestampMs: 1000 }],
  }]));

Deno.test("receive: remote write 2.0 duties, table-driven", async () => {
  const recv = await startReceive(["--quiet"]);
  try {
    const cases: {
      name: string;
      type: string;
      body: Uint8Array<ArrayBuffer>;
      status: number;
      written: string;
      reason?: RegExp;
    }[] = [
      { name: "2.0 by proto=", type: V2, body: goodV2(), status: 204, written: "2/1/1" },
      {
        name: "2.0, quoted and spaced",
        type: 'application/x-protobuf; proto="io.prometheus.write.v2.Request"',
        body: goodV2(),
        status: 204,
        written: "2/1/1",
      },
      {
        name: "unknown proto",
        type: "application/x-protobuf;proto=io.prometheus.write.v3.Request",
        body: goodV2(),
        status: 415,
        written: "0/0/0",
        reason: /unsupported remote-write message/,
      },
      {
        name: "not protobuf",
        type: "application/json",
        body: goodV2(),
        status: 415,
        written: "0/0/0",
      },
      {
        name: "symbols[0] not empty",
        type: V2,
        body: v2Body({ symbols: ["x", "__name__", "up"], timeseries: [{ labels_refs: [1, 2] }] }),
        status: 400,
        written: "0/0/0",
        reason: /symbols\[0\] must be the empty string/,
      },
      {
        name: "reference beyond the symbols",
        type: V2,
        body: v2Body({ symbols: ["", "__name__"], timeseries: [{ labels_refs: [1, 9] }] }),
        status: 400,
        written: "0/0/0",
        reason: /symbol 9, beyond the 2 symbols/,
      },
      {
        name: "unsorted labels",
        type: V2,
        body: v2Body({
          symbols: ["", "__name__", "up", "job", "a"],
          timeseries: [{ labels_refs: [3, 4, 1, 2], samples: [{ value: 1, timestamp: 1 }] }],
        }),
        status: 400,
        written: "0/0/0",
        reason: /labels not sorted or duplicated/,
      },
      {
        name: "duplicate labels",
        type: V2,
        body: v2Body({
          symbols: ["", "__name__", "up"],
          timeseries: [{ labels_refs: [1, 2, 1, 2], samples: [{ value: 1, timestamp: 1 }] }],
        }),
        status: 400,
        written: "0/0/0",
        reason: /labels not sorted or duplicated/,
      },
    ];
    for (const c of cases) {
      const res = await fetch(recv.url, {
        method: "POST",
        headers: { "Content-Encoding": "snappy", "Content-Type": c.type },
        body: c.body,
      });
      const text = await res.text();
      assertEquals(res.status, c.status, `${c.name}: ${text}`);
      const h = (k: string) => res.headers.get(`X-Prometheus-Remote-Write-${k}-Written`);
      assertEquals(`${h("Samples")}/${h("Histograms")}/${h("Exemplars")}`, c.written, c.name);
      if (c.reason) assertMatch(text, c.reason);
    }
  } finally {
    await recv.stop();
  }
});

const LINES = [
  '{"metadata":{"name":"rpc_total","type":"counter","unit":"requests","help":"RPCs served."}}',
  '{"name":"rpc_total","labels":{"job":"api"},"timestamp":1795420800000,"value":12.5,"startTimestamp":1795420000000}',
  '{"name":"rpc_total","labels":{"job":"api"},"timestamp":1795420801000,"value":"StaleNaN","startTimestamp":1795420000000}',
  '{"name":"rpc_total","labels":{"job":"web"},"timestamp":1795420800000,"value":-0}',
  '{"name":"rpc_seconds","labels":{"job":"api"},"timestamp":1795420800000,"histogram":{"count":12,"sum":18.4,"schema":1,"zeroThreshold":0.001,"zeroCount":2,"negativeSpans":[[0,2]],"negativeDeltas":[1,1],"positiveSpans":[[0,2],[1,2]],"positiveDeltas":[1,1,-1,0],"resetHint":"no"},"startTimestamp":1795420000000}',
  '{"name":"rpc_seconds","labels":{"job":"api"},"timestamp":1795420801000,"histogram":{"float":true,"count":7.5,"sum":"StaleNaN","schema":-53,"zeroThreshold":0,"zeroCount":-0,"positiveSpans":[[0,3]],"positiveCounts":[1.5,2,4],"customValues":[0.1,0.5,1],"resetHint":"gauge"}}',
  '{"name":"rpc_total","labels":{"job":"api"},"exemplar":{"labels":{"trace_id":"4bf92f3577b34da6"},"value":0.25,"timestamp":1795420800500}}',
];

Deno.test("push --protobuf-message io.prometheus.write.v2.Request | receive: bit for bit", async () => {
  const recv = await startReceive();
  try {
    const push = await runWattwave(
      ["push", "--protobuf-message", "io.prometheus.write.v2.Request", "--url", recv.url],
      { stdin: LINES.join("\n") + "\n" },
    );
    assertEquals(push.code, 0, push.stderr);
    assert(
      !push.stderr.includes("falls back") && !push.stderr.includes("1.0 from now on"),
      push.stderr,
    );
    const out = await recv.stop();
    assertEquals(out.code, 0, out.stderr);
    assertEquals(out.stdout.trim().split("\n").sort(), [...LINES].sort());
  } finally {
    await recv.stop().catch(() => {});
  }
});

Deno.test("push v2 | receive --store | export: start timestamps, metadata, histograms and exemplars kept bit for bit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-v2-store-" });
  const recv = await startReceive(["--store", `${dir}/s`]);
  try {
    const push = await runWattwave(
      ["push", "--protobuf-message", "io.prometheus.write.v2.Request", "--url", recv.url],
      { stdin: LINES.join("\n") + "\n" },
    );
    assertEquals(push.code, 0, push.stderr);
  } finally {
    await recv.stop();
  }
  try {
    const e = await runWattwave(["export", "--store", `${dir}/s`]);
    assertEquals(e.code, 0, e.stderr);
    assertEquals(e.stdout.trim().split("\n").sort(), [...LINES].sort());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("push v2: the body decodes with protobufjs from proto/write_v2.proto; 415 falls back to 1.0, said once", async () => {
  const bodies: { type: string; version: string; bytes: Uint8Array }[] = [];
  const ac = new AbortController();
  let refuse = true;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      const bytes = snappyDecode(new Uint8Array(await req.arrayBuffer()), 1 << 26);
      const type = req.headers.get("Content-Type") ?? "";
      bodies.push({
        type,
        version: req.headers.get("X-Prometheus-Remote-Write-Version") ?? "",
        bytes,
      });
      if (type.includes("v2") && refuse) return new Response("v1 only", { status: 415 });
      return new Response(null, { status: 204 });
    },
  );
  const url = `http://127.0.0.1:${server.addr.port}/api/v1/write`;
  try {
    // First a receiver that takes 2.0: the body is a valid 2.0 Request
    refuse = false;
    const ok = await runWattwave(
      ["push", "--protobuf-message", "io.prometheus.write.v2.Request", "--url", url],
      { stdin: LINES.join("\n") + "\n" },
    );
    // (this receiver answers 204 without the written headers: 2.0 not read, resent as 1.0)
    assertEquals(ok.code, 0, ok.stderr);
    assertEquals(bodies[0].type, "application/x-protobuf;proto=io.prometheus.write.v2.Request");
    assertEquals(bodies[0].version, "2.0.0");
    const type = writeV2Type("Request");
    const msg = type.toObject(type.decode(bodies[0].bytes), { longs: Number, defaults: true });
    assertEquals(msg.symbols[0], "");
    assertEquals(msg.timeseries.length, 3);
    const api = msg.timeseries.find((t: { samples: unknown[] }) => t.samples.length === 2);
    assertEquals(api.samples[0].start_timestamp, 1795420000000);
    assertEquals(msg.symbols[api.metadata.help_ref], "RPCs served.");
    assertMatch(ok.stderr, /without X-Prometheus-Remote-Write-\*-Written headers/);
    assertEquals(bodies[1].type, "application/x-protobuf");
    // Then a 1.0-only receiver that answers 415: one fallback line, every batch delivered as 1.0
    bodies.length = 0;
    refuse = true;
    const fb = await runWattwave(
      [
        "push",
        "--protobuf-message",
        "io.prometheus.write.v2.Request",
        "--batch-size",
        "2",
        "--url",
        url,
      ],
      { stdin: LINES.join("\n") + "\n" },
    );
    assertEquals(fb.code, 0, fb.stderr);
    assertEquals(
      fb.stderr.split("\n").filter((l) => l.includes("answered 415")).length,
      1,
      fb.stderr,
    );
    assertMatch(fb.stderr, /sent 6, retried 0, dropped 0/);
    assertMatch(
      fb.stderr,
      /3 samples and histograms carried a startTimestamp, which remote write 1.0/,
    );
    assertEquals(bodies.filter((b) => b.type.includes("v2")).length, 1);
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("push v2: out-of-order samples keep their own start timestamps when sorted", async () => {
  const recv = await startReceive();
  try {
    const lines = [
      '{"name":"c_total","labels":{},"timestamp":2000,"value":2,"startTimestamp":200}',
      '{"name":"c_total","labels":{},"timestamp":1000,"value":1,"startTimestamp":100}',
      '{"name":"c_total","labels":{},"timestamp":1500,"value":1.5}',
    ];
    const push = await runWattwave(
      ["push", "--protobuf-message", "io.prometheus.write.v2.Request", "--url", recv.url],
      { stdin: lines.join("\n") + "\n" },
    );
    assertEquals(push.code, 0, push.stderr);
    const out = await recv.stop();
    assertEquals(out.stdout.trim().split("\n"), [lines[1], lines[2], lines[0]]);
  } finally {
    await recv.stop().catch(() => {});
  }
});
