/**
 * lc — least connection. Mirrors ip_vs_lc_schedule(): among the servers that
 * are not overloaded and whose weight is not 0, the one with the smallest
 * overhead (`ip_vs_dest_conn_overhead()`, see Dest.overhead); the comparison
 * is strict, so the first server in list order wins ties. Weights are
 * otherwise ignored.
 *
 * Kept as a LoadTree so a pick is O(1) and a counter change O(log n).
 */
import type { Dest } from '../service.js';
import { LoadKind } from './dest_index.js';
import { LoadIndexedScheduler, eligibility } from './load_sched.js';

export class LeastConnection extends LoadIndexedScheduler {
  readonly name = 'lc';
  protected readonly kind = LoadKind.LC;

  protected describe(d: Dest): string {
    return eligibility(d) || `overhead ${d.overhead} (active ${d.activeConns}, inactive ${d.inactConns})`;
  }
}
