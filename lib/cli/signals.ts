/**
 * SIGINT/SIGTERM handling for long-running commands.
 *
 * @module
 */

/**
 * Calls `onSignal` on the first SIGINT or SIGTERM (a second one exits at once with 130),
 * and returns a function that removes the listeners.
 */
export function onShutdownSignal(onSignal: () => void): () => void {
  let seen = false;
  const handler = () => {
    if (seen) Deno.exit(130);
    seen = true;
    onSignal();
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, handler);
  return () => {
    for (const s of signals) Deno.removeSignalListener(s, handler);
  };
}
