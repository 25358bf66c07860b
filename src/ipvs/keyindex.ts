/**
 * A small open-addressed index from fixed-length keys of 32-bit words to
 * entry numbers, for the host stack's tables (inet peers, neighbours, PMTU
 * exceptions, fragment queues). Linear probing with backward-shift deletion
 * over typed arrays: lookups and removals never allocate; an insertion
 * allocates only when the index doubles (amortised, not per packet).
 *
 * Keys are read from a Uint32Array at an offset (`k[o .. o+words)`), so a
 * caller assembles a key in a reused scratch array.
 */
export class KeyIndex {
  /** Key length in 32-bit words. */
  readonly words: number;
  /** Live keys. */
  size = 0;
  private cap: number;
  private mask: number;
  private keys: Uint32Array;
  /** Entry number per slot, -1 when empty. */
  private vals: Int32Array;

  constructor(words: number, initialCapacity = 64) {
    this.words = words;
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.cap = cap;
    this.mask = cap - 1;
    this.keys = new Uint32Array(cap * words);
    this.vals = new Int32Array(cap).fill(-1);
  }

  private hash(k: Uint32Array, o: number): number {
    let h = 0x9e3779b9 ^ this.words;
    for (let i = 0; i < this.words; i++) {
      h = Math.imul(h ^ k[o + i], 0x85ebca6b);
      h ^= h >>> 13;
    }
    h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
    return (h ^ (h >>> 15)) >>> 0;
  }

  private same(slot: number, k: Uint32Array, o: number): boolean {
    const w = this.words;
    const base = slot * w;
    for (let i = 0; i < w; i++) if (this.keys[base + i] !== k[o + i]) return false;
    return true;
  }

  /** The entry stored under the key, or -1. */
  find(k: Uint32Array, o: number): number {
    let s = this.hash(k, o) & this.mask;
    for (;;) {
      const v = this.vals[s];
      if (v < 0) return -1;
      if (this.same(s, k, o)) return v;
      s = (s + 1) & this.mask;
    }
  }

  /** Stores `val` under a key that is not present. */
  insert(k: Uint32Array, o: number, val: number): void {
    if ((this.size + 1) * 2 > this.cap) this.grow();
    this.place(k, o, val);
    this.size++;
  }

  private place(k: Uint32Array, o: number, val: number): void {
    let s = this.hash(k, o) & this.mask;
    while (this.vals[s] >= 0) s = (s + 1) & this.mask;
    const w = this.words;
    for (let i = 0; i < w; i++) this.keys[s * w + i] = k[o + i];
    this.vals[s] = val;
  }

  /** Removes the key; returns its entry or -1 when absent. */
  remove(k: Uint32Array, o: number): number {
    const mask = this.mask;
    let s = this.hash(k, o) & mask;
    for (;;) {
      const v = this.vals[s];
      if (v < 0) return -1;
      if (this.same(s, k, o)) break;
      s = (s + 1) & mask;
    }
    const found = this.vals[s];
    // backward-shift deletion: move later members of the probe run into the hole
    const w = this.words;
    let hole = s;
    let j = s;
    for (;;) {
      j = (j + 1) & mask;
      if (this.vals[j] < 0) break;
      const home = this.hash(this.keys, j * w) & mask;
      // can the entry at j live in the hole? (its home is not cyclically in (hole, j])
      const dist = (j - home) & mask;
      const holeDist = (j - hole) & mask;
      if (dist >= holeDist) {
        for (let i = 0; i < w; i++) this.keys[hole * w + i] = this.keys[j * w + i];
        this.vals[hole] = this.vals[j];
        hole = j;
      }
    }
    this.vals[hole] = -1;
    this.size--;
    return found;
  }

  /** Forgets every key. */
  clear(): void {
    this.vals.fill(-1);
    this.size = 0;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const oldCap = this.cap;
    this.cap *= 2;
    this.mask = this.cap - 1;
    this.keys = new Uint32Array(this.cap * this.words);
    this.vals = new Int32Array(this.cap).fill(-1);
    for (let s = 0; s < oldCap; s++) if (oldVals[s] >= 0) this.place(oldKeys, s * this.words, oldVals[s]);
  }
}

/**
 * A pool of entry numbers 0..n-1 with a free list, growing by doubling
 * (the owner grows its parallel arrays in `onGrow`).
 */
export class EntryPool {
  capacity: number;
  live = 0;
  private free: Int32Array;
  private freeTop: number;
  private readonly onGrow: (newCapacity: number) => void;

  constructor(initial: number, onGrow: (newCapacity: number) => void) {
    this.capacity = initial;
    this.onGrow = onGrow;
    this.free = new Int32Array(initial);
    for (let i = 0; i < initial; i++) this.free[i] = initial - 1 - i;
    this.freeTop = initial;
  }

  alloc(): number {
    if (this.freeTop === 0) {
      const old = this.capacity;
      const cap = old * 2;
      const f = new Int32Array(cap);
      for (let i = 0; i < old; i++) f[i] = cap - 1 - i;
      this.free = f;
      this.freeTop = old;
      this.capacity = cap;
      this.onGrow(cap);
    }
    this.live++;
    return this.free[--this.freeTop];
  }

  release(e: number): void {
    this.free[this.freeTop++] = e;
    this.live--;
  }
}

/** A typed array grown to `n` elements, keeping its contents. */
export function growF64(a: Float64Array, n: number): Float64Array {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}
export function growI32(a: Int32Array, n: number): Int32Array {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
export function growU32(a: Uint32Array, n: number): Uint32Array {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}
export function growU8(a: Uint8Array, n: number): Uint8Array {
  const b = new Uint8Array(n);
  b.set(a);
  return b;
}
