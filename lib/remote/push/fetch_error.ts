/**
 * What a failed `fetch` was: Deno says `fetch failed` and hides the cause one level down. The
 * cause is named with its target (`connection refused (127.0.0.1:9090)`, `DNS lookup failed
 * (no-such-host)`, a TLS error such as `https://` against a plain-HTTP port), and failures that
 * cannot heal by retrying (a port the runtime refuses to connect to, a missing net permission)
 * are marked permanent.
 *
 * @module
 */

/** A fetch failure, described. */
export interface FetchFailure {
  /** One line naming the cause and target. */
  message: string;
  /** Retrying cannot help. */
  permanent: boolean;
}

function hostPort(url: URL): string {
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return `${url.hostname}:${port}`;
}

/**
 * A certificate problem that no retry can heal, described with what to do; undefined for other
 * TLS errors. Texts of rustls (fetch) and of node:tls (the `--tls-server-name` path).
 */
function certificateProblem(text: string, u: URL): string | undefined {
  const detail = text.replace(/^.*?(invalid peer certificate|Hostname\/IP)/s, "$1").trim();
  if (/UnknownIssuer|unable to (get|verify)|self[- ]signed|UNABLE_TO_VERIFY/i.test(text)) {
    return `the server's certificate is not signed by a trusted CA (${detail}); ` +
      "pass --tls-ca-file with the CA that signed it";
  }
  if (/not valid for name|NotValidForName|altnames|ERR_TLS_CERT_ALTNAME_INVALID/i.test(text)) {
    return `the server's certificate is not valid for ${u.hostname} (${detail}); use the name ` +
      "it was issued for in --url, or --tls-server-name";
  }
  if (/Expired|certificate has expired|CERT_HAS_EXPIRED/i.test(text)) {
    return `the server's certificate has expired (${detail})`;
  }
  if (/CertificateRequired|certificate required|peer sent no certificates/i.test(text)) {
    return "the server requires a client certificate: pass --tls-cert-file and --tls-key-file";
  }
  if (/BadCertificate|bad certificate|UnknownCA|unknown ca/i.test(text)) {
    return `the server refused our client certificate (${detail})`;
  }
  return undefined;
}

/** Describes what `fetch(url)` threw (not a timeout or abort: the caller knows those). */
export function describeFetchError(err: unknown, url: string): FetchFailure {
  const u = new URL(url);
  const top = err instanceof Error ? err.message : String(err);
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : "";
  const text = `${top} ${cause}`;
  if (err instanceof Error && err.name === "NotCapable") {
    return { message: `no permission to connect to ${hostPort(u)}: ${top}`, permanent: true };
  }
  if (/are blocked/i.test(text)) {
    return {
      message: `the runtime refuses connections to ${hostPort(u)} (${top})`,
      permanent: true,
    };
  }
  if (/connection refused/i.test(text)) {
    return { message: `connection refused (${hostPort(u)})`, permanent: false };
  }
  if (/dns error|failed to lookup address|name or service not known/i.test(text)) {
    return { message: `DNS lookup failed (${u.hostname})`, permanent: false };
  }
  if (/connection reset/i.test(text)) {
    return { message: `connection reset by ${hostPort(u)}`, permanent: false };
  }
  const cert = certificateProblem(text, u);
  if (cert) return { message: `TLS error with ${hostPort(u)}: ${cert}`, permanent: true };
  if (/InvalidContentType|corrupt message|certificate|tls|handshake/i.test(text)) {
    const hint = /InvalidContentType|corrupt message/i.test(text) && u.protocol === "https:"
      ? " (is it plain HTTP? try http://)"
      : "";
    const detail = (cause || top).replace(/^.*client error \(Connect\): /, "");
    return { message: `TLS error with ${hostPort(u)}: ${detail}${hint}`, permanent: false };
  }
  if (/network is unreachable|no route to host/i.test(text)) {
    return { message: `network unreachable (${hostPort(u)})`, permanent: false };
  }
  const detail = (cause || top).replace(/^error sending request for url \([^)]*\): /, "");
  return { message: `${detail} (${hostPort(u)})`, permanent: false };
}
