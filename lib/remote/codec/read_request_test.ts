import { deepStrictEqual, throws } from "node:assert/strict";
import { prompbType } from "./prompb.ts";
import {
  type DecodedReadRequest,
  decodeReadRequest,
  encodeReadRequest,
  RESPONSE_SAMPLES,
  RESPONSE_STREAMED_XOR_CHUNKS,
} from "./read_request.ts";
import { InputError } from "../../errors.ts";

const request: DecodedReadRequest = {
  queries: [
    {
      startMs: 1_700_000_000_000,
      endMs: 1_700_000_360_000,
      matchers: [
        { name: "__name__", type: "=", value: "power_watts" },
        { name: "gpu", type: "!=", value: "1" },
        { name: "host", type: "=~", value: "h.*|wätt" },
        { name: "zone", type: "!~", value: "" },
      ],
      hints: {
        stepMs: 15000,
        func: "rate",
        startMs: 1_700_000_000_000,
        endMs: 1_700_000_360_000,
        grouping: ["host"],
        by: true,
        rangeMs: 60000,
      },
    },
    { startMs: -5, endMs: 0, matchers: [{ name: "job", type: "=", value: "" }] },
  ],
  acceptedResponseTypes: [RESPONSE_STREAMED_XOR_CHUNKS, RESPONSE_SAMPLES],
};

Deno.test("decodeReadRequest reads what protobufjs encodes (packed and unpacked enums)", () => {
  const T = prompbType("ReadRequest");
  const typeNumber = { "=": 0, "!=": 1, "=~": 2, "!~": 3 };
  const msg = T.fromObject({
    queries: request.queries.map((q) => ({
      start_timestamp_ms: q.startMs,
      end_timestamp_ms: q.endMs,
      matchers: q.matchers.map((m) => ({ type: typeNumber[m.type], name: m.name, value: m.value })),
      hints: q.hints && {
        step_ms: q.hints.stepMs,
        func: q.hints.func,
        start_ms: q.hints.startMs,
        end_ms: q.hints.endMs,
        grouping: q.hints.grouping,
        by: q.hints.by,
        range_ms: q.hints.rangeMs,
      },
    })),
    accepted_response_types: request.acceptedResponseTypes,
  });
  const bytes = T.encode(msg).finish();
  deepStrictEqual(decodeReadRequest(bytes), request);
  // Our encoding decodes to the same message in protobufjs.
  const back = T.toObject(T.decode(encodeReadRequest(request)), { longs: Number, defaults: false });
  deepStrictEqual(back, T.toObject(msg, { longs: Number, defaults: false }));
  // Unpacked repeated enum (field 2 as separate varints).
  const unpacked = new Uint8Array([0x10, 0x01, 0x10, 0x00]);
  deepStrictEqual(decodeReadRequest(unpacked).acceptedResponseTypes, [1, 0]);
});

Deno.test("decodeReadRequest refuses malformed input with a reason", () => {
  throws(() => decodeReadRequest(new Uint8Array([0x0a, 0x05, 0x08])), InputError);
  throws(
    () => decodeReadRequest(new Uint8Array([0x0a, 0x04, 0x1a, 0x02, 0x08, 0x07])),
    /unknown label matcher type 7/,
  );
  throws(
    () => decodeReadRequest(new Uint8Array([0x0a, 0x04, 0x1a, 0x02, 0x08, 0x00])),
    /without a label name/,
  );
});
