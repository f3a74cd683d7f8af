/**
 * Series ordinals by series id (16 hex digits, see `seriesId`) in an open-addressing hash table
 * of typed arrays: the id's 64 bits are the key. A `Map` of a million new id strings took 0.9 s
 * to fill (hashing each string; at every open of such a store, and in a commit of a million new
 * series) and about 35 MB of heap; this table fills in 0.3–0.4 s and takes 24 MB outside the
 * heap.
 *
 * Slots are found by linear probing from a hash of the key mixed with a per-process random seed:
 * ids come from SHA-256 of labels a client chooses, and without the seed a client could search
 * for series whose ids share their low bits and make every lookup walk a long run of slots.
 *
 * @module
 */

/** Slots a table first has (a power of two). */
const INITIAL_SLOTS = 1024;

/** The per-process seed of the slot hash. */
const SEED = crypto.getRandomValues(new Uint32Array(2));

/** Value of an empty slot. */
const EMPTY = -1;

/** The two 32-bit halves of an id, or `false` when it is not 16 hex digits. */
let idHi = 0;
let idLo = 0;
function parseId(id: string): boolean {
  if (id.length !== 16) return false;
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < 16; i++) {
    const c = id.charCodeAt(i);
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (d < 0) return false;
    if (i < 8) hi = (hi << 4) | d;
    else lo = (lo << 4) | d;
  }
  idHi = hi >>> 0;
  idLo = lo >>> 0;
  return true;
}

/** The slot hash of a key: its halves mixed with the seed (a murmur3-style finaliser). */
function hash(hi: number, lo: number): number {
  let h = Math.imul((hi ^ SEED[0]) >>> 0, 0x85ebca6b) ^ Math.imul((lo ^ SEED[1]) >>> 0, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Ordinals (non-negative integers) by series id (see the module doc); a `Map`'s get/set/delete. */
export class SeriesIdTable {
  #hi = new Uint32Array(INITIAL_SLOTS);
  #lo = new Uint32Array(INITIAL_SLOTS);
  #value = new Int32Array(INITIAL_SLOTS).fill(EMPTY);
  #size = 0;

  /** Ids held. */
  get size(): number {
    return this.#size;
  }

  /** The slot of the parsed id (`idHi`, `idLo`), or of the empty slot where it would go. */
  #slot(): number {
    const mask = this.#value.length - 1;
    let slot = hash(idHi, idLo) & mask;
    while (
      this.#value[slot] !== EMPTY && (this.#hi[slot] !== idHi || this.#lo[slot] !== idLo)
    ) slot = (slot + 1) & mask;
    return slot;
  }

  /** The ordinal of `id`, or `undefined` when it is not held (or not an id). */
  get(id: string): number | undefined {
    if (!parseId(id)) return undefined;
    const v = this.#value[this.#slot()];
    return v === EMPTY ? undefined : v;
  }

  /** Whether `id` is held. */
  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /** Sets the ordinal of `id` (a non-negative integer below 2^31). Throws on a malformed id. */
  set(id: string, ordinal: number): this {
    if (!parseId(id)) throw new RangeError(`not a series id: ${JSON.stringify(id)}`);
    if (!(Number.isInteger(ordinal) && ordinal >= 0 && ordinal <= 0x7fffffff)) {
      throw new RangeError(`series ordinal ${ordinal} out of range`);
    }
    let slot = this.#slot();
    if (this.#value[slot] === EMPTY) {
      if (2 * (this.#size + 1) > this.#value.length) {
        const hi = idHi;
        const lo = idLo;
        this.#grow(this.#value.length * 2);
        idHi = hi;
        idLo = lo;
        slot = this.#slot();
      }
      this.#hi[slot] = idHi;
      this.#lo[slot] = idLo;
      this.#size++;
    }
    this.#value[slot] = ordinal;
    return this;
  }

  /** Removes `id`; returns whether it was held. */
  delete(id: string): boolean {
    if (!parseId(id)) return false;
    const mask = this.#value.length - 1;
    let slot = this.#slot();
    if (this.#value[slot] === EMPTY) return false;
    // Backward-shift deletion: move later entries of the probe run into the gap, so that
    // lookups never stop early at it.
    let next = slot;
    for (;;) {
      next = (next + 1) & mask;
      if (this.#value[next] === EMPTY) break;
      const home = hash(this.#hi[next], this.#lo[next]) & mask;
      // Whether `home` lies cyclically in (slot, next]: then the entry stays.
      const stays = slot <= next ? slot < home && home <= next : slot < home || home <= next;
      if (stays) continue;
      this.#hi[slot] = this.#hi[next];
      this.#lo[slot] = this.#lo[next];
      this.#value[slot] = this.#value[next];
      slot = next;
    }
    this.#value[slot] = EMPTY;
    this.#size--;
    return true;
  }

  /** Makes room for `n` ids in all without growing by steps (an index being loaded). */
  reserve(n: number): void {
    let slots = this.#value.length;
    while (2 * n > slots) slots *= 2;
    if (slots > this.#value.length) this.#grow(slots);
  }

  /** Moves to `slots` slots (a power of two), placing every entry again. */
  #grow(slots: number): void {
    const hi = this.#hi;
    const lo = this.#lo;
    const value = this.#value;
    this.#hi = new Uint32Array(slots);
    this.#lo = new Uint32Array(slots);
    this.#value = new Int32Array(slots).fill(EMPTY);
    for (let i = 0; i < value.length; i++) {
      if (value[i] === EMPTY) continue;
      idHi = hi[i];
      idLo = lo[i];
      const slot = this.#slot();
      this.#hi[slot] = hi[i];
      this.#lo[slot] = lo[i];
      this.#value[slot] = value[i];
    }
  }
}
