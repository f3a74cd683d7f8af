import { ok } from "node:assert/strict";
import { PERMISSION_FLAGS } from "../cli/permissions.ts";
import { WORKER_MODULES } from "./modules.ts";

Deno.test("every worker module of the list exists; every worker module of lib/ is in it", async () => {
  const listed = new Set(Object.values(WORKER_MODULES).map((u) => u.pathname));
  for (const path of listed) ok(Deno.statSync(path).isFile, path);
  const lib = new URL("../", import.meta.url).pathname;
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (e.name.endsWith("_worker.ts")) found.push(path);
    }
  };
  await walk(lib.replace(/\/$/, ""));
  for (const path of found) {
    if (path.endsWith("/test_worker.ts")) continue;
    ok(listed.has(path), `${path} is not in WORKER_MODULES (deno task compile would miss it)`);
  }
  ok(found.length >= 3, found.join(", "));
});

Deno.test("deno.json's run tasks grant exactly PERMISSION_FLAGS", () => {
  const config = JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)));
  for (const task of ["wattwave", "demo"]) {
    const flags = (config.tasks[task] as string).split(" ").filter((w) => w.startsWith("--allow"));
    ok(JSON.stringify(flags) === JSON.stringify(PERMISSION_FLAGS), `${task}: ${flags}`);
  }
});
