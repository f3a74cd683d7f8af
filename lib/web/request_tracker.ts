/**
 * Where one HTTP/1.1 connection is in its request cycle, from the bytes that pass through a
 * front (which forwards them unchanged: the HTTP server behind it does the real parsing). It
 * finds each request's end from its framing — the header block, then `Content-Length` bytes or
 * a chunked body — so that timeouts can tell a client that is slow to send (a read timeout) from
 * a server that is working on a complete request (no timeout) and from an idle keep-alive
 * connection (the idle timeout).
 *
 * @module
 */

/** Phase of a connection. */
export type ConnectionPhase = "idle" | "head" | "body" | "waiting";

/** Longest header block tracked; a longer one is left to the server (it refuses it). */
const MAX_HEAD_BYTES = 64 * 1024;

const CR = 13;
const LF = 10;

/** Follows one connection's requests (see the module doc). */
export class RequestTracker {
  /** Where the connection is. */
  phase: ConnectionPhase = "idle";
  /** When the current request's first byte came (`performance.now()` ms). */
  requestStartMs = 0;
  /** When the last byte went either way. */
  lastActivityMs: number;
  #head = "";
  #bodyLeft = 0;
  #chunked = false;
  /** Chunked body state: reading a size line, chunk data, the CRLF after it, or trailers. */
  #chunkState: "size" | "data" | "dataEnd" | "trailer" = "size";
  #line = "";

  /** A tracker for a connection opened at `nowMs`. */
  constructor(nowMs: number) {
    this.lastActivityMs = nowMs;
  }

  /** Bytes from the client. */
  fromClient(bytes: Uint8Array, nowMs: number): void {
    this.lastActivityMs = nowMs;
    let i = 0;
    while (i < bytes.length) {
      if (this.phase === "idle" || this.phase === "waiting") {
        this.phase = "head";
        this.requestStartMs = nowMs;
        this.#head = "";
      }
      if (this.phase === "head") i = this.#readHead(bytes, i);
      else i = this.#readBody(bytes, i);
    }
  }

  /** Bytes from the server (a response, or a `100 Continue` the client waits for). */
  fromServer(nowMs: number): void {
    this.lastActivityMs = nowMs;
    if (this.phase === "waiting") this.phase = "idle";
    // `Expect: 100-continue`: the client sends its body only now; its time starts now.
    else if (this.phase === "body") this.requestStartMs = nowMs;
  }

  #readHead(bytes: Uint8Array, from: number): number {
    let i = from;
    // Scan for the blank line ending the header block (CRLF CRLF, or bare LF LF).
    for (; i < bytes.length; i++) {
      const b = bytes[i];
      if (this.#head.length < MAX_HEAD_BYTES) this.#head += String.fromCharCode(b);
      if (b === LF && (this.#head.endsWith("\r\n\r\n") || this.#head.endsWith("\n\n"))) {
        this.#startBody();
        return i + 1;
      }
    }
    return i;
  }

  #startBody(): void {
    const head = this.#head.toLowerCase();
    this.#head = "";
    this.#chunked = /\r?\ntransfer-encoding:[^\n]*chunked/.test(head);
    const length = /\r?\ncontent-length:\s*(\d+)/.exec(head);
    this.#bodyLeft = length ? Number(length[1]) : 0;
    this.#chunkState = "size";
    this.#line = "";
    this.phase = this.#chunked || this.#bodyLeft > 0 ? "body" : "waiting";
  }

  #readBody(bytes: Uint8Array, from: number): number {
    if (!this.#chunked) {
      const take = Math.min(this.#bodyLeft, bytes.length - from);
      this.#bodyLeft -= take;
      if (this.#bodyLeft === 0) this.phase = "waiting";
      return from + take;
    }
    let i = from;
    while (i < bytes.length && this.phase === "body") {
      if (this.#chunkState === "data") {
        const take = Math.min(this.#bodyLeft, bytes.length - i);
        this.#bodyLeft -= take;
        i += take;
        if (this.#bodyLeft === 0) this.#chunkState = "dataEnd";
        continue;
      }
      const b = bytes[i++];
      if (b !== LF) {
        if (b !== CR && this.#line.length < 1024) this.#line += String.fromCharCode(b);
        continue;
      }
      const line = this.#line;
      this.#line = "";
      if (this.#chunkState === "size") {
        const size = parseInt(line.split(";")[0].trim(), 16); // chunk size, then extensions
        if (!(size > 0)) this.#chunkState = "trailer"; // last chunk (or garbage: the server refuses it)
        else {
          this.#bodyLeft = size;
          this.#chunkState = "data";
        }
      } else if (this.#chunkState === "dataEnd") this.#chunkState = "size";
      else if (line === "") this.phase = "waiting"; // trailer section ends with an empty line
    }
    return i;
  }
}
