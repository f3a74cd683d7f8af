/**
 * Choosing a CSV log format from a header row (or `--format`), and binding it to that header.
 *
 * @module
 */
import type { CsvFormat, CsvFormatName, CsvFormatOptions } from "./csv_formats.ts";
import { DcgmFormat, isDcgmHeader } from "./csv_dcgm.ts";
import { isNvidiaSmiHeader, NvidiaSmiFormat } from "./csv_nvidia.ts";
import { GenericFormat } from "./csv_generic.ts";
import { InputError } from "../errors.ts";

/**
 * The format a header says: DCGM long format when it has `timestamp`, `metric_name` and `value`;
 * nvidia-smi when it has a known nvidia-smi field or a `dotted.field [unit]` header; else generic.
 */
export function detectCsvFormat(header: string[]): CsvFormatName {
  if (isDcgmHeader(header)) return "dcgm";
  if (isNvidiaSmiHeader(header)) return "nvidia-smi";
  return "generic";
}

/**
 * The format for a file with `header`: `forced` (from `--format`) or detected. Throws
 * {@linkcode InputError} when a forced format's required columns are missing.
 */
export function createCsvFormat(
  header: string[],
  options: CsvFormatOptions,
  forced?: CsvFormatName,
  onNote?: (note: string) => void,
): CsvFormat {
  const format = forced ?? detectCsvFormat(header);
  switch (format) {
    case "dcgm":
      if (!isDcgmHeader(header)) {
        throw new InputError(
          `--format dcgm needs the columns timestamp, metric_name and value (header: ${
            JSON.stringify(header.join(","))
          })`,
        );
      }
      return new DcgmFormat(header, options);
    case "nvidia-smi":
      return new NvidiaSmiFormat(header, options);
    case "generic":
      return new GenericFormat(header, options, onNote);
  }
}
