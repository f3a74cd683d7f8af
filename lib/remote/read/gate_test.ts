import { deepStrictEqual as assertEquals } from "node:assert";
import { Gate } from "./gate.ts";

Deno.test("gate: at most `limit` inside, the others in arrival order; an aborted waiter leaves", async () => {
  const gate = new Gate(2);
  const order: number[] = [];
  const a = await gate.enter();
  const b = await gate.enter();
  const abort = new AbortController();
  const c = gate.enter().then((leave) => (order.push(3), leave));
  const d = gate.enter(abort.signal).then(() => order.push(4), () => order.push(-4));
  const e = gate.enter().then((leave) => (order.push(5), leave));
  assertEquals([gate.inside, gate.waiting], [2, 3]);
  abort.abort();
  await d;
  a();
  (await c)();
  b();
  (await e)();
  assertEquals(order, [-4, 3, 5]);
  assertEquals([gate.inside, gate.waiting], [0, 0]);
});
