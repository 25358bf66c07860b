/**
 * sed — shortest expected delay. Mirrors ip_vs_sed_schedule(): as wlc, but
 * the load of a server is `activeconns + 1` (the connection being placed
 * included; inactive connections ignored): the first server in list order
 * with the smallest (active + 1) / weight, overloaded and weight-0 servers
 * skipped.
 */
import type { Dest } from '../service.js';
import { LoadKind } from './dest_index.js';
import { LoadIndexedScheduler, eligibility } from './load_sched.js';

export class ShortestExpectedDelay extends LoadIndexedScheduler {
  readonly name = 'sed';
  protected readonly kind = LoadKind.SED;

  protected describe(d: Dest): string {
    return eligibility(d) || `(active ${d.activeConns} + 1) / weight ${d.weight}`;
  }
}
