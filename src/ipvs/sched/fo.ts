/**
 * fo — weighted failover. Mirrors ip_vs_fo_schedule(): the server with the
 * highest weight among those that are not overloaded (weight 0 never
 * qualifies); the comparison is strict, so the first in list order wins ties.
 * Connection counts only matter through the overload flag (-x/-y).
 */
import type { Dest } from '../service.js';
import { LoadKind } from './dest_index.js';
import { LoadIndexedScheduler, eligibility } from './load_sched.js';

export class WeightedFailover extends LoadIndexedScheduler {
  readonly name = 'fo';
  protected readonly kind = LoadKind.FO;

  protected describe(d: Dest): string {
    return eligibility(d) || `weight ${d.weight}`;
  }
}
