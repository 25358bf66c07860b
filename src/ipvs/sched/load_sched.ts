/**
 * The shared machinery of the schedulers that pick "the first server in list
 * order with the best key" (lc, wlc, sed, nq, fo, ovf, and the wlc step of
 * lblc/lblcr): a DestSlots layout plus a LoadTree kept current by the
 * control-plane hooks and by `loadChanged`, so `schedule` reads the root.
 */
import type { Dest, Service } from '../service.js';
import { DestSlots, LoadTree, type LoadKindValue } from './dest_index.js';
import type { SchedEnv, SchedFlow, SchedTrace, Scheduler } from './scheduler.js';

/** Per-service state of a load-indexed scheduler. */
export class LoadState {
  readonly slots = new DestSlots();
  readonly tree: LoadTree;

  constructor(kind: LoadKindValue) {
    this.tree = new LoadTree(kind);
  }

  /** Lays out `svc.dests` afresh and rebuilds the tree. */
  init(svc: Service): void {
    this.slots.layout(svc.dests);
    this.tree.rebuild(this.slots);
  }

  /** `dest` was put at the head of the list; returns true when the layout was redone. */
  add(svc: Service, dest: Dest): boolean {
    if (this.slots.addHead(dest, svc.dests)) {
      this.tree.rebuild(this.slots);
      return true;
    }
    this.tree.update(dest.schedSlot, dest);
    return false;
  }

  /** `dest` left the list; returns true when the layout was redone. */
  del(svc: Service, dest: Dest): boolean {
    const s = dest.schedSlot;
    const had = this.slots.has(dest);
    if (this.slots.remove(dest, svc.dests)) {
      this.tree.rebuild(this.slots);
      return true;
    }
    if (had) this.tree.update(s, null);
    return false;
  }

  /** Re-keys `dest` if it belongs to the list (weight, flags or counters changed). */
  touch(dest: Dest): void {
    if (this.slots.has(dest)) this.tree.update(dest.schedSlot, dest);
  }

  /** The kernel's pick, or null. */
  best(): Dest | null {
    const s = this.tree.best();
    return s < 0 ? null : this.slots.dests[s];
  }

  clear(): void {
    this.slots.clear();
  }
}

/**
 * Base class of lc, wlc, sed, nq, fo and ovf. Subclasses name the kernel
 * function they mirror, pick the LoadKind, and say what to print per
 * candidate in explain mode.
 */
export abstract class LoadIndexedScheduler implements Scheduler {
  abstract readonly name: string;
  protected abstract readonly kind: LoadKindValue;

  initService(svc: Service, _env: SchedEnv): void {
    const st = new LoadState(this.kind);
    st.init(svc);
    svc.schedData = st;
  }

  doneService(svc: Service): void {
    const st = svc.schedData as LoadState | null;
    if (st) st.clear();
    svc.schedData = null;
  }

  addDest(svc: Service, dest: Dest): void {
    (svc.schedData as LoadState).add(svc, dest);
  }

  delDest(svc: Service, dest: Dest): void {
    (svc.schedData as LoadState).del(svc, dest);
  }

  updDest(svc: Service, dest: Dest): void {
    (svc.schedData as LoadState).touch(dest);
  }

  loadChanged(svc: Service, dest: Dest): void {
    const st = svc.schedData as LoadState | null;
    if (st !== null) st.touch(dest);
  }

  schedule(svc: Service, _flow: SchedFlow, trace: SchedTrace | null): Dest | null {
    const st = svc.schedData as LoadState | null;
    if (st === null) return null;
    const d = st.best();
    if (trace !== null) this.explain(svc, d, trace);
    return d;
  }

  /** Reports every server's numbers and the pick (explain mode only). */
  protected explain(svc: Service, pick: Dest | null, trace: SchedTrace): void {
    for (const d of svc.dests) trace.consider(d, this.describe(d));
    trace.note(pick === null ? `${this.name}: no destination available` : `${this.name}: picked`);
    if (pick !== null) trace.consider(pick, 'picked');
  }

  /** What the kernel compares for one server, in words (explain mode only). */
  protected abstract describe(d: Dest): string;
}

/** Shared wording of the eligibility part of explain lines. */
export function eligibility(d: Dest): string {
  if (d.overloaded) return 'overloaded, skipped';
  if (d.weight <= 0) return 'weight 0 (quiesced), skipped';
  return '';
}
