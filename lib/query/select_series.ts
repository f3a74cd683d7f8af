/**
 * Series selection on the command line (`export --match`, `inspect --match`): selectors compiled
 * with usage errors naming the flag, and a line when they match nothing, with the closest metric
 * names.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { type CompiledMatcher, compileSelector, SelectorSyntaxError } from "./selector.ts";
import { closestNames } from "./suggest.ts";

/** Compiles `--match` selectors; a syntax error is a {@linkcode UsageError} naming `--match`. */
export function compileSelectors(texts: string[]): CompiledMatcher[][] {
  try {
    return texts.map((m) => compileSelector(m));
  } catch (err) {
    if (err instanceof SelectorSyntaxError) throw new UsageError(`--match: ${err.message}`);
    throw err;
  }
}

/** The metric name a selector asks for by equality (`name{...}` or `{__name__="name"}`), if any. */
export function selectorMetricName(text: string): string | undefined {
  const t = text.trim();
  const bare = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{|$)/.exec(t);
  if (bare) return bare[1];
  const eq = /__name__\s*=\s*"([^"]*)"/.exec(t);
  return eq ? eq[1] : undefined;
}

/** Writes one line to stderr saying the selectors matched nothing, with the closest names. */
export function warnIfNothingMatched(
  texts: string[],
  metricNames: Iterable<string>,
  command: string,
): void {
  const names = [...metricNames];
  const hints = new Set<string>();
  for (const t of texts) {
    const wanted = selectorMetricName(t);
    if (wanted !== undefined) { for (const n of closestNames(wanted, names)) hints.add(n); }
  }
  const hint = hints.size > 0
    ? `; closest metric names: ${[...hints].join(", ")}`
    : names.length === 0
    ? "; the store holds no series"
    : "";
  console.error(
    `wattwave ${command}: --match ${texts.map((t) => `'${t}'`).join(" ")} matches no series${hint}`,
  );
}
