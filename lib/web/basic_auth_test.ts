import { deepStrictEqual as assertEquals } from "node:assert";
import bcrypt from "bcryptjs";
import { BasicAuthVerifier } from "./basic_auth.ts";

const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

Deno.test("basic auth: right, wrong and unknown credentials; malformed headers", async () => {
  const v = new BasicAuthVerifier(new Map([["alice", bcrypt.hashSync("s3cret:with:colons", 4)]]));
  assertEquals(await v.check(basic("alice", "s3cret:with:colons")), true);
  assertEquals(await v.check(basic("alice", "wrong")), false);
  assertEquals(await v.check(basic("mallory", "s3cret:with:colons")), false);
  for (const h of [null, "", "Bearer x", "Basic !!!", `Basic ${btoa("nocolon")}`]) {
    assertEquals(await v.check(h), false, String(h));
  }
});

Deno.test("basic auth: each credential pays bcrypt once; an unknown user pays it too", async () => {
  let compares = 0;
  const original = bcrypt.compare;
  // deno-lint-ignore no-explicit-any
  (bcrypt as any).compare = (...args: Parameters<typeof original>) => {
    compares++;
    return original(...args);
  };
  try {
    const v = new BasicAuthVerifier(new Map([["alice", bcrypt.hashSync("pw", 4)]]));
    await Promise.all([1, 2, 3].map(() => v.check(basic("alice", "pw"))));
    assertEquals(compares, 1); // concurrent checks of one credential share one compare
    await v.check(basic("alice", "pw"));
    assertEquals(compares, 1); // cached
    await v.check(basic("nobody", "pw"));
    assertEquals(compares, 2); // an unknown user is compared against a dummy hash
  } finally {
    // deno-lint-ignore no-explicit-any
    (bcrypt as any).compare = original;
  }
});
