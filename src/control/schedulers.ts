/**
 * Scheduler names for a director that is configured and listed but never
 * schedules a packet (`ipvs-sim ipvsadm` without a replay): a registry whose
 * schedulers carry only their names. A replay uses the real registry
 * (createSchedulerRegistry() in src/ipvs/sched/index.ts).
 */
import type { Scheduler, SchedulerRegistry } from '../ipvs/sched/scheduler.js';

/** The schedulers of Linux 6.1 (its ip_vs_*.ko modules; twos came later). */
export const KERNEL_SCHEDULERS = [
  'rr',
  'wrr',
  'lc',
  'wlc',
  'lblc',
  'lblcr',
  'dh',
  'sh',
  'sed',
  'nq',
  'fo',
  'ovf',
  'mh',
] as const;

function namedOnly(name: string): Scheduler {
  return {
    name,
    initService: () => undefined,
    doneService: () => undefined,
    addDest: () => undefined,
    delDest: () => undefined,
    updDest: () => undefined,
    loadChanged: () => undefined,
    schedule: () => null,
  };
}

/** A registry of schedulers that do nothing, under the given names. */
export function namesOnlyRegistry(names: readonly string[]): SchedulerRegistry {
  return new Map(names.map((n) => [n, namedOnly(n)]));
}
