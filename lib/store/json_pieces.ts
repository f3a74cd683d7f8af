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
  #gzip: GzipSink | undefined;

  /**
   * `alwaysPace`: pause between slices even on a thread that turned pacing off. `gzipLevel`:
   * compress the pieces as they are made, holding no more of them than zlib's buffer (see
   * {@linkcode finishGzip}); default: keep them (see {@linkcode finish}).
   */
  constructor(options: { alwaysPace?: boolean; gzipLevel?: number } = {}) {
    this.#pacer = new EventLoopPacer({ checkEvery: 1, always: options.alwaysPace });
    if (options.gzipLevel !== undefined) this.#gzip = new GzipSink(options.gzipLevel);
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
    await this.sequence(
      items.length,
      toJson ? (i) => toJson(items[i], i) : (i) => items[i],
    );
  }

  /**
   * Appends a JSON array of `count` items, item `i` being `JSON.stringify(item(i))`, a slice at
   * a time (for items that are made only to be written: a slice of them lives at once).
   */
  sequence(count: number, item: (index: number) => unknown): Promise<void> {
    return this.#slices(count, (slice, k) => slice.push(item(k)));
  }

  /**
   * Appends a JSON array of the elements of `count` lists, list `i` being `items(i)` (a flat
   * array of all of them), a slice of lists at a time.
   */
  flat(count: number, items: (index: number) => readonly unknown[]): Promise<void> {
    return this.#slices(count, (slice, k) => {
      for (const x of items(k)) slice.push(x);
    });
  }

  /**
   * A JSON array of what `fill` puts in a slice for each of `count` indexes, stringified a slice
   * of {@linkcode SLICE_ITEMS} indexes at a time; pauses for the event loop (and for zlib) between.
   */
  async #slices(count: number, fill: (slice: unknown[], index: number) => void): Promise<void> {
    this.raw("[");
    const slice: unknown[] = [];
    let first = true;
    for (let i = 0; i < count; i += SLICE_ITEMS) {
      const end = Math.min(count, i + SLICE_ITEMS);
      slice.length = 0;
      for (let k = i; k < end; k++) fill(slice, k);
      if (slice.length) {
        const json = JSON.stringify(slice);
        this.raw(first ? json.slice(1, -1) : "," + json.slice(1, -1));
        first = false;
      }
      await this.#gzip?.room(); // zlib is behind: wait rather than pile up pieces
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
    if (!this.#gzip) throw new Error("JsonPieces: made without gzipLevel");
    this.#flush();
    return await this.#gzip.finish();
  }

  #flush(): void {
    if (this.#text) {
      const piece = this.#utf8.encode(this.#text);
      if (this.#gzip) this.#gzip.write(piece);
      else this.#parts.push(piece);
    }
    this.#text = "";
  }
}

/** A gzip stream fed piece by piece (zlib works off the main thread), collecting its output. */
class GzipSink {
  #z: Gzip;
  #out: Uint8Array[] = [];
  #ended: Promise<void>;
  #full = false;

  /** A stream at compression `level`. */
  constructor(level: number) {
    const z = this.#z = createGzip({ level });
    z.on("data", (c: Uint8Array) => this.#out.push(c));
    z.on("drain", () => this.#full = false);
    this.#ended = new Promise<void>((resolve, reject) => {
      z.on("end", resolve);
      z.on("error", reject);
    });
    this.#ended.catch(() => {}); // reported by `room` or `finish`
  }

  /** Hands `piece` to zlib (which may still hold it: see {@linkcode room}). */
  write(piece: Uint8Array): void {
    if (!this.#z.write(piece)) this.#full = true;
  }

  /** Resolves once zlib has taken what it holds (at once when it is not behind). */
  async room(): Promise<void> {
    if (!this.#full) return;
    await Promise.race([new Promise((resolve) => this.#z.once("drain", resolve)), this.#ended]);
  }

  /** Ends the stream; the gzip of everything written. */
  async finish(): Promise<Uint8Array> {
    this.#z.end();
    await this.#ended;
    return concatBytes(this.#out);
  }
}

/** Gzip of the concatenation of `parts`, streamed through zlib piece by piece (no copy of the whole). */
export async function gzipParts(parts: Uint8Array[], level: number): Promise<Uint8Array> {
  const gzip = new GzipSink(level);
  for (const part of parts) {
    gzip.write(part);
    await gzip.room();
  }
  return await gzip.finish();
}
