/**
 * The scheduler registry: ipvsadm name -> Scheduler, built explicitly (no
 * import-time registration), plus what the set-up parser needs to check
 * `-s NAME` and `-b FLAGS`.
 */
import { SvcFlag } from '../service.js';
import { DestinationHashing } from './dh.js';
import { WeightedFailover } from './fo.js';
import { LocalityLeastConnection } from './lblc.js';
import { LocalityLeastConnectionReplicated } from './lblcr.js';
import { LeastConnection } from './lc.js';
import { MH_DEFAULT_TAB_INDEX, MaglevHashing } from './mh.js';
import { NeverQueue } from './nq.js';
import { WeightedOverflow } from './ovf.js';
import { RoundRobin } from './rr.js';
import type { Scheduler, SchedulerRegistry } from './scheduler.js';
import { ShortestExpectedDelay } from './sed.js';
import { SourceHashing } from './sh.js';
import { PowerOfTwoChoices } from './twos.js';
import { WeightedLeastConnection } from './wlc.js';
import { WeightedRoundRobin } from './wrr.js';

/** Every scheduler of Linux 6.1, by ipvsadm name, in the order ipvsadm's manual lists them. */
export const SCHEDULER_NAMES: readonly string[] = [
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
  'twos',
];

/** ipvsadm's default scheduler when `-s` is omitted. */
export const DEFAULT_SCHEDULER = 'wlc';

export interface SchedulerOptions {
  /** CONFIG_IP_VS_MH_TAB_INDEX (8..17): mh table size 251 ... 131071; 12 (4093) by default. */
  mhTabIndex?: number;
}

/** A fresh registry of all 14 schedulers. Scheduler objects are stateless; state lives in each Service. */
export function createSchedulerRegistry(options: SchedulerOptions = {}): SchedulerRegistry {
  const list: Scheduler[] = [
    new RoundRobin(),
    new WeightedRoundRobin(),
    new LeastConnection(),
    new WeightedLeastConnection(),
    new LocalityLeastConnection(),
    new LocalityLeastConnectionReplicated(),
    new DestinationHashing(),
    new SourceHashing(),
    new ShortestExpectedDelay(),
    new NeverQueue(),
    new WeightedFailover(),
    new WeightedOverflow(),
    new MaglevHashing(options.mhTabIndex ?? MH_DEFAULT_TAB_INDEX),
    new PowerOfTwoChoices(),
  ];
  return new Map(list.map((s) => [s.name, s]));
}

/** True when `name` is a scheduler this simulator has. */
export function isSchedulerName(name: string): boolean {
  return SCHEDULER_NAMES.includes(name);
}

/** The set-up error text for an unknown `-s NAME`. */
export function unknownSchedulerMessage(name: string): string {
  return `unknown scheduler '${name}' (valid: ${SCHEDULER_NAMES.join(', ')})`;
}

/**
 * `-b`/`--sched-flags` words as ipvsadm maps them to service flags: the
 * generic `flag-1..3` and the names that only make sense for one scheduler
 * (`scheduler` is that scheduler; ipvsadm refuses them with another one).
 */
export const SCHED_FLAG_NAMES: ReadonlyMap<
  string,
  { readonly flag: number; readonly scheduler: string | null }
> = new Map([
  ['flag-1', { flag: SvcFlag.SCHED1, scheduler: null }],
  ['flag-2', { flag: SvcFlag.SCHED2, scheduler: null }],
  ['flag-3', { flag: SvcFlag.SCHED3, scheduler: null }],
  ['sh-fallback', { flag: SvcFlag.SCHED1, scheduler: 'sh' }],
  ['sh-port', { flag: SvcFlag.SCHED2, scheduler: 'sh' }],
  ['mh-fallback', { flag: SvcFlag.SCHED1, scheduler: 'mh' }],
  ['mh-port', { flag: SvcFlag.SCHED2, scheduler: 'mh' }],
]);

export { SchedFlow, isUsable } from './scheduler.js';
export type { SchedEnv, SchedTrace, Scheduler, SchedulerRegistry } from './scheduler.js';
