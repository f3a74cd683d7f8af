/**
 * The options every wattwave server (`receive`, `serve-read`) takes the same way: where it
 * listens and how large a request body may be.
 *
 * @module
 */
import { Option } from "@commander-js/extra-typings";
import { parseByteSize, parsePort } from "./parse.ts";

/** `--bind <address>`, default 127.0.0.1. */
export function bindOption() {
  return new Option("--bind <address>", "address to listen on").default("127.0.0.1");
}

/** `--port <port>` (0 picks a free one), default 9201. */
export function portOption() {
  return new Option("--port <port>", "port to listen on (0 picks a free one)")
    .argParser(parsePort).default(9201);
}

/** `--max-body-bytes <size>`, default 32 MiB. */
export function maxBodyBytesOption() {
  return new Option("--max-body-bytes <size>", "largest request body (413 beyond)")
    .argParser(parseByteSize).default(32 * 1024 * 1024, "32MiB");
}

/** `--max-decoded-bytes <size>`, default 64 MiB. */
export function maxDecodedBytesOption() {
  return new Option(
    "--max-decoded-bytes <size>",
    "largest decompressed body, checked before allocating (413 beyond)",
  ).argParser(parseByteSize).default(64 * 1024 * 1024, "64MiB");
}
