import { strictEqual, throws } from "node:assert/strict";
import { SeriesIdTable } from "./id_table.ts";
import { seriesId } from "./index_file.ts";

Deno.test("series id table: get/set/delete as a Map, across growth and deletions", () => {
  const table = new SeriesIdTable();
  const map = new Map<string, number>();
  const ids = Array.from({ length: 5000 }, (_, i) => seriesId(`m\xffi\xfe${i}`));
  ids.forEach((id, i) => {
    table.set(id, i);
    map.set(id, i);
  });
  // Every third deleted (backward shifts keep the others reachable), some set again.
  ids.forEach((id, i) => {
    if (i % 3 === 0) strictEqual(table.delete(id), map.delete(id));
  });
  ids.forEach((id, i) => {
    if (i % 6 === 0) {
      table.set(id, i + 1);
      map.set(id, i + 1);
    }
  });
  strictEqual(table.size, map.size);
  for (const id of ids) strictEqual(table.get(id), map.get(id));
  strictEqual(table.delete(ids[3]), false);
  strictEqual(table.get("not an id"), undefined);
  strictEqual(table.get("ABCDEF0123456789"), undefined); // ids are lower-case hex
  throws(() => table.set("xyz", 1), /not a series id/);
  throws(() => table.set(ids[0], -1), /out of range/);
  const reserved = new SeriesIdTable();
  reserved.reserve(ids.length);
  ids.forEach((id, i) => reserved.set(id, i));
  strictEqual(reserved.get(ids[4999]), 4999);
});
