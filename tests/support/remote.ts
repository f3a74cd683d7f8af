/**
 * Posting remote-write and remote-read requests as Prometheus does (snappy, protobuf, version
 * headers), for tests that talk to wattwave or a real Prometheus.
 *
 * @module
 */
import { type DecodedReadRequest, encodeReadRequest } from "../../lib/remote/codec/read_request.ts";
import { snappyEncode } from "../../lib/remote/codec/snappy.ts";

/** POSTs `request` to the remote-read endpoint `url`. */
export function postRead(url: string, request: DecodedReadRequest): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: {
      "Content-Encoding": "snappy",
      "Content-Type": "application/x-protobuf",
      "X-Prometheus-Remote-Read-Version": "0.1.0",
    },
    body: snappyEncode(encodeReadRequest(request)),
  });
}

/** POSTs a remote write 1.0 body (`encodeWriteRequest`'s bytes, not yet compressed) to `url`. */
export function postWrite(url: string, request: Uint8Array): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: {
      "Content-Encoding": "snappy",
      "Content-Type": "application/x-protobuf",
      "X-Prometheus-Remote-Write-Version": "0.1.0",
    },
    body: snappyEncode(request),
  });
}
