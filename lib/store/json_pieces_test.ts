import { deepStrictEqual } from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { concatBytes } from "../bytes.ts";
import { gzipParts, JsonPieces } from "./json_pieces.ts";

const items = Array.from({ length: 200_000 }, (_, i) => ({ at: i, file: `f-${i % 7}`, s: "é" }));

async function build(pieces: JsonPieces): Promise<void> {
  pieces.raw(`{"g":1,"items":`);
  await pieces.array(items);
  pieces.raw(`,"empty":`);
  await pieces.array([]);
  pieces.raw("}");
}

Deno.test("JsonPieces: the pieces, and their gzip made as they are, are JSON.stringify's UTF-8", async () => {
  const expected = { g: 1, items, empty: [] };
  const kept = new JsonPieces();
  await build(kept);
  const parts = kept.finish();
  deepStrictEqual(JSON.parse(new TextDecoder().decode(concatBytes(parts))), expected);
  deepStrictEqual(
    JSON.parse(new TextDecoder().decode(gunzipSync(await gzipParts(parts, 1)))),
    expected,
  );
  // Several MB through zlib as they are made: waits for zlib when it is behind, loses nothing.
  const streamed = new JsonPieces({ gzipLevel: 1 });
  await build(streamed);
  deepStrictEqual(
    JSON.parse(new TextDecoder().decode(gunzipSync(await streamed.finishGzip()))),
    expected,
  );
});
