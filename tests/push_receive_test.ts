/**
 * `push | receive` through real processes: what arrives equals what was sent, bit for bit.
 */
import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { runWattwave, spawnWattwave } from "./support/cli.ts";
import { startReceive } from "./support/receive.ts";

function canonicalLines(n: number): string[] {
  const lines: string[] = [];
  const specials = [
    '"NaN"',
    '"StaleNaN"',
    '"+Inf"',
    '"-Inf"',
    "-0",
    '"0x7ff8000000000000"',
    "5e-324",
    "0.1",
  ];
  for (let s = 0; s < 20; s++) {
    for (let i = 0; i < n; i++) {
      const v = i < specials.length && s === 0 ? specials[i] : String((s * 1000 + i) * 0.25 - 3);
      lines.push(
        `{"name":"wattwave_test_${s % 4}","labels":{"host":"h${s}","zone":"z é"},"timestamp":${
          1732350000000 + i * 1000
        },"value":${v}}`,
      );
    }
  }
  return lines;
}

Deno.test("push | receive: output equals input, including NaN, ±Inf, StaleNaN, -0", async () => {
  const recv = await startReceive();
  try {
    const lines = canonicalLines(250); // 5000 samples: 3 requests at --batch-size 2000
    const meta =
      '{"metadata":{"name":"wattwave_test_0","type":"gauge","unit":"watts","help":"test"}}';
    const push = await runWattwave(["push", "--url", recv.url], {
      stdin: [meta, ...lines].join("\n") + "\n",
    });
    assertEquals(push.code, 0, push.stderr);
    assertMatch(
      push.stderr,
      /read 5000 samples \(0 bad lines\), sent 5000, retried 0, dropped 0, 3 requests/,
    );
    const out = await recv.stop();
    assertEquals(out.code, 0, out.stderr);
    const got = out.stdout.trim().split("\n");
    const gotSamples = got.filter((l) => !l.startsWith('{"metadata"'));
    assertEquals(gotSamples.sort(), [...lines].sort());
    assert(
      got.includes(
        '{"metadata":{"name":"wattwave_test_0","type":"gauge","unit":"watts","help":"test"}}',
      ),
    );
  } finally {
    await recv.stop().catch(() => {});
  }
});

Deno.test("push --parse-workers 2: a file past 8 MiB is parsed on workers; receive gets every sample, in order", async () => {
  const recv = await startReceive();
  const dir = await Deno.makeTempDir({ prefix: "wattwave-push-workers-" });
  try {
    const lines = canonicalLines(6000); // 120,000 samples, about 12 MiB
    const path = `${dir}/big.ndjson`;
    await Deno.writeTextFile(path, lines.join("\n") + "\nnot json\n");
    const push = await runWattwave(["push", "--parse-workers", "2", "--url", recv.url, path]);
    assertEquals(push.code, 1, push.stderr); // the bad last line
    assertMatch(push.stderr, new RegExp(`big\\.ndjson:${lines.length + 1}: `));
    assertMatch(
      push.stderr,
      /read 120000 samples \(1 bad lines\), sent 120000, retried 0, dropped 0, 60 requests/,
    );
    const out = await recv.stop();
    assertEquals(out.code, 0, out.stderr);
    const got = out.stdout.trim().split("\n");
    assertEquals(got.length, lines.length);
    // Each series arrives in time order (the order push read them).
    const bySeries = (all: string[]) => {
      const m = new Map<string, string[]>();
      for (const l of all) {
        const k = l.slice(0, l.indexOf(',"timestamp"'));
        m.set(k, [...(m.get(k) ?? []), l]);
      }
      return m;
    };
    assertEquals(bySeries(got), bySeries(lines));
  } finally {
    await recv.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("push: --label adds labels unless the series has them; labels sorted on the wire", async () => {
  const recv = await startReceive();
  try {
    const push = await runWattwave([
      "push",
      "--url",
      recv.url,
      "--label",
      "site=a",
      "--label",
      "host=default",
    ], {
      stdin: '{"name":"m","labels":{"zz":"1","host":"mine"},"timestamp":1000,"value":1}\n',
    });
    assertEquals(push.code, 0, push.stderr);
    const out = await recv.stop();
    assertEquals(
      out.stdout,
      '{"name":"m","labels":{"host":"mine","site":"a","zz":"1"},"timestamp":1000,"value":1}\n',
    );
  } finally {
    await recv.stop().catch(() => {});
  }
});

Deno.test("push: bad lines are reported with line numbers, skipped, exit 1; --strict stops", async () => {
  const recv = await startReceive();
  try {
    const input = [
      '{"name":"m","timestamp":1000,"value":1}',
      '{"name":"m","timestamp":"x","value":1}',
      "garbage",
      '{"name":"m","timestamp":2000,"value":2}',
    ].join("\n");
    const push = await runWattwave(["push", "--url", recv.url], { stdin: input });
    assertEquals(push.code, 1);
    assertMatch(push.stderr, /stdin:2: timestamp/);
    assertMatch(push.stderr, /stdin:3: not JSON/);
    assertMatch(push.stderr, /sent 2, retried 0, dropped 0/);
    const strict = await runWattwave(["push", "--url", recv.url, "--strict"], { stdin: input });
    assertEquals(strict.code, 1);
    assertMatch(strict.stderr, /stdin:2: bad NDJSON line: timestamp/);
    assert(!/stdin:3/.test(strict.stderr));
    const out = await recv.stop();
    // 2 good lines from the first run; the strict run still flushes the line read before the bad one.
    assertEquals(out.stdout.trim().split("\n").length, 3);
  } finally {
    await recv.stop().catch(() => {});
  }
});

Deno.test("receive --format arroyo writes the Arroyo connector schema", async () => {
  const recv = await startReceive(["--format", "arroyo"]);
  try {
    const push = await runWattwave(["push", "--url", recv.url], {
      stdin: '{"name":"m","labels":{"job":"j"},"timestamp":1732350000123,"value":2.5}\n',
    });
    assertEquals(push.code, 0, push.stderr);
    const out = await recv.stop();
    assertEquals(JSON.parse(out.stdout), {
      metric_name: "m",
      timestamp: "2024-11-23T08:20:00.123Z",
      value: 2.5,
      labels: '{"job":"j"}',
    });
  } finally {
    await recv.stop().catch(() => {});
  }
});

Deno.test("push: SIGTERM while stdin is still open flushes what was read and exits 0", async () => {
  const recv = await startReceive();
  const push = spawnWattwave(["push", "--url", recv.url, "--flush-interval", "60s"], {
    stdin: "piped",
  });
  try {
    const w = push.stdin.getWriter();
    const lines = Array.from(
      { length: 50 },
      (_, i) => `{"name":"m","labels":{},"timestamp":${1000 + i},"value":${i}}`,
    );
    await w.write(new TextEncoder().encode(lines.join("\n") + "\n"));
    await new Promise((r) => setTimeout(r, 1500)); // read, but not sent: the flush interval is long
    push.kill("SIGTERM");
    const out = await push.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    assertMatch(stderr, /read 50 samples \(0 bad lines\), sent 50/);
    const got = await recv.stop();
    assertEquals(got.stdout.trim().split("\n"), lines);
  } finally {
    await recv.stop().catch(() => {});
  }
});
