/**
 * Large JSON documents of the store (the index checkpoint, journal records) made and gzip'd
 * in pieces: an index of a million series is hundreds of MB of JSON, and neither one string
 * nor one buffer of it is made (`JSON.stringify` of the whole, then its UTF-8, held the thread
 * for seconds and doubled the memory). Arrays are written a slice at a time, pausing for the
 * event loop between slices, and gzip runs off the main thread.
 *
 * @module
 */
import { createGzip, type Gzip } from "node:zlib";
import { concatBytes } from "../bytes.ts";
import { EventLoopPacer } from "../sleep.ts";

/** Items of an array stringified at once (a slice). */
const SLICE_ITEMS = 1024;
/** Text gathered before it is encoded as one UTF-8 piece. */
const PIECE_CHARS = 1 << 16;

/** UTF-8 JSON text built piece by piece (see the module doc). */
export class JsonPieces {
  #parts: Uint8Array[] = [];
  #text = "";
  #utf8 = new TextEncoder();
  #pacer: EventLoopPacer;
  #gzip: { z: Gzip; out: Uint8Array[]; ended: Promise<void>; full: boolean } | undefined;

  /**
   * `alwaysPace`: pause between slices even on a thread that turned pacing off. `gzipLevel`:
   * compress the pieces as they are made, holding no more of them than zlib's buffer (see
   * {@linkcode finishGzip}); default: keep them (see {@linkcode finish}).
   */
  constructor(options: { alwaysPace?: boolean; gzipLevel?: number } = {}) {
    this.#pacer = new EventLoopPacer({ checkEvery: 1, always: options.alwaysPace });
    if (options.gzipLevel !== undefined) {
      const z = createGzip({ level: options.gzipLevel });
      const out: Uint8Array[] = [];
      z.on("data", (c: Uint8Array) => out.push(c));
      const ended = new Promise<void>((resolve, reject) => {
        z.on("end", resolve);
        z.on("error", reject);
      });
      ended.catch(() => {}); // reported by finishGzip
      const gzip = { z, out, ended, full: false };
      z.on("drain", () => gzip.full = false);
      this.#gzip = gzip;
    }
  }

  /** Appends JSON text as is. */
  raw(text: string): void {
    this.#text += text;
    if (this.#text.length >= PIECE_CHARS) this.#flush();
  }

  /**
   * Appends `items` as a JSON array, each as `JSON.stringify(toJson(item))` (default the item
   * itself), a slice at a time; pauses for the event loop when due.
   */
  async array<T>(
    items: readonly T[],
    toJson?: (item: T, index: number) => unknown,
  ): Promise<void> {
    this.raw("[");
    for (let i = 0; i < items.length; i += SLICE_ITEMS) {
      const slice = items.slice(i, i + SLICE_ITEMS);
      const json = JSON.stringify(toJson ? slice.map((item, k) => toJson(item, i + k)) : slice);
      this.raw(i ? "," + json.slice(1, -1) : json.slice(1, -1));
      const gzip = this.#gzip;
      // zlib is behind: wait rather than pile up pieces (`full` is cleared on "drain").
      if (gzip?.full) await new Promise((resolve) => gzip.z.once("drain", resolve));
      const pause = this.#pacer.tick();
      if (pause) await pause;
    }
    this.raw("]");
  }

  /** The UTF-8 pieces of everything appended (their concatenation is the document). */
  finish(): Uint8Array[] {
    this.#flush();
    return this.#parts;
  }

  /** The gzip of everything appended (made with `gzipLevel`). */
  async finishGzip(): Promise<Uint8Array> {
    const gzip = this.#gzip;
    if (!gzip) throw new Error("JsonPieces: made without gzipLevel");
    this.#flush();
    gzip.z.end();
    await gzip.ended;
    return concatBytes(gzip.out);
  }

  #flush(): void {
    if (this.#text) {
      const piece = this.#utf8.encode(this.#text);
      if (!this.#gzip) this.#parts.push(piece);
      else if (!this.#gzip.z.write(piece)) this.#gzip.full = true;
    }
    this.#text = "";
  }
}

/** Gzip of the concatenation of `parts`, streamed through zlib piece by piece (no copy of the whole). */
export function gzipParts(parts: Uint8Array[], level: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const z = createGzip({ level });
    const out: Uint8Array[] = [];
    z.on("data", (c: Uint8Array) => out.push(c));
    z.on("end", () => resolve(concatBytes(out)));
    z.on("error", reject);
    let i = 0;
    const pump = () => {
      while (i < parts.length) {
        if (!z.write(parts[i++])) {
          z.once("drain", pump);
          return;
        }
      }
      z.end();
    };
    pump();
  });
}
