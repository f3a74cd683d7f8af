import { strictEqual } from "node:assert/strict";
import { describeFetchError } from "./fetch_error.ts";

function fetchFailed(cause: string): Error {
  return new TypeError("fetch failed", { cause: new Error(cause) });
}

Deno.test("describeFetchError: the cause and target of Deno's `fetch failed`", () => {
  const refused = describeFetchError(
    fetchFailed(
      "error sending request for url (http://127.0.0.1:9/x): client error (Connect): tcp connect error: Connection refused (os error 111)",
    ),
    "http://127.0.0.1:9/x",
  );
  strictEqual(refused.message, "connection refused (127.0.0.1:9)");
  strictEqual(refused.permanent, false);
  strictEqual(
    describeFetchError(
      fetchFailed("client error (Connect): dns error: failed to lookup address information"),
      "http://no-such-host/api",
    ).message,
    "DNS lookup failed (no-such-host)",
  );
  const tls = describeFetchError(
    fetchFailed(
      "error sending request for url (https://h:80/x): client error (Connect): received corrupt message of type InvalidContentType",
    ),
    "https://h:80/x",
  );
  strictEqual(
    tls.message,
    "TLS error with h:80: received corrupt message of type InvalidContentType (is it plain HTTP? try http://)",
  );
  const blocked = describeFetchError(
    new TypeError("Fetch failed: Requests to port 1 are blocked"),
    "http://127.0.0.1:1/",
  );
  strictEqual(blocked.permanent, true);
});
