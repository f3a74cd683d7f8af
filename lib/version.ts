/** The wattwave version, sent as `User-Agent: wattwave/<VERSION>` and printed by `--version`. */
export const VERSION = "0.1.0";
