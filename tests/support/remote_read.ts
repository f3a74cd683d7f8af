/**
 * Posting a remote-read request as Prometheus does (snappy, protobuf, version header), for tests
 * that ask wattwave or a real Prometheus.
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
