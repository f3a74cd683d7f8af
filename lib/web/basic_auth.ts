/**
 * HTTP basic authentication against bcrypt hashes (`basic_auth_users` of a web config), as
 * exporter-toolkit does it: each distinct credential pays bcrypt's cost once (results are cached,
 * keyed by a SHA-256 of user, hash and password, never the password itself), and a wrong user
 * costs as much as a wrong password (it is compared against a hash of the same cost).
 *
 * @module
 */
import bcrypt from "bcryptjs";

/** Options of {@linkcode BasicAuthVerifier}. */
export interface BasicAuthOptions {
  /** Cached results at most (oldest dropped first). Default 1024. */
  cacheEntries?: number;
}

/** Checks `Authorization: Basic ...` headers against users and their bcrypt hashes. */
export class BasicAuthVerifier {
  readonly #users: Map<string, string>;
  readonly #cache = new Map<string, boolean>();
  readonly #inFlight = new Map<string, Promise<boolean>>();
  readonly #cacheEntries: number;
  #dummy: Promise<string> | undefined;
  readonly #dummyCost: number;

  /** A verifier for `users` (user → bcrypt hash). */
  constructor(users: Map<string, string>, options: BasicAuthOptions = {}) {
    this.#users = users;
    this.#cacheEntries = options.cacheEntries ?? 1024;
    let cost = 10;
    for (const h of users.values()) cost = Math.max(cost, Number(h.slice(4, 6)) || 10);
    this.#dummyCost = cost;
  }

  /** Whether the header carries a valid user and password. */
  async check(authorization: string | null): Promise<boolean> {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? "");
    if (!m) return false;
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(
        Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0)),
      );
    } catch {
      return false;
    }
    const colon = text.indexOf(":");
    if (colon < 0) return false;
    const user = text.slice(0, colon);
    const password = text.slice(colon + 1);
    const hash = this.#users.get(user);
    const key = await cacheKey(user, hash ?? "", password);
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    let pending = this.#inFlight.get(key);
    if (!pending) {
      pending = this.#verify(hash, password);
      this.#inFlight.set(key, pending);
    }
    try {
      const ok = await pending;
      if (this.#cache.size >= this.#cacheEntries) {
        this.#cache.delete(this.#cache.keys().next().value!);
      }
      this.#cache.set(key, ok);
      return ok;
    } finally {
      this.#inFlight.delete(key);
    }
  }

  async #verify(hash: string | undefined, password: string): Promise<boolean> {
    if (hash !== undefined) return await bcrypt.compare(password, hash);
    // An unknown user: pay the same cost as for a wrong password, then refuse.
    this.#dummy ??= bcrypt.hash("wattwave-dummy", this.#dummyCost);
    await bcrypt.compare(password, await this.#dummy);
    return false;
  }
}

async function cacheKey(user: string, hash: string, password: string): Promise<string> {
  const bytes = new TextEncoder().encode(`${user}\u0000${hash}\u0000${password}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  let out = "";
  for (const b of digest) out += b.toString(16).padStart(2, "0");
  return out;
}
