/**
 * How `push` reaches an HTTPS endpoint with a private CA, a client certificate, another server
 * name or no verification (`--tls-*`). Deno's `fetch` takes a CA and a client certificate through
 * `Deno.createHttpClient`; it cannot check the certificate against another name or skip the check,
 * so those two go through `node:https` (the requests and answers are the same).
 *
 * @module
 */
import https from "node:https";
import { concatBytes } from "../../bytes.ts";

/** TLS settings of a push (PEM texts, already read from their files). */
export interface PushTlsOptions {
  /** CA certificates (PEM) that the server's certificate must chain to, instead of the system's. */
  ca?: string;
  /** Client certificate chain (PEM), with `key`. */
  cert?: string;
  /** Client private key (PEM), with `cert`. */
  key?: string;
  /** The name the server's certificate must be valid for (and the SNI sent). Default the URL's host. */
  serverName?: string;
  /** Do not check the server's certificate at all. Default false. */
  insecureSkipVerify?: boolean;
}

/** A fetch-like function: one POST, its answer. */
export type Transport = (url: string, init: RequestInit) => Promise<Response>;

/** The transport for `tls` (plain `fetch` when nothing is set). */
export function tlsTransport(tls: PushTlsOptions | undefined): Transport {
  if (!tls || Object.values(tls).every((v) => v === undefined || v === false)) {
    return (url, init) => fetch(url, init);
  }
  if (tls.serverName === undefined && !tls.insecureSkipVerify) {
    const client = Deno.createHttpClient({
      ...(tls.ca !== undefined ? { caCerts: [tls.ca] } : {}),
      ...(tls.cert !== undefined && tls.key !== undefined ? { cert: tls.cert, key: tls.key } : {}),
    });
    return (url, init) => fetch(url, { ...init, client } as RequestInit);
  }
  return (url, init) => nodeRequest(url, init, tls);
}

function nodeRequest(url: string, init: RequestInit, tls: PushTlsOptions): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => (headers[k] = v));
    const req = https.request(url, {
      method: init.method ?? "GET",
      headers,
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      servername: tls.serverName,
      rejectUnauthorized: !tls.insecureSkipVerify,
      signal: init.signal ?? undefined,
    }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (c: Uint8Array) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const out = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) out.set(k, Array.isArray(v) ? v.join(", ") : String(v));
        }
        const status = res.statusCode ?? 0;
        const body = status === 204 || status === 304 ? null : concatBytes(chunks);
        resolve(new Response(body as BodyInit | null, { status, headers: out }));
      });
    });
    req.on("error", (err: Error) => reject(new Error("fetch failed", { cause: err })));
    req.end(init.body as Uint8Array | undefined);
  });
}
