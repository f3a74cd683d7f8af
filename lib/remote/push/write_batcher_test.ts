import { assertEquals } from "../../../tests/support/assert.ts";
import { seededRandom } from "../../../tests/support/random.ts";
import { readNdjson, type ReadStats } from "../../ndjson/reader.ts";
import { readNdjsonColumns } from "../../ndjson/column_reader.ts";
import { RemoteWriteBatcher } from "./write_batcher.ts";
import type { RemoteWriteClient } from "./write_client.ts";

/** A client that keeps the bodies it is given. */
function capturingClient(bodies: Uint8Array[]): RemoteWriteClient {
  return {
    send: (body: Uint8Array) => {
      bodies.push(body.slice());
      return Promise.resolve({ attempts: 1 });
    },
  } as unknown as RemoteWriteClient;
}

function randomNdjson(seed: number, lines: number): Uint8Array {
  const random = seededRandom(seed);
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const r = random();
    if (r < 0.02) out.push(`{"metadata":{"name":"m${i % 3}","type":"gauge","unit":"","help":"h"}}`);
    else if (r < 0.05) out.push(`{"name":"m0","timestamp":${i},"value":"StaleNaN"}`);
    else if (r < 0.08) out.push(`{"value":${i},"name":"m1","timestamp":${1000 - i}}`); // out of order
    else {
      out.push(
        `{"name":"m${i % 3}","labels":{"k":"${
          Math.floor(random() * 20)
        }"},"timestamp":${i},"value":${random() * 100}}`,
      );
    }
  }
  return new TextEncoder().encode(out.join("\n") + "\n");
}

Deno.test("RemoteWriteBatcher: addColumns makes the same requests as add, byte for byte", async () => {
  for (const seed of [1, 2, 3]) {
    const bytes = randomNdjson(seed, 3000);
    const options = { batchSize: 97, flushIntervalMs: 3_600_000, extraLabels: { host: "h" } };
    const stats = (): ReadStats => ({ lines: 0, badLines: 0, bytes: 0 });
    const want: Uint8Array[] = [];
    const byRecords = new RemoteWriteBatcher(capturingClient(want), options);
    const sources = () => [{ name: "in", stream: ReadableStream.from([bytes]) }];
    for await (const records of readNdjson(sources(), stats())) await byRecords.add(records);
    await byRecords.close();
    for (const workers of [0, 2]) {
      const got: Uint8Array[] = [];
      const byColumns = new RemoteWriteBatcher(capturingClient(got), options);
      await readNdjsonColumns(sources(), stats(), (c) => byColumns.addColumns(c), {
        workers,
        workersAfterBytes: 0,
        jobBytes: 2048,
      });
      await byColumns.close();
      assertEquals(got, want, `seed ${seed}, ${workers} workers`);
    }
  }
});
