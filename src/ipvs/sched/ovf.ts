/**
 * ovf — weighted overflow. Mirrors ip_vs_ovf_schedule(): skip servers that
 * are overloaded, quiesced (weight 0) or have more active connections than
 * their weight; of the rest, the one with the highest weight, the first in
 * list order on ties. Connections pile onto the heaviest server until its
 * active count exceeds its weight, then overflow to the next.
 */
import type { Dest } from '../service.js';
import { LoadKind } from './dest_index.js';
import { LoadIndexedScheduler, eligibility } from './load_sched.js';

export class WeightedOverflow extends LoadIndexedScheduler {
  readonly name = 'ovf';
  protected readonly kind = LoadKind.OVF;

  protected describe(d: Dest): string {
    const e = eligibility(d);
    if (e) return e;
    if (d.activeConns > d.weight) return `active ${d.activeConns} > weight ${d.weight}, skipped`;
    return `weight ${d.weight} (active ${d.activeConns})`;
  }
}
