/**
 * An outage, end to end, for `push --queue-dir` and for vmagent (Debian's `victoria-metrics`
 * ships `/usr/bin/vmagent`, persistent queue in `-remoteWrite.tmpDataPath`), in one run: the
 * receiver (`wattwave receive`, which writes every sample it gets) is down while the input is
 * fed in three parts; the client is killed with SIGKILL after the first two; then the receiver
 * comes up and the client (restarted) delivers. Prints, per client, the samples fed, those that
 * reached its queue (wattwave: read from the queue files at each kill), delivered, lost and
 * duplicated.
 *
 *   deno run -A bench/outage.ts [--series 50] [--steps 600]
 *
 * @module
 */
import { spawnWattwave } from "../tests/support/cli.ts";
import { collect, freePort, waitForHttp } from "../tests/support/net.ts";
import { startReceive } from "../tests/support/receive.ts";
import { waitUntil } from "../tests/support/lines.ts";
import { queuedSamples } from "../tests/support/queue.ts";
import { arg } from "./support.ts";

const SERIES = Number(arg("series", "50"));
const STEPS = Number(arg("steps", "600"));
const T0 = Date.now() - STEPS * 1000;

interface Sample {
  s: number;
  t: number;
}

function part(k: number): Sample[] {
  const out: Sample[] = [];
  const from = Math.floor((STEPS * k) / 3);
  const to = Math.floor((STEPS * (k + 1)) / 3);
  for (let i = from; i < to; i++) {
    for (let s = 0; s < SERIES; s++) out.push({ s, t: T0 + i * 1000 });
  }
  return out;
}

const key = (s: number, t: number) => `${s}/${t}`;

function tally(name: string, fed: number, reached: number | string, got: string[]) {
  const unique = new Set(got);
  console.log(
    `| ${name} | ${fed} | ${reached} | ${unique.size} | ${fed - unique.size} | ${
      got.length - unique.size
    } |`,
  );
}

/** Keys of the samples a receive run wrote. */
function receivedKeys(stdout: string): string[] {
  const keys: string[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.includes('"outage"')) continue;
    const r = JSON.parse(line);
    keys.push(key(Number(r.labels.s), r.timestamp));
  }
  return keys;
}

async function wattwave(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-outage-" });
  const port = freePort();
  const url = `http://127.0.0.1:${port}/api/v1/write`;
  const reached = new Set<string>();
  let fed = 0;
  const snapshot = async () => {
    for (const q of await queuedSamples(dir)) reached.add(key(Number(q.labels.s), q.timestampMs));
  };
  const args = ["push", "--url", url, "--queue-dir", dir, "--batch-size", "500"];
  for (let k = 0; k < 3; k++) {
    const child = spawnWattwave([...args, "--shutdown-grace", "500ms"], { stdin: "piped" });
    const err = collect(child.stderr);
    const out = collect(child.stdout);
    const samples = part(k);
    fed += samples.length;
    const text = samples.map((x) =>
      `{"name":"outage","labels":{"s":"${x.s}"},"timestamp":${x.t},"value":${x.t % 1000}}`
    ).join("\n") + "\n";
    const queued = async () =>
      (await queuedSamples(dir)).length;
    const before = await queued();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(text));
    if (k < 2) {
      // Killed once this part is in the queue (as vmagent is once its import was answered and a
      // second passed for its queue to reach disk), like a crash mid-outage.
      const want = before + samples.length;
      await waitUntil(
        async () => (await queued()) >= want,
        `part ${k} in the queue`,
        60_000,
      );
      child.kill("SIGKILL");
      await w.close().catch(() => {});
    } else await w.close();
    await child.status;
    await err;
    await out;
    await snapshot();
  }
  const recv = await startReceive(["--port", String(port)]);
  const child = spawnWattwave(args, { stdin: "null" });
  await child.status;
  await child.stdout.cancel();
  await collect(child.stderr);
  const got = receivedKeys((await recv.stop()).stdout);
  tally("wattwave push --queue-dir", fed, reached.size, got);
  await Deno.remove(dir, { recursive: true });
}

async function vmagent(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-outage-vmagent-" });
  const port = freePort();
  const agentPort = freePort();
  const start = () =>
    new Deno.Command("vmagent", {
      args: [
        `-remoteWrite.url=http://127.0.0.1:${port}/api/v1/write`,
        `-remoteWrite.tmpDataPath=${dir}`,
        `-httpListenAddr=127.0.0.1:${agentPort}`,
        "-loggerLevel=ERROR",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
  let fed = 0;
  let agent = start();
  for (let k = 0; k < 3; k++) {
    await waitForHttp(`http://127.0.0.1:${agentPort}/health`);
    const samples = part(k);
    fed += samples.length;
    const bySeries = new Map<number, number[]>();
    for (const x of samples) (bySeries.get(x.s) ?? bySeries.set(x.s, []).get(x.s)!).push(x.t);
    const body = [...bySeries].map(([s, ts]) =>
      JSON.stringify({
        metric: { __name__: "outage", s: String(s) },
        values: ts.map((t) => t % 1000),
        timestamps: ts,
      })
    ).join("\n") + "\n";
    const r = await fetch(`http://127.0.0.1:${agentPort}/api/v1/import`, { method: "POST", body });
    await r.body?.cancel();
    if (k < 2) {
      await new Promise((r) => setTimeout(r, 2000)); // vmagent flushes its queue to disk every second
      agent.kill("SIGKILL");
      await agent.status;
      agent = start();
    }
  }
  const recv = await startReceive(["--port", String(port)]);
  // Delivered once the receiver's count stops growing for 5 s (vmagent retries with backoff).
  let last = -1;
  let stable = 0;
  const metrics = `http://127.0.0.1:${agentPort}/metrics`;
  for (let i = 0; i < 120 && stable < 5; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const text = await (await fetch(metrics)).text();
    const m = /vmagent_remotewrite_pending_data_bytes\{[^}]*\} (\d+)/.exec(text);
    const pending = m ? Number(m[1]) : 0;
    const sent = /vmagent_remotewrite_requests_total\{[^}]*status_code="204"[^}]*\} (\d+)/.exec(
      text,
    );
    const now = (sent ? Number(sent[1]) : 0) * 1e6 + pending;
    stable = now === last && pending === 0 ? stable + 1 : 0;
    last = now;
  }
  agent.kill("SIGTERM");
  await agent.status;
  const got = receivedKeys((await recv.stop()).stdout);
  tally("vmagent 1.79", fed, "n/a", got);
  await Deno.remove(dir, { recursive: true });
}

console.log(
  `outage: ${SERIES} series × ${STEPS} samples fed in three parts while the receiver is down; ` +
    "the client is killed with SIGKILL after parts 1 and 2\n",
);
console.log("| client | fed | reached the queue | delivered | lost | duplicated |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
await wattwave();
await vmagent();
