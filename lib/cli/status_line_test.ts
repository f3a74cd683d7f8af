import { deepStrictEqual as assertEquals } from "node:assert";
import { StatusLine } from "./status_line.ts";

Deno.test("status line: drawn in place, log lines pass above it, cleared before a summary", () => {
  let out = "";
  const dec = new TextDecoder();
  const s = new StatusLine({ enabled: true, columns: 40, write: (b) => (out += dec.decode(b)) });
  s.draw("push: 10 samples/s");
  s.log("wattwave push: retry 1");
  s.clear();
  assertEquals(
    out,
    "\r\x1b[Kpush: 10 samples/s" + "\r\x1b[Kwattwave push: retry 1\npush: 10 samples/s" +
      "\r\x1b[K",
  );
  out = "";
  s.draw("x".repeat(100));
  assertEquals(out, "\r\x1b[K" + "x".repeat(38) + "…");
  const off = new StatusLine({ enabled: false, write: (b) => (out += dec.decode(b)) });
  out = "";
  off.draw("nothing");
  off.clear();
  assertEquals(out, "");
});
