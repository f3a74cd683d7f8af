import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { snappyEncode } from "../codec/snappy.ts";
import { encodeWriteRequest } from "../codec/write_request.ts";
import { encodeWriteRequestV2 } from "../codec/write_request_v2.ts";
import { HttpRefusal } from "../http.ts";
import { InflightBudget } from "./inflight_budget.ts";
import {
  createWriteHandler,
  DECODED_COST_FACTOR,
  decodeWriteBody,
  decodeWriteBodyBatched,
  type SinkResult,
  STORE_DECODED_COST_FACTOR,
  WRITE_BATCH_SERIES,
} from "./write_handler.ts";

Deno.test("write handler: a request holds body + factor × decoded size until answered (the store factor for a store)", async () => {
  // Big enough that the hold is the formula, not the 64 KiB the body buffer starts at.
  const decoded = encodeWriteRequest(Array.from({ length: 3000 }, (_, i) => ({
    labels: [["__name__", "up"], ["i", String(i)]] as [string, string][],
    timestampsMs: [1000],
    values: new Float64Array([1]),
  })));
  const body = snappyEncode(decoded);
  for (const factor of [undefined, STORE_DECODED_COST_FACTOR]) {
    const inflight = new InflightBudget(1 << 30);
    let release!: () => void;
    const entered = Promise.withResolvers<void>();
    const handler = createWriteHandler({
      inflight,
      decodedCostFactor: factor,
      bodySink: () =>
        new Promise<SinkResult>((resolve) => {
          release = () => resolve("ok");
          entered.resolve();
        }),
    });
    const answer = handler(
      new Request("http://x/api/v1/write", {
        method: "POST",
        headers: { "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf" },
        body: body as BodyInit,
      }),
    );
    await entered.promise;
    strictEqual(
      inflight.usedBytes,
      body.length + decoded.length * (factor ?? DECODED_COST_FACTOR),
    );
    release();
    strictEqual((await answer).status, 204);
    strictEqual(inflight.usedBytes, 0);
  }
});

function manySeries(n: number, badAt = -1) {
  return Array.from({ length: n }, (_, i) => ({
    labels: [["__name__", "up"], [i === badAt ? "0bad" : "i", String(i)]] as [string, string][],
    timestampsMs: [1000 + i],
    values: new Float64Array([i / 4]),
  }));
}

Deno.test("decodeWriteBodyBatched: the series of decodeWriteBody, in batches, 1.0 and 2.0", () => {
  const n = 2 * WRITE_BATCH_SERIES + 5;
  for (const version of [1, 2] as const) {
    const series = manySeries(n);
    const body = snappyEncode(
      version === 2 ? encodeWriteRequestV2(series) : encodeWriteRequest(series),
    );
    const whole = decodeWriteBody(body, {}, version);
    const batched = decodeWriteBodyBatched(body, {}, version);
    strictEqual(batched.sampleCount, n);
    const batches = [...batched.batches()].map((b) => b.slice());
    deepStrictEqual(batches.map((b) => b.length), [WRITE_BATCH_SERIES, WRITE_BATCH_SERIES, 5]);
    deepStrictEqual(batches.flat(), whole.series);
    // The batches are handed out once: the decoded body is let go after them.
    throws(() => [...batched.batches()], /handed out already/);
    // A request of one batch: its one batch (the first pass's series).
    const small = snappyEncode(encodeWriteRequest(series.slice(0, WRITE_BATCH_SERIES)));
    const once = decodeWriteBodyBatched(small, {}, 1);
    const [only, ...more] = [...once.batches()];
    deepStrictEqual([only, more.length], [whole.series.slice(0, WRITE_BATCH_SERIES), 0]);
    throws(() => [...once.batches()], /handed out already/);
  }
});

Deno.test("decodeWriteBodyBatched: a bad series in the last batch refuses the request before any batch", () => {
  const n = 2 * WRITE_BATCH_SERIES + 5;
  const body = snappyEncode(encodeWriteRequest(manySeries(n, n - 1)));
  throws(() => decodeWriteBodyBatched(body), (err: unknown) => {
    ok(err instanceof HttpRefusal && err.status === 400, String(err));
    ok(/invalid label name "0bad"/.test(err.message), err.message);
    return true;
  });
  throws(() => decodeWriteBodyBatched(body, { maxSeriesPerRequest: n - 1 }), HttpRefusal);
});
