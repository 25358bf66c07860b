/**
 * The scheduler interface, shaped like the kernel's `struct ip_vs_scheduler`,
 * and the explicit registry that maps ipvsadm names to schedulers.
 *
 * A Scheduler object holds no per-service state: everything a service needs
 * lives in `svc.schedData` (created by initService) and, per real server, in
 * `dest.schedData` / `dest.schedSlot`. Destinations are in `svc.dests` in the
 * kernel's list order (index 0 = head = the most recently added).
 */
import type { Af } from '../../wire/addr.js';
import type { Dest, Service } from '../service.js';

/**
 * What a scheduler may look at in the packet being scheduled (the kernel's
 * `struct ip_vs_iphdr` plus ports). One instance is reused for every packet.
 * Addresses are four 32-bit words, network byte order read big-endian, IPv4 in
 * word 0 (see wire/addr.ts).
 */
export class SchedFlow {
  af: Af = 4;
  protocol = 0;
  readonly saddr = new Uint32Array(4);
  readonly daddr = new Uint32Array(4);
  sport = 0;
  dport = 0;
  /**
   * The kernel's ip_vs_iph_inverse(): the packet being scheduled travels from
   * the real-server side (an ICMP error quoting a client-bound packet, with
   * `schedule_icmp`), so the client is its destination. sh and mh then hash
   * `daddr`/`dport` instead of `saddr`/`sport`.
   */
  inverse = false;
  /** Simulated time in milliseconds since the start of the replay. */
  now = 0;
}

/**
 * Receives a scheduler's reasoning when `explain` traces a packet. Only called
 * when tracing is on (the argument is null otherwise), so building the strings
 * costs nothing in a normal replay.
 */
export interface SchedTrace {
  /** One candidate the scheduler looked at, with the numbers it compared. */
  consider(dest: Dest, detail: string): void;
  /** Any other step of the decision (table slot, cache hit, fallback probe…). */
  note(text: string): void;
}

/** What the director offers schedulers: seeded randomness and the IPVS sysctls. */
export interface SchedEnv {
  /** A uniformly distributed unsigned 32-bit integer from the replay's seeded generator. */
  random32(): number;
  /** Current value of a `net.ipv4.vs.*` sysctl by its short name (e.g. `lblc_expiration`, seconds). */
  sysctl(name: string): number;
  /**
   * Current simulated time in milliseconds (the clock of `SchedFlow.now`).
   * lblc/lblcr start their garbage-collection timer when the service is
   * created, which happens outside any packet.
   */
  now(): number;
}

export interface Scheduler {
  /** The ipvsadm name (`-s NAME`). */
  readonly name: string;
  /** Mirrors init_service: create `svc.schedData` for the current `svc.dests`. */
  initService(svc: Service, env: SchedEnv): void;
  /** Mirrors done_service: drop `svc.schedData`. */
  doneService(svc: Service): void;
  /** Mirrors add_dest: `dest` has just been put at the head of `svc.dests`. */
  addDest(svc: Service, dest: Dest): void;
  /** Mirrors del_dest: `dest` has just been removed from `svc.dests`. */
  delDest(svc: Service, dest: Dest): void;
  /** Mirrors upd_dest: weight, thresholds or forwarding of `dest` were edited. */
  updDest(svc: Service, dest: Dest): void;
  /**
   * Not in the kernel: `dest`'s activeConns/totalConns or overload flag just
   * changed. Schedulers that keep a load index update it here; the others do
   * nothing. Called on every counter change, so it must be cheap.
   */
  loadChanged(svc: Service, dest: Dest): void;
  /** Mirrors schedule: pick a real server for a new connection, or null (no destination). */
  schedule(svc: Service, flow: SchedFlow, trace: SchedTrace | null): Dest | null;
}

/** ipvsadm name -> scheduler. Built explicitly by the director (no import-time registration). */
export type SchedulerRegistry = ReadonlyMap<string, Scheduler>;

/**
 * Eligibility used by most schedulers: not overloaded and weight > 0
 * (the kernel's `!(dest->flags & IP_VS_DEST_F_OVERLOAD) && weight > 0`).
 */
export function isUsable(dest: Dest): boolean {
  return !dest.overloaded && dest.weight > 0;
}
