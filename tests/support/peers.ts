/**
 * The real Debian peers some tests run against (Prometheus, promtool, VictoriaMetrics,
 * node-exporter, the reference `flac`): where each binary is, and a test wrapper that names the
 * peers in the test's name and fails with one line naming the package to install when one is
 * missing. `.ci/run` installs them all.
 *
 * @module
 */

/** A peer: its binary (overridable by an environment variable) and its Debian package. */
interface Peer {
  /** Default binary name on PATH. */
  bin: string;
  /** Environment variable that overrides the binary's path. */
  env: string;
  /** The Debian package that ships it. */
  debian: string;
}

/** Every peer a test may need. */
export const PEERS = {
  prometheus: { bin: "prometheus", env: "PROMETHEUS_BIN", debian: "prometheus" },
  promtool: { bin: "promtool", env: "PROMTOOL_BIN", debian: "prometheus" },
  "victoria-metrics": {
    bin: "victoria-metrics",
    env: "VICTORIA_BIN",
    debian: "victoria-metrics",
  },
  "node-exporter": {
    bin: "prometheus-node-exporter",
    env: "NODE_EXPORTER_BIN",
    debian: "prometheus-node-exporter",
  },
  flac: { bin: "flac", env: "FLAC_BIN", debian: "flac" },
  openssl: { bin: "openssl", env: "OPENSSL_BIN", debian: "openssl" },
  htpasswd: { bin: "htpasswd", env: "HTPASSWD_BIN", debian: "apache2-utils" },
} as const satisfies Record<string, Peer>;

/** A peer's name. */
export type PeerName = keyof typeof PEERS;

/** A peer that is not installed. */
export class MissingPeerError extends Error {
  override name = "MissingPeerError";
}

function onPath(bin: string): boolean {
  if (bin.includes("/")) {
    try {
      return Deno.statSync(bin).isFile;
    } catch {
      return false;
    }
  }
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (dir && Deno.statSync(`${dir}/${bin}`).isFile) return true;
    } catch { /* not here */ }
  }
  return false;
}

/** The binary of `peer`; throws {@linkcode MissingPeerError} (one line, no stack) when missing. */
export function peerBin(peer: PeerName): string {
  const p: Peer = PEERS[peer];
  const bin = Deno.env.get(p.env) ?? p.bin;
  if (onPath(bin)) return bin;
  const err = new MissingPeerError(
    `this test needs ${bin} (set ${p.env} to its path, or install the Debian package: ` +
      `apt-get install -y ${p.debian})`,
  );
  err.stack = `${err.name}: ${err.message}`;
  throw err;
}

/** `Deno.test` for a test that runs `peers`: they are in its name and checked first. */
export function peerTest(peers: PeerName[], name: string, fn: () => Promise<void> | void): void {
  Deno.test(`${name} [peer: ${peers.join(", ")}]`, async () => {
    for (const p of peers) peerBin(p);
    await fn();
  });
}
