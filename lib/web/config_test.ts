import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert";
import { parseWebConfig, WebConfigError } from "./config.ts";
import { UsageError } from "../errors.ts";

const HASH = "$2y$10$sEFNDWGu.8eOzJH3qfipfuFEMfzjmSG6jimP8Rqb2vQ7Q5X1PkdV6";
const files = (p: string) => `PEM of ${p}`;

Deno.test("web config: exporter-toolkit's keys, relative paths from the file's directory", () => {
  const c = parseWebConfig(
    `tls_server_config:
  cert_file: server.crt
  key_file: /abs/server.key
  client_auth_type: VerifyClientCertIfGiven
  client_ca_file: ca.crt
  min_version: TLS13
http_server_config:
  headers:
    x-frame-options: deny
basic_auth_users:
  alice: ${HASH}
`,
    "/etc/wattwave/web.yml",
    files,
  );
  assertEquals(c.tls, {
    cert: "PEM of /etc/wattwave/server.crt",
    key: "PEM of /abs/server.key",
    clientAuthType: "VerifyClientCertIfGiven",
    clientCa: "PEM of /etc/wattwave/ca.crt",
    minVersion: "TLSv1.3",
    maxVersion: "TLSv1.3",
  });
  assertEquals(c.headers, { "X-Frame-Options": "deny" });
  assertEquals([...c.users], [["alice", HASH]]);
  assertEquals(parseWebConfig("", "empty.yml", files), {
    tls: undefined,
    users: new Map(),
    headers: {},
  });
});

Deno.test("web config: every mistake is a usage error naming the key", () => {
  const cases: [string, RegExp][] = [
    ["tls_server_config: {cert_file: a}\n", /needs cert_file and key_file/],
    ["tls_server_config: {cert_file: a, key_file: b, min_version: TLS14}\n", /min_version "TLS14"/],
    [
      "tls_server_config: {cert_file: a, key_file: b, client_auth_type: Maybe}\n",
      /client_auth_type "Maybe"/,
    ],
    [
      "tls_server_config: {cert_file: a, key_file: b, min_version: TLS13, max_version: TLS12}\n",
      /min_version is above max_version/,
    ],
    ["http_server_config: {headers: {Set-Cookie: x}}\n", /"Set-Cookie" cannot be set/],
    ["http_server_config: {timeouts: 1}\n", /http_server_config.timeouts/],
    ["basic_auth_users: {bob: $2y$10$short}\n", /basic_auth_users.bob: not a bcrypt hash/],
    ["basic_auth_users: [bob]\n", /basic_auth_users must be a mapping/],
    ["a: 1\na: 2\n", /not valid YAML/],
    ["- 1\n", /expected a mapping/],
  ];
  for (const [yaml, message] of cases) {
    assertThrows(
      () => parseWebConfig(yaml, "w.yml", files),
      (e: Error) =>
        e instanceof WebConfigError && e instanceof UsageError && message.test(e.message),
      yaml,
    );
  }
});
