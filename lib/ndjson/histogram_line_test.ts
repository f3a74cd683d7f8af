import { assert, assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { BadLine, formatRecord, parseLine } from "./contract.ts";
import { floatCustomHistogram, integerHistogram } from "../../tests/support/histograms.ts";
import type { ExemplarRecord, HistogramRecord } from "../model/sample.ts";

Deno.test("histogram lines: format → parse gives the same histogram, bit for bit", () => {
  for (const h of [integerHistogram(1000), floatCustomHistogram(2000)]) {
    h.startTimestampMs = h.isFloat ? 500 : 0;
    const r: HistogramRecord = { kind: "histogram", name: "m", labels: { job: "a" }, histogram: h };
    const line = formatRecord(r);
    const back = parseLine(line);
    assertEquals(back, r);
    assertEquals(formatRecord(back), line);
  }
});

Deno.test("histogram lines: the documented shape", () => {
  const r: HistogramRecord = {
    kind: "histogram",
    name: "m",
    labels: {},
    histogram: integerHistogram(1000),
  };
  assertEquals(
    formatRecord(r),
    '{"name":"m","labels":{},"timestamp":1000,"histogram":{"count":12,"sum":18.4,"schema":1,' +
      '"zeroThreshold":0.001,"zeroCount":2,"negativeSpans":[[0,2]],"negativeDeltas":[1,1],' +
      '"positiveSpans":[[0,2],[1,2]],"positiveDeltas":[1,1,-1,0],"resetHint":"no"}}',
  );
  assertEquals(
    formatRecord({ ...r, histogram: floatCustomHistogram(5) }),
    '{"name":"m","labels":{},"timestamp":5,"histogram":{"float":true,"count":7.5,' +
      '"sum":"StaleNaN","schema":-53,"zeroThreshold":0,"zeroCount":-0,"positiveSpans":[[0,3]],' +
      '"positiveCounts":[1.5,2,4],"customValues":[0.1,0.5,1],"resetHint":"gauge"}}',
  );
});

Deno.test("exemplar lines: format → parse, labels sorted", () => {
  const r: ExemplarRecord = {
    kind: "exemplar",
    name: "m",
    labels: { job: "a" },
    exemplar: {
      labels: [["span_id", "1"], ["trace_id", "abc"]],
      value: { value: NaN, nanBits: "7ff8000000000001" },
      timestampMs: 77,
    },
  };
  const line = formatRecord(r);
  assertEquals(
    line,
    '{"name":"m","labels":{"job":"a"},"exemplar":{"labels":{"span_id":"1","trace_id":"abc"},' +
      '"value":"NaN","timestamp":77}}',
  );
  assertEquals(parseLine(line), r);
});

Deno.test("histogram and exemplar lines: bad ones are refused naming what is wrong", () => {
  const cases: [string, string][] = [
    [
      '{"name":"m","timestamp":1,"histogram":{"count":1,"sum":0,"schema":0,"zeroThreshold":0,"zeroCount":0,"positiveSpans":[[0,2]],"positiveDeltas":[1],"resetHint":"unknown"}}',
      "spans hold 2 buckets but 1 deltas",
    ],
    [
      '{"name":"m","timestamp":1,"histogram":{"count":1,"sum":0,"schema":9,"zeroThreshold":0,"zeroCount":0,"resetHint":"unknown"}}',
      "schema 9",
    ],
    [
      '{"name":"m","timestamp":1,"histogram":{"count":1.5,"sum":0,"schema":0,"zeroThreshold":0,"zeroCount":0,"resetHint":"unknown"}}',
      "count of an integer histogram",
    ],
    [
      '{"name":"m","timestamp":1,"histogram":{"count":1,"sum":0,"schema":0,"zeroThreshold":0,"zeroCount":0,"resetHint":"maybe"}}',
      "resetHint must be one of",
    ],
    [
      '{"name":"m","timestamp":1,"histogram":{"count":1,"sum":0,"schema":0,"zeroThreshold":0,"zeroCount":0,"resetHint":"no","bogus":1}}',
      "bogus",
    ],
    ['{"name":"m","exemplar":{"labels":{"1x":"a"},"value":1,"timestamp":1}}', "1x"],
    ['{"name":"m","exemplar":{"labels":{},"value":"big","timestamp":1}}', "exemplar.value"],
  ];
  for (const [line, want] of cases) {
    const err = assertThrows(() => parseLine(line), BadLine);
    assert(err.message.includes(want), `${line}: ${err.message}`);
  }
});
