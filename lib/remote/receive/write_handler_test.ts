import { strictEqual } from "node:assert/strict";
import { snappyEncode } from "../codec/snappy.ts";
import { encodeWriteRequest } from "../codec/write_request.ts";
import { InflightBudget } from "./inflight_budget.ts";
import {
  createWriteHandler,
  DECODED_COST_FACTOR,
  type SinkResult,
  STORE_DECODED_COST_FACTOR,
} from "./write_handler.ts";

Deno.test("write handler: a request holds body + factor × decoded size until answered (48 × for a store)", async () => {
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
