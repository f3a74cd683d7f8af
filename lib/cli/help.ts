/**
 * One help style for every subcommand: each option's extras in one parenthesis at the end of its
 * description, values written as a user types them (`32MiB`, `1s`, `cores-2`: never `33554432`
 * or `"127.0.0.1"`), `required` on mandatory options, no default shown where there is none to
 * show (empty lists, flags).
 *
 * @module
 */
import type { CommandUnknownOpts, Help, Option } from "@commander-js/extra-typings";

/** An option that is required but checked by its command (so that an env variable may set it). */
type MarkedOption = Option & { requiredHint?: boolean };

/** Marks `option` as required in `--help` when its command checks it itself (e.g. env fallbacks). */
export function markRequired<T extends Option>(option: T): T {
  (option as MarkedOption).requiredHint = true;
  return option;
}

/** The default of `option` as shown in `--help`, or undefined when there is none to show. */
export function shownDefault(option: Option): string | undefined {
  if (option.defaultValueDescription !== undefined) return option.defaultValueDescription;
  const v: unknown = option.defaultValue;
  if (v === undefined || typeof v === "boolean") return undefined;
  if (v === "") return undefined;
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.join(",");
  if (typeof v === "object" && v !== null) {
    return Object.keys(v).length === 0 ? undefined : JSON.stringify(v);
  }
  return String(v);
}

/** The description of `option` with its extras: `text (default: 1s, env: X, required)`. */
export function optionHelpText(option: Option): string {
  const extras: string[] = [];
  if (option.argChoices) extras.push(`one of: ${option.argChoices.join(", ")}`);
  if (!option.negate) {
    const d = shownDefault(option);
    if (d !== undefined) extras.push(`default: ${d}`);
  }
  if (option.envVar !== undefined) extras.push(`env: ${option.envVar}`);
  if (option.mandatory || (option as MarkedOption).requiredHint) extras.push("required");
  const text = option.description ?? "";
  return extras.length === 0 ? text : `${text} (${extras.join(", ")})`;
}

/** Applies the style to `command` and every subcommand below it. */
export function styleHelp(command: CommandUnknownOpts): void {
  command.configureHelp({
    optionDescription: (option: Option) => optionHelpText(option),
  } as Partial<Help>);
  for (const sub of command.commands) styleHelp(sub);
}
