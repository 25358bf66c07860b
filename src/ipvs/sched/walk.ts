/**
 * The index rr and wrr walk: DestSlots in list order plus a MaxTree whose
 * value per slot is what the walk tests (rr: 1 when the server is usable;
 * wrr: its weight when not overloaded), so "the next server after position p
 * that passes" is found in O(log n) whatever lies between.
 */
import type { Dest, Service } from '../service.js';
import { DestSlots, MaxTree } from './dest_index.js';

export class WalkIndex {
  readonly slots = new DestSlots();
  readonly tree = new MaxTree();
  /** true: value = weight (wrr); false: value = 1 (rr). */
  private readonly weighted: boolean;

  constructor(weighted: boolean) {
    this.weighted = weighted;
  }

  /** The value the walk tests for `d` (0: never passes). */
  value(d: Dest | null): number {
    if (d === null || d.overloaded || d.weight <= 0) return 0;
    return this.weighted ? d.weight : 1;
  }

  init(svc: Service): void {
    this.slots.layout(svc.dests);
    this.rebuild();
  }

  private rebuild(): void {
    const cap = this.slots.cap;
    const vals = new Float64Array(cap);
    for (let s = 0; s < cap; s++) vals[s] = this.value(this.slots.dests[s]);
    this.tree.rebuild(cap, vals);
  }

  /** `dest` was put at the head of the list; true when the layout was redone. */
  add(svc: Service, dest: Dest): boolean {
    if (this.slots.addHead(dest, svc.dests)) {
      this.rebuild();
      return true;
    }
    this.tree.set(dest.schedSlot, this.value(dest));
    return false;
  }

  /** `dest` left the list; true when the layout was redone. */
  del(svc: Service, dest: Dest): boolean {
    const s = dest.schedSlot;
    const had = this.slots.has(dest);
    if (this.slots.remove(dest, svc.dests)) {
      this.rebuild();
      return true;
    }
    if (had) this.tree.set(s, 0);
    return false;
  }

  /** Re-reads `dest`'s weight and overload flag. */
  touch(dest: Dest): void {
    if (this.slots.has(dest)) this.tree.set(dest.schedSlot, this.value(dest));
  }

  clear(): void {
    this.slots.clear();
  }
}
