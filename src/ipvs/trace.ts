/**
 * What explain mode hears from the datapath. The director, IPVS's hooks, the
 * transmitters and the host stack call `env.tracer.step(...)` only when
 * `env.tracer` is set (explain mode); in a normal replay it is null and no
 * string is built, so tracing costs one null test per trace point.
 *
 * A step names where the packet is (`kind`) and what was decided (`text`, a
 * sentence for people) with the numbers behind it (`data`, for --json).
 * Scheduler reasoning comes separately through SchedTrace (sched/scheduler.ts).
 */
import { IpAddr, type Af } from '../wire/addr.js';

export const TraceKind = {
  /** The frame arrived on a link (netif_receive). */
  ARRIVE: 'arrive',
  /** Link-layer decision (MAC filter, VLAN, EtherType). */
  L2: 'l2',
  /** ip_rcv / ipv6_rcv checks, PREROUTING (marks, defragmentation). */
  PREROUTING: 'prerouting',
  /** The routing decision: local, forward, or nowhere. */
  ROUTE: 'route',
  /** A netfilter hook was entered (LOCAL_IN, FORWARD, LOCAL_OUT). */
  HOOK: 'hook',
  /** IPVS looked the packet up: connection found, created, rescheduled, or not its business. */
  IPVS: 'ipvs',
  /** Persistence template found, created or invalidated. */
  PERSIST: 'persist',
  /** The scheduler's decision (details come through SchedTrace). */
  SCHEDULE: 'schedule',
  /** A connection changed state (with the new timeout). */
  STATE: 'state',
  /** A transmitter rewrote / encapsulated the packet (DR, NAT, TUN). */
  XMIT: 'xmit',
  /** The director's own stack answered or consumed the packet. */
  LOCAL: 'local',
  /** Forwarded by routing (not IPVS). */
  FORWARD: 'forward',
  /** A frame was sent out of a link. */
  OUTPUT: 'output',
  /** The frame was dropped. */
  DROP: 'drop',
} as const;
export type TraceKindValue = (typeof TraceKind)[keyof typeof TraceKind];

export interface Tracer {
  step(kind: TraceKindValue, text: string, data?: Record<string, unknown>): void;
}

/** Address text for trace messages (IPv6 in brackets when a port follows). */
export function fmtAddr(af: number, words: ArrayLike<number>, port = -1): string {
  const a = IpAddr.fromWords(af as Af, words).toString();
  if (port < 0) return a;
  return af === 6 ? `[${a}]:${port}` : `${a}:${port}`;
}
