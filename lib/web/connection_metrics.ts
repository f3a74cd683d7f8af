/**
 * Self-metrics of a server's connections, read from its {@linkcode ConnectionGuard} when scraped.
 *
 * @module
 */
import type { Registry } from "../metrics/registry.ts";
import type { ConnectionGuard } from "./connection_guard.ts";

/** Registers the connection metrics; `guard()` gives the guard once the server runs. */
export function registerConnectionMetrics(
  registry: Registry,
  guard: () => ConnectionGuard | undefined,
): void {
  registry.valueOf(
    "wattwave_http_connections_open",
    "Client connections open now.",
    "gauge",
    () => guard()?.open ?? 0,
  );
  registry.valueOf(
    "wattwave_http_connections_max",
    "Connections allowed at once (--web.max-connections, lowered to what ulimit -n allows).",
    "gauge",
    () => guard()?.limits.maxConnections ?? 0,
  );
  registry.valueOf(
    "wattwave_http_connections_accepted_total",
    "Client connections accepted.",
    "counter",
    () => guard()?.accepted ?? 0,
  );
  registry.block((out) => {
    const name = "wattwave_http_connection_timeouts_total";
    out.push(`# HELP ${name} Connections closed for a timeout, by kind (header, read, idle).`);
    out.push(`# TYPE ${name} counter`);
    const t = guard()?.timeouts ?? { header: 0, read: 0, idle: 0 };
    for (const kind of ["header", "read", "idle"] as const) {
      out.push(`${name}{kind="${kind}"} ${t[kind]}`);
    }
  });
}
