/**
 * wlc — weighted least connection (ipvsadm's default). Mirrors
 * ip_vs_wlc_schedule(): the first server that is not overloaded and has
 * weight > 0 starts as the candidate; a later non-overloaded server replaces
 * it only when strictly less loaded per weight, compared exactly as the
 * kernel does in 64 bits: `candidateOverhead * weight > overhead *
 * candidateWeight`. The result is the first server in list order with the
 * smallest overhead/weight.
 */
import type { Dest } from '../service.js';
import { LoadKind } from './dest_index.js';
import { LoadIndexedScheduler, eligibility } from './load_sched.js';

export class WeightedLeastConnection extends LoadIndexedScheduler {
  readonly name = 'wlc';
  protected readonly kind = LoadKind.WLC;

  protected describe(d: Dest): string {
    return eligibility(d) || `overhead ${d.overhead} / weight ${d.weight}`;
  }
}
