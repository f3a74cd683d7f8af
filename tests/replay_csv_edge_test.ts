/**
 * replay-csv edge cases: what was read before an error is delivered; with `--metric` a
 * non-number in the value column is a bad row, never a reason to drop the column.
 */
import { assertEquals, assertMatch } from "./support/assert.ts";
import { runWattwave } from "./support/cli.ts";

Deno.test("replay-csv --strict still delivers the rows before the bad one; so does a missing later file", async () => {
  const csv = "timestamp,value\n1700000000,1\n1700000001,2\n1700000002,x\n";
  const strict = await runWattwave(["replay-csv", "--metric", "m", "--strict"], { stdin: csv });
  assertEquals(strict.code, 1);
  assertEquals(strict.stdout.trim().split("\n").filter((l) => l.startsWith('{"name"')).length, 2);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/ok.csv`, "timestamp,value\n1700000000,1\n1700000001,2\n");
    const r = await runWattwave([
      "replay-csv",
      "--metric",
      "m",
      `${dir}/ok.csv`,
      `${dir}/missing.csv`,
    ]);
    assertEquals(r.code, 1);
    assertEquals(r.stdout.trim().split("\n").filter((l) => l.startsWith('{"name"')).length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replay-csv --metric: a bad first value is a bad row; the column's numbers still come out", async () => {
  const r = await runWattwave(["replay-csv", "--metric", "m"], {
    stdin: "timestamp,value\n1700000000,oops\n1700000001,2\n1700000002,3\n",
  });
  assertEquals(r.code, 1);
  assertMatch(r.stderr, /not a number \(got "oops"\)/);
  const values = r.stdout.trim().split("\n").filter((l) => l.startsWith('{"name"')).map((l) =>
    JSON.parse(l).value
  );
  assertEquals(values, [2, 3]);
});
