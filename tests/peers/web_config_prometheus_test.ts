/**
 * A real Prometheus 2.42 against wattwave's servers over HTTPS with basic auth (a private CA made
 * with openssl, hashes made with htpasswd): remote_write into `receive` arrives, a wrong password
 * gets 401 and nothing is kept, and remote_read from `serve-read` returns the store's data.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { parseNdjson, runWattwave } from "../support/cli.ts";
import { promQuery, startPrometheus } from "../support/prometheus.ts";
import { peerTest } from "../support/peers.ts";
import { startWattwaveServer } from "../support/receive.ts";
import { htpasswdHash, makeCerts } from "../support/tls.ts";
import { waitUntil } from "../support/lines.ts";
import { freePort } from "../support/net.ts";

function remoteYaml(
  kind: "remote_write" | "remote_read",
  url: string,
  password: string,
  ca: string,
) {
  return `${kind}:\n  - url: ${url}\n    basic_auth:\n      username: alice\n      password: ${password}\n` +
    `    tls_config:\n      ca_file: ${ca}\n` +
    (kind === "remote_write"
      ? "    queue_config:\n      batch_send_deadline: 1s\n      max_backoff: 1s\n"
      : "    read_recent: true\n");
}

const SELF_SCRAPE = (port: string) =>
  `scrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ["127.0.0.1:${port}"]\n`;

peerTest(
  ["prometheus", "openssl", "htpasswd"],
  "Prometheus remote_write with basic_auth and tls_config to receive over HTTPS; a wrong password keeps nothing",
  async () => {
    const certs = await makeCerts();
    const config = `${certs.dir}/web.yml`;
    await Deno.writeTextFile(
      config,
      `tls_server_config:\n  cert_file: ${certs.serverCert}\n  key_file: ${certs.serverKey}\n` +
        `basic_auth_users:\n  alice: ${await htpasswdHash("alice", "s3cret")}\n`,
    );
    const good = await startWattwaveServer(["receive", "--port", "0", "--web.config.file", config]);
    const bad = await startWattwaveServer(["receive", "--port", "0", "--web.config.file", config]);
    const port = String(freePort());
    const prom = await startPrometheus({
      port: Number(port),
      config: SELF_SCRAPE(port) +
        remoteYaml("remote_write", good.url, "s3cret", certs.caCert) +
        remoteYaml("remote_write", bad.url, "wrong", certs.caCert).replace("remote_write:\n", ""),
    });
    try {
      const failed = async () =>
        Number(
          (await promQuery(
            prom.url,
            `sum(prometheus_remote_storage_samples_failed_total{url="${bad.url}"})`,
          ))[0]?.value?.[1] ?? 0,
        );
      const sent = async () =>
        Number(
          (await promQuery(
            prom.url,
            `sum(prometheus_remote_storage_samples_total{url="${good.url}"})`,
          ))[0]?.value?.[1] ?? 0,
        );
      await waitUntil(
        async () => (await failed()) > 0 && (await sent()) > 0,
        "Prometheus to deliver to the right password and fail the wrong one",
        60_000,
      );
    } finally {
      await prom.stop();
      const g = await good.stop();
      const b = await bad.stop();
      await certs.remove();
      const lines = parseNdjson(g.stdout);
      assert(lines.some((l) => l.name === "up"), `no samples arrived: ${g.stderr}`);
      assertEquals(b.stdout, "", "nothing is kept for a wrong password");
    }
  },
);

peerTest(
  ["prometheus", "openssl", "htpasswd"],
  "Prometheus remote_read with basic_auth from serve-read over HTTPS returns the data",
  async () => {
    const certs = await makeCerts();
    const store = await Deno.makeTempDir();
    try {
      const config = `${certs.dir}/web.yml`;
      await Deno.writeTextFile(
        config,
        `tls_server_config:\n  cert_file: ${certs.serverCert}\n  key_file: ${certs.serverKey}\n` +
          `basic_auth_users:\n  alice: ${await htpasswdHash("alice", "s3cret")}\n`,
      );
      const now = Date.now();
      let input = "";
      for (let i = 0; i < 120; i++) {
        input += `{"name":"gpu_power_watts","labels":{"gpu":"0"},"timestamp":${
          now - (120 - i) * 1000
        },"value":${100 + i}}\n`;
      }
      const c = await runWattwave(["compress", "--store", store], { stdin: input });
      assertEquals(c.code, 0, c.stderr);
      const sr = await startWattwaveServer([
        "serve-read",
        "--port",
        "0",
        "--store",
        store,
        "--web.config.file",
        config,
      ]);
      const prom = await startPrometheus({
        config: remoteYaml("remote_read", sr.url, "s3cret", certs.caCert),
      });
      try {
        const r = await promQuery(prom.url, 'gpu_power_watts{gpu="0"}', (now - 1000) / 1000);
        assertEquals(r.length, 1, JSON.stringify(r));
        assertEquals(Number(r[0].value![1]), 219);
        const n = await promQuery(prom.url, "count_over_time(gpu_power_watts[5m])", now / 1000);
        assertEquals(Number(n[0].value![1]), 120);
      } finally {
        await prom.stop();
        await sr.stop();
      }
    } finally {
      await certs.remove();
      await Deno.remove(store, { recursive: true });
    }
  },
);
