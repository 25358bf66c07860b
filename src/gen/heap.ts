/**
 * A binary min-heap of (time, id) events over typed arrays: the generator's
 * schedule of flow streams. No object per entry, no allocation except when
 * it grows. Ties keep no particular order, but the order is a pure function
 * of the sequence of operations, so a seeded run is reproducible.
 *
 * An entry pushed with a time equal to the top's never moves above it (moves
 * need a strictly smaller time), so code that handles the top entry may push
 * other events at times >= the top's and then `replaceTop` / `pop` it.
 */
export class EventHeap {
  size = 0;
  private time: Float64Array;
  private id: Int32Array;

  constructor(capacity = 1024) {
    this.time = new Float64Array(capacity);
    this.id = new Int32Array(capacity);
  }

  topTime(): number {
    return this.size > 0 ? this.time[0] : Infinity;
  }

  topId(): number {
    return this.id[0];
  }

  push(t: number, id: number): void {
    if (this.size === this.time.length) this.grow();
    const time = this.time;
    const ids = this.id;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!(t < time[p])) break;
      time[i] = time[p];
      ids[i] = ids[p];
      i = p;
    }
    time[i] = t;
    ids[i] = id;
  }

  /** Removes the top entry. */
  pop(): void {
    const n = --this.size;
    if (n > 0) this.siftDown(this.time[n], this.id[n]);
  }

  /** Gives the top entry a new (later or equal) time and restores the order. */
  replaceTop(t: number): void {
    this.siftDown(t, this.id[0]);
  }

  private siftDown(t: number, id: number): void {
    const time = this.time;
    const ids = this.id;
    const n = this.size;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && time[c + 1] < time[c]) c++;
      if (!(time[c] < t)) break;
      time[i] = time[c];
      ids[i] = ids[c];
      i = c;
    }
    time[i] = t;
    ids[i] = id;
  }

  private grow(): void {
    const t = new Float64Array(this.time.length * 2);
    t.set(this.time);
    this.time = t;
    const d = new Int32Array(this.id.length * 2);
    d.set(this.id);
    this.id = d;
  }
}
