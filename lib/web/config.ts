/**
 * The web configuration file of the Prometheus family (exporter-toolkit's `--web.config.file`),
 * so that a file written for Prometheus, node_exporter or dcgm-exporter works as it is:
 *
 * ```yaml
 * tls_server_config:
 *   cert_file: server.crt
 *   key_file: server.key
 *   client_auth_type: RequireAndVerifyClientCert   # or NoClientCert (default), ...
 *   client_ca_file: ca.crt
 *   min_version: TLS12
 *   max_version: TLS13
 * http_server_config:
 *   headers:
 *     Strict-Transport-Security: max-age=31536000
 * basic_auth_users:
 *   alice: $2y$10$...   # bcrypt (htpasswd -nBC 10 alice)
 * ```
 *
 * Unknown keys, missing files, bad hashes and unsupported values are errors naming the key.
 * Relative paths are relative to the file's directory, as in exporter-toolkit.
 *
 * @module
 */
import { parse } from "yaml";
import { UsageError } from "../errors.ts";

/** How client certificates are asked for and checked (exporter-toolkit's names). */
export type ClientAuthType =
  | "NoClientCert"
  | "RequestClientCert"
  | "RequireAnyClientCert"
  | "VerifyClientCertIfGiven"
  | "RequireAndVerifyClientCert";

const CLIENT_AUTH_TYPES: ClientAuthType[] = [
  "NoClientCert",
  "RequestClientCert",
  "RequireAnyClientCert",
  "VerifyClientCertIfGiven",
  "RequireAndVerifyClientCert",
];

/** TLS versions as the file names them, and as node:tls does. */
const TLS_VERSIONS: Record<string, "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3"> = {
  TLS10: "TLSv1",
  TLS11: "TLSv1.1",
  TLS12: "TLSv1.2",
  TLS13: "TLSv1.3",
};

/** The response headers exporter-toolkit lets a file set. */
const ALLOWED_HEADERS = [
  "Content-Security-Policy",
  "Strict-Transport-Security",
  "X-Content-Type-Options",
  "X-Frame-Options",
  "X-XSS-Protection",
];

/** The server's TLS settings, files read. */
export interface TlsServerConfig {
  /** PEM certificate chain. */
  cert: string;
  /** PEM private key. */
  key: string;
  /** How client certificates are handled. */
  clientAuthType: ClientAuthType;
  /** PEM CA bundle that client certificates are checked against. */
  clientCa?: string;
  /** Lowest TLS version accepted. Default TLSv1.2 (as exporter-toolkit). */
  minVersion: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
  /** Highest TLS version accepted. Default TLSv1.3. */
  maxVersion: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
}

/** A validated web configuration. */
export interface WebConfig {
  /** TLS, when `tls_server_config` is given. */
  tls?: TlsServerConfig;
  /** Users and their bcrypt hashes; empty: no authentication. */
  users: Map<string, string>;
  /** Headers added to every response. */
  headers: Record<string, string>;
}

/**
 * A web configuration file that cannot be used; the message names the file and the key. A usage
 * error (exit 2) at start; after a reload, logged and the previous configuration kept.
 */
export class WebConfigError extends UsageError {
  override name = "WebConfigError";
}

const BCRYPT_RE = /^\$2[abxy]?\$(\d\d)\$[./A-Za-z0-9]{53}$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Parses and checks the text of a web configuration file (`readFile` reads the files it names). */
export function parseWebConfig(
  text: string,
  path: string,
  readFile: (p: string) => string = (p) => Deno.readTextFileSync(p),
): WebConfig {
  const fail = (what: string) => new WebConfigError(`web config ${path}: ${what}`);
  let doc: unknown;
  try {
    doc = parse(text, { uniqueKeys: true });
  } catch (err) {
    throw fail(`not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isObject(doc)) throw fail("expected a mapping at the top");
  const known = ["tls_server_config", "http_server_config", "basic_auth_users"];
  for (const k of Object.keys(doc)) {
    if (!known.includes(k)) throw fail(`unknown key "${k}" (known: ${known.join(", ")})`);
  }
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "";
  const resolve = (p: string) => (p.startsWith("/") ? p : dir + p);
  const read = (key: string, p: unknown): string => {
    if (typeof p !== "string" || p === "") throw fail(`${key} must be a file name`);
    try {
      return readFile(resolve(p));
    } catch (err) {
      throw fail(`${key}: cannot read ${resolve(p)}: ${(err as Error).message}`);
    }
  };

  let tls: TlsServerConfig | undefined;
  const t = doc.tls_server_config;
  if (t !== undefined && t !== null) {
    if (!isObject(t)) throw fail("tls_server_config must be a mapping");
    const tKnown = [
      "cert_file",
      "key_file",
      "client_auth_type",
      "client_ca_file",
      "min_version",
      "max_version",
    ];
    for (const k of Object.keys(t)) {
      if (!tKnown.includes(k)) {
        throw fail(
          `unknown or unsupported key "tls_server_config.${k}" (supported: ${tKnown.join(", ")})`,
        );
      }
    }
    if (t.cert_file === undefined || t.key_file === undefined) {
      throw fail("tls_server_config needs cert_file and key_file");
    }
    const clientAuthType = (t.client_auth_type ?? "NoClientCert") as ClientAuthType;
    if (!CLIENT_AUTH_TYPES.includes(clientAuthType)) {
      throw fail(
        `tls_server_config.client_auth_type "${t.client_auth_type}" is not one of ${
          CLIENT_AUTH_TYPES.join(", ")
        }`,
      );
    }
    const verifies = clientAuthType === "VerifyClientCertIfGiven" ||
      clientAuthType === "RequireAndVerifyClientCert";
    if (verifies && t.client_ca_file === undefined) {
      throw fail(`tls_server_config.client_auth_type ${clientAuthType} needs client_ca_file`);
    }
    const version = (key: string, v: unknown, dflt: string) => {
      const name = v === undefined ? dflt : String(v);
      const node = TLS_VERSIONS[name];
      if (!node) {
        throw fail(
          `tls_server_config.${key} "${name}" is not one of ${
            Object.keys(TLS_VERSIONS).join(", ")
          }`,
        );
      }
      return node;
    };
    tls = {
      cert: read("tls_server_config.cert_file", t.cert_file),
      key: read("tls_server_config.key_file", t.key_file),
      clientAuthType,
      clientCa: t.client_ca_file === undefined
        ? undefined
        : read("tls_server_config.client_ca_file", t.client_ca_file),
      minVersion: version("min_version", t.min_version, "TLS12"),
      maxVersion: version("max_version", t.max_version, "TLS13"),
    };
    if (tls.minVersion > tls.maxVersion) {
      throw fail("tls_server_config.min_version is above max_version");
    }
  }

  const headers: Record<string, string> = {};
  const h = doc.http_server_config;
  if (h !== undefined && h !== null) {
    if (!isObject(h)) throw fail("http_server_config must be a mapping");
    for (const k of Object.keys(h)) {
      if (k !== "headers" && k !== "http2") {
        throw fail(
          `unknown or unsupported key "http_server_config.${k}" (supported: headers, http2)`,
        );
      }
    }
    if (h.headers !== undefined && h.headers !== null) {
      if (!isObject(h.headers)) throw fail("http_server_config.headers must be a mapping");
      for (const [name, value] of Object.entries(h.headers)) {
        const canonical = ALLOWED_HEADERS.find((a) => a.toLowerCase() === name.toLowerCase());
        if (!canonical) {
          throw fail(
            `http_server_config.headers: "${name}" cannot be set (allowed: ${
              ALLOWED_HEADERS.join(", ")
            })`,
          );
        }
        if (typeof value !== "string" || /[\r\n]/.test(value)) {
          throw fail(`http_server_config.headers.${name} must be a one-line string`);
        }
        headers[canonical] = value;
      }
    }
  }

  const users = new Map<string, string>();
  const u = doc.basic_auth_users;
  if (u !== undefined && u !== null) {
    if (!isObject(u)) throw fail("basic_auth_users must be a mapping of user to bcrypt hash");
    for (const [user, hash] of Object.entries(u)) {
      if (typeof hash !== "string" || !BCRYPT_RE.test(hash)) {
        throw fail(
          `basic_auth_users.${user}: not a bcrypt hash (make one with: htpasswd -nBC 10 ${user})`,
        );
      }
      const cost = Number(BCRYPT_RE.exec(hash)![1]);
      if (cost < 4 || cost > 31) {
        throw fail(`basic_auth_users.${user}: bcrypt cost ${cost} is out of range`);
      }
      if (user.includes(":")) throw fail(`basic_auth_users: user "${user}" contains ":"`);
      users.set(user, hash);
    }
  }
  return { tls, users, headers };
}

/** Reads and checks a web configuration file. */
export function loadWebConfig(path: string): WebConfig {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    throw new WebConfigError(`web config ${path}: cannot read it: ${(err as Error).message}`);
  }
  return parseWebConfig(text, path);
}
