/**
 * nq — never queue. Mirrors ip_vs_nq_schedule(): the first server in list
 * order that is idle (no active connection), not overloaded and not
 * quiesced; when every such server is busy, the sed rule (smallest
 * (active + 1) / weight, first wins ties).
 */
import type { Dest } from '../service.js';
import { LoadKind } from './dest_index.js';
import { LoadIndexedScheduler, eligibility } from './load_sched.js';

export class NeverQueue extends LoadIndexedScheduler {
  readonly name = 'nq';
  protected readonly kind = LoadKind.NQ;

  protected describe(d: Dest): string {
    const e = eligibility(d);
    if (e) return e;
    if (d.activeConns === 0) return 'idle (no active connection)';
    return `busy: (active ${d.activeConns} + 1) / weight ${d.weight}`;
  }
}
