/**
 * `--web.config.file` (exporter-toolkit's format) on the servers and `push --tls-*`: HTTPS with
 * a private CA, basic auth with htpasswd's bcrypt hashes, client certificates, reloads, and
 * errors that say what is wrong. Certificates are made with openssl in the test.
 */
import { deepStrictEqual as assertEquals, match as assertMatch, ok as assert } from "node:assert";
import { parseNdjson, runWattwave, spawnWattwave } from "../support/cli.ts";
import { makePowercapTree } from "../fixtures/powercap_tree.ts";
import { collect, freePort } from "../support/net.ts";
import { peerTest } from "../support/peers.ts";
import { startReceive } from "../support/receive.ts";
import { htpasswdHash, makeCerts, type TestCerts } from "../support/tls.ts";
import { waitUntil } from "../support/lines.ts";

const LINE = '{"name":"x","labels":{"a":"1"},"timestamp":1700000000000,"value":2.5}\n';

async function webConfig(certs: TestCerts, name: string, yaml: string): Promise<string> {
  const path = `${certs.dir}/${name}`;
  await Deno.writeTextFile(path, yaml);
  return path;
}

function tlsYaml(certs: TestCerts, extra = ""): string {
  return `tls_server_config:\n  cert_file: ${certs.serverCert}\n  key_file: ${certs.serverKey}\n${extra}`;
}

peerTest(
  ["openssl", "htpasswd"],
  "web config: HTTPS + basic auth on receive; push --tls-ca-file; wrong CA, plain HTTP, bad configs",
  async () => {
    const certs = await makeCerts();
    try {
      const hash = await htpasswdHash("alice", "s3cret");
      const config = await webConfig(
        certs,
        "web.yml",
        tlsYaml(certs) + `basic_auth_users:\n  alice: ${hash}\n` +
          "http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n",
      );
      await Deno.writeTextFile(`${certs.dir}/pw`, "s3cret\n");
      const recv = await startReceive(["--web.config.file", config]);
      try {
        assertMatch(recv.url, /^https:\/\/127\.0\.0\.1:\d+\/api\/v1\/write$/);
        const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certs.caCert)] });
        // Every path needs credentials, health included (as Prometheus); 401 names Basic.
        const anon = await fetch(`${recv.baseUrl}/-/healthy`, { client });
        await anon.body?.cancel();
        assertEquals(anon.status, 401);
        assertEquals(anon.headers.get("WWW-Authenticate"), 'Basic realm="wattwave"');
        assertEquals(anon.headers.get("X-Content-Type-Options"), "nosniff");
        const authed = await fetch(`${recv.baseUrl}/-/healthy`, {
          client,
          headers: { Authorization: `Basic ${btoa("alice:s3cret")}` },
        });
        assertEquals([authed.status, await authed.text()], [200, "OK\n"]);
        // Plain HTTP to the TLS port fails.
        const plain = await fetch(recv.baseUrl.replace("https:", "http:") + "/-/healthy")
          .then((r) => r.body?.cancel().then(() => r.status), () => "failed");
        assertEquals(plain, "failed");
        const auth = [
          "--basic-auth-user",
          "alice",
          "--basic-auth-password-file",
          `${certs.dir}/pw`,
        ];
        const ok = await runWattwave([
          "push",
          "--url",
          recv.url,
          "--tls-ca-file",
          certs.caCert,
          ...auth,
        ], {
          stdin: LINE,
        });
        assertEquals(ok.code, 0, ok.stderr);
        const wrongCa = await runWattwave(
          ["push", "--url", recv.url, "--tls-ca-file", certs.otherCaCert, ...auth],
          { stdin: LINE },
        );
        assertEquals(wrongCa.code, 2, wrongCa.stderr);
        assertMatch(
          wrongCa.stderr,
          /certificate is not signed by a trusted CA .*pass --tls-ca-file/,
        );
        const noCa = await runWattwave(["push", "--url", recv.url, ...auth], { stdin: LINE });
        assertEquals(noCa.code, 2, noCa.stderr);
        const badPw = await runWattwave(
          ["push", "--url", recv.url, "--tls-ca-file", certs.caCert, "--basic-auth-user", "alice"],
          { stdin: LINE },
        );
        assertEquals(badPw.code, 1, badPw.stderr);
        assertMatch(badPw.stderr, /HTTP 401/);
        // Reload: a new password works without a restart, the old one no longer does.
        await Deno.writeTextFile(
          config,
          tlsYaml(certs) + `basic_auth_users:\n  alice: ${await htpasswdHash("alice", "n3w")}\n`,
        );
        await waitUntil(async () => {
          const r = await fetch(`${recv.baseUrl}/-/ready`, {
            client,
            headers: { Authorization: `Basic ${btoa("alice:n3w")}` },
          });
          await r.body?.cancel();
          return r.status === 200;
        }, "the new password to be accepted");
        const old = await fetch(`${recv.baseUrl}/-/ready`, {
          client,
          headers: { Authorization: `Basic ${btoa("alice:s3cret")}` },
        });
        await old.body?.cancel();
        assertEquals(old.status, 401);
        client.close();
      } finally {
        const { stdout, stderr } = await recv.stop();
        assertEquals(parseNdjson(stdout).length, 1, stderr); // only the authorised push
        assertMatch(stderr, /web config .* reloaded/);
      }

      // Bad configs: exit 2, the key named.
      const cases: [string, RegExp][] = [
        [
          "tls_server_config:\n  cert_file: x\n  key_file: y\n  cipher_suits: []\n",
          /unknown or unsupported key "tls_server_config.cipher_suits"/,
        ],
        ["basic_auth_users:\n  bob: notahash\n", /basic_auth_users.bob: not a bcrypt hash/],
        [
          "tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: y\n",
          /tls_server_config.cert_file: cannot read \/nonexistent.crt/,
        ],
        ["tls_srv_config: {}\n", /unknown key "tls_srv_config"/],
        [
          tlsYaml(certs, "  client_auth_type: RequireAndVerifyClientCert\n"),
          /needs client_ca_file/,
        ],
      ];
      for (const [yaml, message] of cases) {
        const path = await webConfig(certs, "bad.yml", yaml);
        const r = await runWattwave(["receive", "--port", "0", "--web.config.file", path]);
        assertEquals(r.code, 2, r.stderr);
        assertMatch(r.stderr, message);
        assert(!r.stderr.includes("    at "), r.stderr);
      }
    } finally {
      await certs.remove();
    }
  },
);

/** Each client_auth_type: which of no certificate, one from the CA, one from another CA get in. */
const CLIENT_AUTH: [string, [boolean, boolean, boolean]][] = [
  ["NoClientCert", [true, true, true]],
  ["RequestClientCert", [true, true, true]],
  ["RequireAnyClientCert", [false, true, true]],
  ["VerifyClientCertIfGiven", [true, true, false]],
  ["RequireAndVerifyClientCert", [false, true, false]],
];

peerTest(
  ["openssl"],
  "web config: every client_auth_type lets in exactly the clients exporter-toolkit does",
  async () => {
    const certs = await makeCerts();
    try {
      for (const [type, expected] of CLIENT_AUTH) {
        const config = await webConfig(
          certs,
          `${type}.yml`,
          tlsYaml(certs, `  client_auth_type: ${type}\n  client_ca_file: ${certs.caCert}\n`),
        );
        const recv = await startReceive(["--web.config.file", config]);
        const got: boolean[] = [];
        try {
          for (
            const cert of [[], [certs.clientCert, certs.clientKey], [
              certs.strangerCert,
              certs.strangerKey,
            ]]
          ) {
            const r = await runWattwave([
              "push",
              "--url",
              recv.url,
              "--tls-ca-file",
              certs.caCert,
              ...(cert.length ? ["--tls-cert-file", cert[0], "--tls-key-file", cert[1]] : []),
              "--max-retries",
              "0",
            ], { stdin: LINE });
            got.push(r.code === 0);
          }
        } finally {
          const { stdout } = await recv.stop();
          assertEquals(parseNdjson(stdout).length, expected.filter((x) => x).length, type);
        }
        assertEquals(got, expected, `${type}: [no certificate, the CA's, another CA's]`);
      }
    } finally {
      await certs.remove();
    }
  },
);

peerTest(
  ["htpasswd"],
  "web config: sample --web.listen-address serves /metrics only with credentials",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const config = `${dir}/web.yml`;
      await Deno.writeTextFile(
        config,
        `basic_auth_users:\n  prom: ${await htpasswdHash("prom", "scrape")}\n`,
      );
      const tree = await makePowercapTree();
      try {
        const port = freePort();
        const child = spawnWattwave([
          "sample",
          "--powercap-root",
          tree.root,
          "--no-gpu",
          "--period",
          "100ms",
          "--no-stdout",
          "--web.listen-address",
          `127.0.0.1:${port}`,
          "--web.config.file",
          config,
        ]);
        const stderr = collect(child.stderr);
        const stdout = collect(child.stdout);
        try {
          const url = `http://127.0.0.1:${port}/metrics`;
          await waitUntil(
            () =>
              fetch(url).then(async (r) => {
                await r.body?.cancel();
                return r.status === 401;
              }, () => false),
            "sample to serve /metrics",
          );
          const r = await fetch(url, {
            headers: { Authorization: `Basic ${btoa("prom:scrape")}` },
          });
          const text = await r.text();
          assertEquals(r.status, 200, text);
          assert(text.includes("wattwave_sample_ticks_total"), text);
        } finally {
          child.kill("SIGTERM");
          assertEquals((await child.status).code, 0, await stderr);
          assertEquals(await stdout, "");
        }
      } finally {
        await tree.remove();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

peerTest(
  ["openssl"],
  "push --tls-server-name and --tls-insecure-skip-verify",
  async () => {
    const certs = await makeCerts();
    try {
      const config = await webConfig(certs, "tls.yml", tlsYaml(certs));
      const recv = await startReceive(["--web.config.file", config]);
      try {
        const push = (...flags: string[]) =>
          runWattwave(["push", "--url", recv.url, "--max-retries", "0", ...flags], { stdin: LINE });
        const named = await push("--tls-ca-file", certs.caCert, "--tls-server-name", "localhost");
        assertEquals(named.code, 0, named.stderr);
        const wrong = await push(
          "--tls-ca-file",
          certs.caCert,
          "--tls-server-name",
          "wrong.example",
        );
        assertEquals(wrong.code, 2, wrong.stderr);
        assertMatch(wrong.stderr, /certificate is not valid for .*--tls-server-name/);
        const skip = await push("--tls-insecure-skip-verify");
        assertEquals(skip.code, 0, skip.stderr);
        const plainUrl = await runWattwave(
          ["push", "--url", recv.url.replace("https:", "http:"), "--tls-ca-file", certs.caCert],
          { stdin: LINE },
        );
        assertEquals(plainUrl.code, 2, plainUrl.stderr);
        assertMatch(plainUrl.stderr, /--tls-\* options need an https:\/\/ --url/);
      } finally {
        const { stdout } = await recv.stop();
        assertEquals(parseNdjson(stdout).length, 2);
      }
    } finally {
      await certs.remove();
    }
  },
);
