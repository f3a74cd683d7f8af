import { assertEquals, assertMatch, assertThrows } from "../../tests/support/assert.ts";
import { BadLine, formatRecord, formatSample, parseLine } from "./contract.ts";
import { hexOfNumber, STALE_NAN_HEX } from "../model/value.ts";
import type { Sample } from "../model/sample.ts";

Deno.test("parseLine → formatRecord is the identity on canonical lines", () => {
  const lines = [
    '{"name":"node_rapl_package_joules_total","labels":{"index":"0"},"timestamp":1732350000123,"value":12.5}',
    '{"name":"m","labels":{},"timestamp":-5,"value":-0}',
    '{"name":"m","labels":{},"timestamp":0,"value":"NaN"}',
    '{"name":"m","labels":{},"timestamp":0,"value":"StaleNaN"}',
    '{"name":"m","labels":{},"timestamp":0,"value":"+Inf"}',
    '{"name":"m","labels":{},"timestamp":0,"value":"-Inf"}',
    '{"name":"m","labels":{},"timestamp":0,"value":"0x7ff8000000000000"}',
    '{"name":"m","labels":{},"timestamp":0,"value":"0xfff0000000000001"}',
    '{"name":"m","labels":{},"timestamp":0,"value":5e-324}',
    '{"name":"m","labels":{},"timestamp":0,"value":1.7976931348623157e+308}',
    '{"name":"m","labels":{},"timestamp":0,"value":9007199254740993}',
    '{"name":"a:b_c","labels":{"k":"v \\"q\\" \\u00e9"},"timestamp":9007199254740991,"value":0.1}',
    '{"metadata":{"name":"m","type":"counter","unit":"joules","help":"h"}}',
  ];
  for (const line of lines) {
    const expected = line.replace("9007199254740993", "9007199254740992");
    assertEquals(formatRecord(parseLine(line)), expected.replace("\\u00e9", "é"));
  }
});

Deno.test("values keep their exact bits", () => {
  const s = parseLine('{"name":"m","timestamp":1,"value":"StaleNaN"}') as Sample;
  assertEquals(s.nanBits, STALE_NAN_HEX);
  const neg = parseLine('{"name":"m","timestamp":1,"value":-0}') as Sample;
  assertEquals(hexOfNumber(neg.value), "8000000000000000");
  for (let i = 0; i < 2000; i++) {
    const v = (Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 40 - 20);
    const back = parseLine(
      formatSample({ kind: "sample", name: "m", labels: {}, timestampMs: 1, value: v }),
    ) as Sample;
    assertEquals(hexOfNumber(back.value), hexOfNumber(v));
  }
});

Deno.test("bad lines say what was wrong and what was received", () => {
  const cases: [string, RegExp][] = [
    ["not json", /not JSON.*got "not json"/],
    ["[1,2]", /expected a JSON object/],
    ['{"name":"bad name","timestamp":1,"value":1}', /name must match.*"bad name"/],
    ['{"name":"m","timestamp":1.5,"value":1}', /timestamp.*integer.*1\.5/],
    ['{"name":"m","value":1}', /timestamp/],
    ['{"name":"m","timestamp":1,"value":"abc"}', /value must be.*"abc"/],
    ['{"name":"m","timestamp":1,"value":true}', /value must be/],
    ['{"name":"m","labels":{"__name__":"x"},"timestamp":1,"value":1}', /__name__/],
    ['{"name":"m","labels":{"0k":"x"},"timestamp":1,"value":1}', /label name/],
    ['{"name":"m","labels":{"k":1},"timestamp":1,"value":1}', /label values must be strings/],
    ['{"metadata":{"name":"m","type":"bogus"}}', /metadata.type must be one of/],
  ];
  for (const [line, re] of cases) {
    const err = assertThrows(() => parseLine(line), BadLine);
    assertMatch(err.message, re);
  }
});
