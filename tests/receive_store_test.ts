/**
 * `push | receive --store` then `export`: samples and metadata arrive in the store, bit for bit.
 */
import { assertEquals } from "./support/assert.ts";
import { runWattwave } from "./support/cli.ts";
import { startReceive } from "./support/receive.ts";

Deno.test("push | receive --store | export: samples and metadata, bit for bit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-receive-store-" });
  const recv = await startReceive(["--store", `${dir}/store`]);
  try {
    const meta =
      '{"metadata":{"name":"gpu_power_watts","type":"gauge","unit":"watts","help":"GPU power"}}';
    const samples = [
      '{"name":"gpu_power_watts","labels":{"gpu":"0"},"timestamp":1795420800000,"value":69.85}',
      '{"name":"gpu_power_watts","labels":{"gpu":"0"},"timestamp":1795420801000,"value":"StaleNaN"}',
      '{"name":"gpu_power_watts","labels":{"gpu":"0"},"timestamp":1795420802000,"value":-0}',
      '{"name":"gpu_power_watts","labels":{"gpu":"1"},"timestamp":1795420800000,"value":"0x7ff8000000000123"}',
    ];
    const push = await runWattwave(["push", "--url", recv.url], {
      stdin: [meta, ...samples].join("\n"),
    });
    assertEquals(push.code, 0, push.stderr);
    const stopped = await recv.stop();
    assertEquals(stopped.code, 0, stopped.stderr);
    const out = await runWattwave(["export", "--store", `${dir}/store`]);
    assertEquals(out.code, 0, out.stderr);
    const lines = out.stdout.trimEnd().split("\n");
    assertEquals(lines[0], meta);
    assertEquals(lines.slice(1).sort(), [...samples].sort());
  } finally {
    await recv.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
