/**
 * Certificates for TLS tests, made with `openssl` (Debian's): a CA, a server certificate for
 * 127.0.0.1 and localhost, a client certificate (extendedKeyUsage clientAuth) and a second,
 * unrelated CA; and web config files.
 *
 * @module
 */
import { peerBin } from "./peers.ts";

/** Paths of the files {@linkcode makeCerts} wrote. */
export interface TestCerts {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed none of them. */
  otherCaCert: string;
  /** A client certificate signed by the other CA. */
  strangerCert: string;
  strangerKey: string;
  remove(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(peerBin("openssl"), {
    args,
    cwd,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (out.code !== 0) {
    throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Makes a CA, a server and a client certificate in a new temporary directory. */
export async function makeCerts(): Promise<TestCerts> {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-tls-" });
  const days = ["-days", "2"];
  for (const ca of ["ca", "other-ca"]) {
    await openssl([
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${ca}.key`,
      "-out",
      `${ca}.crt`,
      ...days,
      "-subj",
      `/CN=wattwave test ${ca}`,
    ], dir);
  }
  await Deno.writeTextFile(`${dir}/server.ext`, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  await Deno.writeTextFile(`${dir}/client.ext`, "extendedKeyUsage=clientAuth\n");
  const signed: [string, string, string][] = [
    ["server", "ca", "server"],
    ["client", "ca", "client"],
    ["stranger", "other-ca", "client"],
  ];
  for (const [who, ca, ext] of signed) {
    const key = ["-keyout", `${who}.key`, "-out", `${who}.csr`, "-subj", `/CN=${who}`];
    await openssl(["req", "-newkey", "rsa:2048", "-nodes", ...key], dir);
    const by = ["-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial"];
    const out = ["-out", `${who}.crt`, ...days, "-extfile", `${ext}.ext`];
    await openssl(["x509", "-req", "-in", `${who}.csr`, ...by, ...out], dir);
  }
  return {
    dir,
    caCert: `${dir}/ca.crt`,
    serverCert: `${dir}/server.crt`,
    serverKey: `${dir}/server.key`,
    clientCert: `${dir}/client.crt`,
    clientKey: `${dir}/client.key`,
    otherCaCert: `${dir}/other-ca.crt`,
    strangerCert: `${dir}/stranger.crt`,
    strangerKey: `${dir}/stranger.key`,
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}

/** A bcrypt hash of `password`, made by `htpasswd -nbBC 10` (Debian's apache2-utils). */
export async function htpasswdHash(user: string, password: string): Promise<string> {
  const out = await new Deno.Command(peerBin("htpasswd"), {
    args: ["-nbBC", "10", user, password],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    throw new Error(
      `htpasswd failed (apt-get install -y apache2-utils): ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return new TextDecoder().decode(out.stdout).trim().split(":").slice(1).join(":");
}
