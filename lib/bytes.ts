/**
 * Byte-array helpers shared by every concern.
 *
 * @module
 */

/** Concatenates byte arrays into one new array (one array in: a copy of it). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Samples per slab of {@linkcode Float64Slab}. */
const SLAB_LENGTH = 65536;

/**
 * Bump allocation of small `Float64Array`s as views of shared 512 KiB slabs. A million one-value
 * arrays would otherwise be a million ArrayBuffers, each with its own backing store and external
 * memory accounting (measured: 2M `Float64Array(4)` take 3.2 s and 900 MiB). A slab lives while
 * any view of it does, so use it for arrays that go away together (one request, one commit).
 */
export class Float64Slab {
  #slab = new Float64Array(0);
  #pos = 0;

  /** A zeroed array of `n` elements: a view of the current slab, or its own array when large. */
  take(n: number): Float64Array {
    if (n > SLAB_LENGTH / 4) return new Float64Array(n);
    if (this.#pos + n > this.#slab.length) {
      this.#slab = new Float64Array(SLAB_LENGTH);
      this.#pos = 0;
    }
    const at = this.#pos;
    this.#pos += n;
    return this.#slab.subarray(at, at + n);
  }

  /**
   * Reserves one element of the current slab (a new slab when it is full) without making a view
   * of it: its offset in {@linkcode current}, which holds it from then on.
   */
  reserveOne(): number {
    if (this.#pos + 1 > this.#slab.length) {
      this.#slab = new Float64Array(SLAB_LENGTH);
      this.#pos = 0;
    }
    return this.#pos++;
  }

  /** The slab {@linkcode reserveOne} reserved from last. */
  get current(): Float64Array {
    return this.#slab;
  }
}
