/**
 * The prompb schemas loaded through protobufjs from `proto/*.proto`: the reference codec that the
 * hand-written hot paths are tested against, and the codec for the low-rate messages.
 *
 * @module
 */
import protobuf from "protobufjs";

let root: protobuf.Root | undefined;

/** Loads (once) and returns the protobufjs root with `prometheus.*` message types. */
export function prompbRoot(): protobuf.Root {
  if (root) return root;
  const dir = new URL("../../../proto/", import.meta.url);
  const r = new protobuf.Root();
  for (const file of ["types.proto", "remote.proto", "write_v2.proto"]) {
    const text = Deno.readTextFileSync(new URL(file, dir));
    protobuf.parse(text, r, { keepCase: true });
  }
  r.resolveAll();
  root = r;
  return r;
}

/** A message type by its name in the `prometheus` package (e.g. `WriteRequest`). */
export function prompbType(name: string): protobuf.Type {
  return prompbRoot().lookupType(`prometheus.${name}`);
}

/** A remote write 2.0 message type by its name in `io.prometheus.write.v2` (e.g. `Request`). */
export function writeV2Type(name: string): protobuf.Type {
  return prompbRoot().lookupType(`io.prometheus.write.v2.${name}`);
}
