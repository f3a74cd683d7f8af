/**
 * `wattwave replay-csv --shift-to-now FILE | wattwave push` into a real Prometheus 2.42: the
 * PromQL API returns the file's values, with the file's spacing, the first one at about now.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { spawnWattwave } from "../support/cli.ts";
import { collect } from "../support/net.ts";
import { promQuery, startPrometheus } from "../support/prometheus.ts";
import { dcgmSeriesCsv, nvidiaSmiCsv } from "../fixtures/csv/fixtures.ts";
import { peerTest } from "../support/peers.ts";

/** Runs `replay-csv args | push --url url` and returns both exit codes and stderrs. */
async function replayIntoPush(replayArgs: string[], url: string) {
  const replay = spawnWattwave(["replay-csv", ...replayArgs]);
  const push = spawnWattwave(["push", "--url", url, "--flush-interval", "200ms"], {
    stdin: "piped",
  });
  const [replayErr, pushErr, pushOut] = [
    collect(replay.stderr),
    collect(push.stderr),
    collect(push.stdout),
  ];
  await replay.stdout.pipeTo(push.stdin);
  const [r, p] = await Promise.all([replay.status, push.status]);
  await pushOut;
  return {
    replayCode: r.code,
    pushCode: p.code,
    replayErr: await replayErr,
    pushErr: await pushErr,
  };
}

peerTest(
  ["prometheus"],
  "replay-csv --shift-to-now | push: Prometheus returns the CSV's values",
  async () => {
    const prom = await startPrometheus();
    const dir = await Deno.makeTempDir({ prefix: "wattwave-replay-prom-" });
    try {
      // dcgm export: 5 scrapes 15 s apart, 2 GPUs × 2 metrics.
      const dcgmPath = `${dir}/dcgm.csv`;
      await Deno.writeTextFile(dcgmPath, dcgmSeriesCsv(5, 15_000));
      const startMs = Date.now();
      const run = await replayIntoPush(
        ["--shift-to-now", dcgmPath],
        `${prom.url}/api/v1/write`,
      );
      assertEquals(run.replayCode, 0, run.replayErr);
      assertEquals(run.pushCode, 0, run.pushErr);
      const atS = (startMs + 5 * 60_000) / 1000;
      const power = await promQuery(prom.url, 'DCGM_FI_DEV_POWER_USAGE{gpu="1"}[10m]', atS);
      assertEquals(power.length, 1);
      assertEquals(power[0].metric, {
        __name__: "DCGM_FI_DEV_POWER_USAGE",
        DCGM_FI_DRIVER_VERSION: "535.129.03",
        Hostname: "dgx-01",
        UUID: "GPU-00000001-aaaa-bbbb-cccc-000000000001",
        device: "nvidia1",
        gpu: "1",
        instance: "dgx-01:9400",
        job: "dgx_dcgm_exporter",
        modelName: "NVIDIA H100 80GB HBM3",
      });
      const values = power[0].values!;
      assertEquals(values.map((v) => v[1]), ["101.25", "111.25", "121.25", "131.25", "141.25"]);
      const t0 = values[0][0] * 1000;
      assert(
        Math.abs(t0 - startMs) < 30_000,
        `first sample at ${t0}, replay started at ${startMs}`,
      );
      assertEquals(values.map((v) => Math.round(v[0] * 1000 - t0)), [
        0,
        15_000,
        30_000,
        45_000,
        60_000,
      ]);
      const util = await promQuery(prom.url, "count(DCGM_FI_DEV_GPU_UTIL)", atS);
      assertEquals(util[0].value![1], "2");

      // nvidia-smi log (its bad last row is skipped: replay exits 1, push delivers the rest).
      const smiPath = `${dir}/smi.csv`;
      await Deno.writeTextFile(smiPath, nvidiaSmiCsv());
      const smiStart = Date.now();
      const smi = await replayIntoPush(
        ["--shift-to-now", "--timezone", "UTC", smiPath],
        `${prom.url}/api/v1/write`,
      );
      assertEquals(smi.replayCode, 1, smi.replayErr);
      assertEquals(smi.pushCode, 0, smi.pushErr);
      const mem = await promQuery(
        prom.url,
        'nvidia_smi_memory_used_bytes{index="1"}[10m]',
        (smiStart + 60_000) / 1000,
      );
      assertEquals(mem.length, 1);
      assertEquals(mem[0].metric.uuid, "66666666-7777-8888-9999-000000000000");
      assertEquals(mem[0].values!.map((v) => v[1]), [
        String(19818 * 1048576),
        String(19818 * 1048576),
      ]);
    } finally {
      await prom.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);
