/**
 * Virtual services and their real servers (destinations): the control-plane
 * objects of `struct ip_vs_service` / `struct ip_vs_dest`. These are plain
 * objects with a fixed shape (every field initialised in the constructor);
 * the datapath reads and updates their counters in place.
 */
import type { Af, IpAddr } from '../wire/addr.js';
import type { Scheduler } from './sched/scheduler.js';
import { Estimator } from './est.js';

/** Forwarding methods, numbered as the kernel's IP_VS_CONN_F_* values. */
export const Fwd = {
  MASQ: 0,
  LOCALNODE: 1,
  TUNNEL: 2,
  DROUTE: 3,
  BYPASS: 4,
} as const;
export type FwdMethod = (typeof Fwd)[keyof typeof Fwd];

/** ipvsadm's name of a forwarding method in listings. */
export function fwdName(fwd: number): string {
  switch (fwd) {
    case Fwd.MASQ:
      return 'Masq';
    case Fwd.LOCALNODE:
      return 'Local';
    case Fwd.TUNNEL:
      return 'Tunnel';
    case Fwd.DROUTE:
      return 'Route';
    default:
      return 'Bypass';
  }
}

/** Tunnel types (IP_VS_CONN_F_TUNNEL_TYPE_*). */
export const TunType = { IPIP: 0, GUE: 1, GRE: 2 } as const;
export type TunTypeValue = (typeof TunType)[keyof typeof TunType];

/** Tunnel flags (IP_VS_TUNNEL_ENCAP_FLAG_*). */
export const TunFlag = { NOCSUM: 0, CSUM: 1 << 0, REMCSUM: 1 << 1 } as const;

/** Service flags (IP_VS_SVC_F_*). */
export const SvcFlag = {
  PERSISTENT: 0x0001,
  HASHED: 0x0002,
  ONEPACKET: 0x0004,
  SCHED1: 0x0008,
  SCHED2: 0x0010,
  SCHED3: 0x0020,
} as const;

/** IP protocol numbers of the services IPVS handles. */
export const Proto = { TCP: 6, UDP: 17, SCTP: 132 } as const;

/** Counters kept per service, per real server and globally (struct ip_vs_kstats). */
export class Stats {
  conns = 0;
  inpkts = 0;
  outpkts = 0;
  inbytes = 0;
  outbytes = 0;
  /** The rate estimator of these counters (ip_vs_est.c). */
  readonly est = new Estimator();

  zero(): void {
    this.conns = 0;
    this.inpkts = 0;
    this.outpkts = 0;
    this.inbytes = 0;
    this.outbytes = 0;
    this.est.zero(this);
  }
}

/** A real server of a virtual service (struct ip_vs_dest). */
export class Dest {
  /** Index in the director's destination table; connections refer to it. Never reused. */
  readonly id: number;
  readonly af: Af;
  readonly addr: IpAddr;
  readonly port: number;
  /** The service it belongs to (kept while in the trash, as the kernel does). */
  svc: Service;

  fwd: FwdMethod = Fwd.DROUTE;
  weight = 0;
  /** The latest non-zero weight (or the weight it was added with). */
  lastWeight = 0;
  tunType: TunTypeValue = TunType.IPIP;
  tunPort = 0;
  tunFlags = 0;

  uThreshold = 0;
  lThreshold = 0;
  /** The lower threshold in use: lThreshold, or 3/4 of uThreshold when it is 0. */
  lThresholdVal = 0;

  /** IP_VS_DEST_CF_AVAILABLE: linked in its service (false once deleted). */
  available = true;
  /** IP_VS_DEST_F_OVERLOAD. */
  overloaded = false;

  activeConns = 0;
  /** Active plus inactive connections (the kernel's totalconns). */
  totalConns = 0;
  persistConns = 0;

  readonly stats = new Stats();

  /** Scheduler-private per-destination data (set by the service's scheduler). */
  schedData: unknown = null;
  /** Position in a scheduler's load index, maintained by the scheduler. */
  schedSlot = -1;
  /**
   * MTU of the route to this real server as cached at its last transmit
   * (dest->dest_dst): a learned path MTU reaches it only at the next
   * transmit, as the kernel's cached route goes stale then. 0: none yet.
   */
  dstMtu = 0;

  constructor(id: number, svc: Service, af: Af, addr: IpAddr, port: number) {
    this.id = id;
    this.svc = svc;
    this.af = af;
    this.addr = addr;
    this.port = port;
  }

  /** InActConn as listed: totalconns - activeconns, never negative. */
  get inactConns(): number {
    return Math.max(this.totalConns - this.activeConns, 0);
  }

  /**
   * ip_vs_dest_conn_overhead(): activeconns * 256 + totalconns (active +
   * inactive), the load lc, wlc, lblc, lblcr and twos compare.
   *
   * Evidence (settled for the sched branch): upstream sources of every version
   * read (2.6 .. 6.x, include/net/ip_vs.h) say `(activeconns << 8) +
   * inactconns`, but Debian's 6.1.192 kernel behaves as `+ totalconns`. The
   * shared scenarios sched-lc, sched-wlc, sched-lblc, sched-lblcr, thresholds
   * and quiesce-delete never reach a state where the two formulas pick
   * differently, so test/ipvs/sched/scenarios/sched-wlc-overhead was made to
   * decide it: weights 257 and 1, the weight-1 server (first in the list) with
   * one inactive connection, the other with one active. With `+ inactconns`
   * the next SYN goes to the weight-257 server (256/257 < 1/1); the real kernel
   * sent it to the weight-1 server, the tie `257/257 = 1/1` that `+ totalconns`
   * gives (ties keep the first). All 11 decisions of that scenario replay only
   * with this formula (test/ipvs/sched/oracle.test.ts).
   */
  get overhead(): number {
    return this.activeConns * 256 + this.totalConns;
  }
}

/** A virtual service (struct ip_vs_service). */
export class Service {
  readonly af: Af;
  /** Proto.TCP / UDP / SCTP; for a firewall-mark service the protocol of the ipvsadm option. */
  readonly protocol: number;
  /** Virtual address; for a firewall-mark service the zero address of its family. */
  readonly addr: IpAddr;
  readonly port: number;
  readonly fwmark: number;

  flags = 0;
  /** Persistence timeout in seconds (0: not persistent). */
  timeout = 0;
  /** Persistence granularity: an IPv4 netmask as a 32-bit word, or an IPv6 prefix length. */
  netmask = 0xffffffff;
  schedName = '';
  /** Persistence engine (`--pe`), '' for none. */
  peName = '';
  /** Real servers in the kernel's list order: index 0 is the head (the newest). */
  dests: Dest[] = [];
  sched: Scheduler | null = null;
  /** Scheduler-private state, created by Scheduler.initService. */
  schedData: unknown = null;
  readonly stats = new Stats();

  constructor(af: Af, protocol: number, addr: IpAddr, port: number, fwmark: number) {
    this.af = af;
    this.protocol = protocol;
    this.addr = addr;
    this.port = port;
    this.fwmark = fwmark;
  }

  get persistent(): boolean {
    return (this.flags & SvcFlag.PERSISTENT) !== 0;
  }
}
