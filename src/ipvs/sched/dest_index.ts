/**
 * Indexes over a service's real servers kept in the kernel's list order, so
 * that schedulers can answer "the first server in list order that is best by
 * rule R" in O(1)/O(log n) instead of the kernel's O(n) scan, and still make
 * exactly the kernel's decision (ties go to the earliest server in the list).
 *
 * - DestSlots places each Dest in a slot whose number increases with list
 *   position (the list head, the newest server, has the lowest slot). A new
 *   server takes the free slot in front of the head; when there is none, or
 *   when deletions left too many holes, the whole list is laid out afresh
 *   (amortised O(1) per add/delete).
 * - LoadTree is a tournament (winner) tree over the slots: each inner node
 *   keeps the better of its two children, the left (earlier) one on ties, so
 *   the root is the kernel's pick. A counter change re-plays one leaf-to-root
 *   path, stopping early when a node's winner does not change.
 * - MaxTree (rr, wrr) finds the first slot at or after a position whose
 *   value reaches a threshold.
 * - Fenwick (twos) finds a weighted random position by prefix sums.
 */
import type { Dest } from '../service.js';
import { cmpProducts } from './common.js';

/** Slot assignment in list order; `dests[slot]` is null for a free slot. */
export class DestSlots {
  /** Number of slots (a power of two). */
  cap = 0;
  /** Lowest used slot; the next server added to the list head takes head - 1. */
  head = 0;
  /** Servers currently placed. */
  live = 0;
  /** Freed slots between head and the end. */
  holes = 0;
  dests: (Dest | null)[] = [];

  /** Lays `list` (a service's dests in list order) out afresh and sets every `schedSlot`. */
  layout(list: readonly Dest[]): void {
    const n = list.length;
    let cap = 16;
    while (cap < n + (n >> 1) + 16) cap *= 2;
    this.cap = cap;
    this.dests = new Array<Dest | null>(cap).fill(null);
    this.head = cap - n;
    this.live = n;
    this.holes = 0;
    for (let i = 0; i < n; i++) {
      const d = list[i];
      this.dests[this.head + i] = d;
      d.schedSlot = this.head + i;
    }
  }

  /**
   * `dest` was just put at the head of `list`. Returns true when the slots had
   * to be laid out afresh (the caller then rebuilds its index), false when
   * `dest` simply took the slot in front of the head.
   */
  addHead(dest: Dest, list: readonly Dest[]): boolean {
    if (this.head === 0) {
      this.layout(list);
      return true;
    }
    const s = --this.head;
    this.dests[s] = dest;
    dest.schedSlot = s;
    this.live++;
    return false;
  }

  /**
   * `dest` was just removed from `list`. Frees its slot; returns true when the
   * holes outnumber the servers and the list was laid out afresh.
   */
  remove(dest: Dest, list: readonly Dest[]): boolean {
    const s = dest.schedSlot;
    if (s >= 0 && s < this.cap && this.dests[s] === dest) {
      this.dests[s] = null;
      this.live--;
      if (s === this.head) {
        // the head moves back over the freed slot and any holes behind it
        this.head++;
        while (this.head < this.cap && this.dests[this.head] === null) {
          this.head++;
          this.holes--;
        }
      } else {
        this.holes++;
      }
    }
    dest.schedSlot = -1;
    if (this.holes > this.live + 16) {
      this.layout(list);
      return true;
    }
    return false;
  }

  /** True when `dest` is placed in these slots (it belongs to the indexed list). */
  has(dest: Dest): boolean {
    const s = dest.schedSlot;
    return s >= 0 && s < this.cap && this.dests[s] === dest;
  }

  /** Drops every slot and resets the servers' `schedSlot`. */
  clear(): void {
    for (let i = 0; i < this.cap; i++) {
      const d = this.dests[i];
      if (d) d.schedSlot = -1;
    }
    this.cap = 0;
    this.head = 0;
    this.live = 0;
    this.holes = 0;
    this.dests = [];
  }
}

/** The rule a LoadTree orders servers by (one per load-based scheduler). */
export const LoadKind = {
  /** lc: least overhead, weight != 0. */
  LC: 0,
  /** wlc, lblc, lblcr: least overhead/weight, weight > 0. */
  WLC: 1,
  /** sed: least (active+1)/weight. */
  SED: 2,
  /** nq: first idle (active == 0) server, else least (active+1)/weight. */
  NQ: 3,
  /** fo: highest weight. */
  FO: 4,
  /** ovf: highest weight among servers with active <= weight. */
  OVF: 5,
} as const;
export type LoadKindValue = (typeof LoadKind)[keyof typeof LoadKind];

/**
 * Relative gap above which two ratios computed in floating point are
 * certainly ordered like the exact fractions: each ratio is one correctly
 * rounded division of integers below 2^53 (relative error <= 2^-53), so a
 * gap of 1e-12 leaves a wide margin. Closer ratios are compared exactly.
 */
const RATIO_EPS = 1e-12;

/**
 * Tournament tree over DestSlots for one LoadKind. Every leaf holds a key
 * (class, num, den): a smaller class wins; within class 1 the smaller
 * num/den wins, compared exactly by cross-multiplication; otherwise the left
 * (earlier in the list) wins. That is the kernel's scan rule: the first
 * server in list order with the best key. A floating-point copy of the key
 * (`rat`, -1 for class 0) settles most comparisons without multiplying.
 */
export class LoadTree {
  readonly kind: LoadKindValue;
  cap = 0;
  /** win[node]: winning slot of the node's subtree, -1 when none is eligible; leaves at cap + slot. */
  win = new Int32Array(0);
  /** wr[node]: the float key of win[node] (Infinity when none), so a level compares two adjacent doubles. */
  wr = new Float64Array(0);
  cls = new Uint8Array(0);
  num = new Float64Array(0);
  den = new Float64Array(0);

  constructor(kind: LoadKindValue) {
    this.kind = kind;
  }

  /** Rebuilds the whole tree from `slots` (after a new layout). */
  rebuild(slots: DestSlots): void {
    const cap = slots.cap;
    this.cap = cap;
    this.win = new Int32Array(2 * cap).fill(-1);
    this.wr = new Float64Array(2 * cap).fill(Infinity);
    this.cls = new Uint8Array(cap);
    this.num = new Float64Array(cap);
    this.den = new Float64Array(cap);
    for (let s = 0; s < cap; s++) this.setLeaf(s, slots.dests[s]);
    for (let i = cap - 1; i >= 1; i--) this.play(i);
  }

  /** Slot of the kernel's pick, or -1 when no server is eligible. */
  best(): number {
    return this.cap === 0 ? -1 : this.win[1];
  }

  /** Re-keys one slot (its server's counters, weight or flags changed, or it left). */
  update(slot: number, dest: Dest | null): void {
    const leaf = this.cap + slot;
    const oldWin = this.win[leaf];
    const oldCls = this.cls[slot];
    const oldNum = this.num[slot];
    const oldDen = this.den[slot];
    this.setLeaf(slot, dest);
    // the counters that moved may not be part of this rule's key (fo, ovf, sed...): nothing to replay
    if (
      this.win[leaf] === oldWin &&
      (oldWin < 0 || (this.cls[slot] === oldCls && this.num[slot] === oldNum && this.den[slot] === oldDen))
    )
      return;
    const win = this.win;
    for (let i = leaf >> 1; i >= 1; i >>= 1) {
      const old = win[i];
      this.play(i);
      // an unchanged winner other than `slot` has an unchanged key: the rest of the path stands
      if (win[i] === old && old !== slot) return;
    }
  }

  /** Writes the key of `slot` into its leaf (win -1 and wr Infinity when not eligible). */
  private setLeaf(slot: number, d: Dest | null): void {
    const leaf = this.cap + slot;
    this.win[leaf] = -1;
    this.wr[leaf] = Infinity;
    if (d === null || d.overloaded) return;
    const w = d.weight;
    let num: number;
    let den: number;
    let cls = 1;
    switch (this.kind) {
      case LoadKind.LC:
        if (w === 0) return;
        num = d.overhead;
        den = 1;
        break;
      case LoadKind.WLC:
        if (w <= 0) return;
        num = d.overhead;
        den = w;
        break;
      case LoadKind.SED:
        if (w <= 0) return;
        num = d.activeConns + 1;
        den = w;
        break;
      case LoadKind.NQ:
        if (w === 0) return;
        if (d.activeConns === 0) cls = 0;
        num = d.activeConns + 1;
        den = w;
        break;
      case LoadKind.FO:
        if (w <= 0) return;
        num = 1;
        den = w;
        break;
      default:
        if (w === 0 || d.activeConns > w) return;
        num = 1;
        den = w;
    }
    this.cls[slot] = cls;
    this.num[slot] = num;
    this.den[slot] = den;
    this.win[leaf] = slot;
    this.wr[leaf] = cls === 0 ? -1 : num / den;
  }

  /** Plays the match at inner node i: the better of its children's winners, the left one on ties. */
  private play(i: number): void {
    const l = 2 * i;
    const r = l + 1;
    const wr = this.wr;
    const rl = wr[l];
    const rr = wr[r];
    let right: boolean;
    if (rr === Infinity) right = false;
    else if (rl === Infinity) right = true;
    else if (rr < rl)
      right = rl - rr > RATIO_EPS * Math.abs(rl) || this.exactRightBetter(this.win[l], this.win[r]);
    else if (rr > rl)
      right = !(rr - rl > RATIO_EPS * Math.abs(rr)) && this.exactRightBetter(this.win[l], this.win[r]);
    else right = this.exactRightBetter(this.win[l], this.win[r]);
    if (right) {
      this.win[i] = this.win[r];
      wr[i] = rr;
    } else {
      this.win[i] = this.win[l];
      wr[i] = rl;
    }
  }

  /** Exact comparison of two eligible slots' keys: true when `b` (right) is strictly better than `a`. */
  private exactRightBetter(a: number, b: number): boolean {
    const ca = this.cls[a];
    const cb = this.cls[b];
    if (cb !== ca) return cb < ca;
    if (ca === 0) return false;
    return cmpProducts(this.num[b], this.den[a], this.num[a], this.den[b]) < 0;
  }
}

/** Max tree over DestSlots with a caller-defined value per slot (rr: usable, wrr: weight if usable). */
export class MaxTree {
  cap = 0;
  mx = new Float64Array(0);

  /** Rebuilds from per-slot values (`value(slot)` for every slot). */
  rebuild(cap: number, values: Float64Array): void {
    this.cap = cap;
    const mx = (this.mx = new Float64Array(2 * cap));
    mx.set(values.subarray(0, cap), cap);
    for (let i = cap - 1; i >= 1; i--) mx[i] = Math.max(mx[2 * i], mx[2 * i + 1]);
  }

  set(slot: number, v: number): void {
    const mx = this.mx;
    let i = this.cap + slot;
    mx[i] = v;
    i >>= 1;
    while (i >= 1) {
      const m = Math.max(mx[2 * i], mx[2 * i + 1]);
      if (mx[i] === m) return;
      mx[i] = m;
      i >>= 1;
    }
  }

  value(slot: number): number {
    return this.mx[this.cap + slot];
  }

  /** First slot s with from <= s <= to and value(s) >= t, or -1. */
  findFirst(from: number, to: number, t: number): number {
    const cap = this.cap;
    if (from < 0) from = 0;
    if (to >= cap) to = cap - 1;
    if (from > to) return -1;
    const mx = this.mx;
    let i = cap + from;
    if (mx[i] >= t) return from;
    while (i > 1) {
      if ((i & 1) === 0 && mx[i + 1] >= t) {
        i++;
        while (i < cap) {
          i <<= 1;
          if (mx[i] < t) i++;
        }
        const s = i - cap;
        return s <= to ? s : -1;
      }
      i >>= 1;
    }
    return -1;
  }
}

/** Fenwick (binary indexed) tree of non-negative integer weights per slot. */
export class Fenwick {
  cap = 0;
  tree = new Float64Array(1);
  /**
   * The same tree as int32, for lowerBound2's branch-free descent; its
   * entries (partial sums, at most the total) are exact while the total is
   * below 2^31, the only time it is read.
   */
  tree32 = new Int32Array(1);
  vals = new Float64Array(0);
  total = 0;
  private topBit = 0;

  rebuild(cap: number, values: Float64Array): void {
    this.cap = cap;
    this.vals = new Float64Array(cap);
    this.tree = new Float64Array(cap + 1);
    this.tree32 = new Int32Array(cap + 1);
    this.total = 0;
    this.topBit = 1;
    while (this.topBit * 2 <= cap) this.topBit *= 2;
    for (let s = 0; s < cap; s++) this.add(s, values[s]);
  }

  set(slot: number, v: number): void {
    const d = v - this.vals[slot];
    if (d !== 0) this.add(slot, d);
  }

  private add(slot: number, d: number): void {
    this.vals[slot] += d;
    this.total += d;
    for (let i = slot + 1; i <= this.cap; i += i & -i) {
      this.tree[i] += d;
      this.tree32[i] = this.tree[i];
    }
  }

  /** Smallest slot whose prefix sum (inclusive) is >= target (1 <= target <= total); -1 if none. */
  lowerBound(target: number): number {
    if (target > this.total) return -1;
    const tree = this.tree;
    const cap = this.cap;
    let pos = 0;
    let rem = target;
    for (let step = this.topBit; step > 0; step >>= 1) {
      const nxt = pos + step;
      if (nxt <= cap && tree[nxt] < rem) {
        pos = nxt;
        rem -= tree[nxt];
      }
    }
    return pos; // 0-based slot = (1-based index pos + 1) - 1
  }

  /** Second result of lowerBound2. */
  second = -1;

  /**
   * lowerBound for two targets at once (both within 1..total): the two
   * descents are interleaved so their memory accesses overlap. Returns the
   * first slot; the second is left in `second`.
   *
   * When cap is a power of two (always so for DestSlots) and the total is
   * below 2^31, the descents run on the int32 copy of the tree without
   * branches: each level's "go right" becomes a mask, the sign of
   * `tree[p + step] - rem`, that selects the step and the subtracted sum.
   * Each such comparison is a coin flip for the branch predictor, so as
   * branches they cost a misprediction every other level, the bulk of the
   * search; and in int32 the chain from one level's load to the next level's
   * address is a few single-cycle operations. With a power-of-two cap the
   * first level (the probe at cap, the total, which no target in range
   * exceeds) never moves a descent and is skipped, and every later probe
   * p + step stays within 1..cap.
   */
  lowerBound2(t1: number, t2: number): number {
    const cap = this.cap;
    if (this.topBit === cap && this.total <= 0x7fffffff) {
      const tree = this.tree32;
      let p1 = 0;
      let p2 = 0;
      let r1 = t1 | 0;
      let r2 = t2 | 0;
      for (let step = cap >> 1; step > 0; step >>= 1) {
        const v1 = tree[p1 + step];
        const v2 = tree[p2 + step];
        // -1 when the partial sum is below what remains (go right), else 0
        const m1 = (v1 - r1) >> 31;
        const m2 = (v2 - r2) >> 31;
        p1 += step & m1;
        r1 -= v1 & m1;
        p2 += step & m2;
        r2 -= v2 & m2;
      }
      this.second = p2;
      return p1;
    }
    const tree = this.tree;
    let p1 = 0;
    let p2 = 0;
    let r1 = t1;
    let r2 = t2;
    for (let step = this.topBit; step > 0; step >>= 1) {
      const n1 = p1 + step;
      const n2 = p2 + step;
      if (n1 <= cap) {
        const v = tree[n1];
        if (v < r1) {
          p1 = n1;
          r1 -= v;
        }
      }
      if (n2 <= cap) {
        const v = tree[n2];
        if (v < r2) {
          p2 = n2;
          r2 -= v;
        }
      }
    }
    this.second = p2;
    return p1;
  }
}
