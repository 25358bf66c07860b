/**
 * The IPVS control plane: virtual services, real servers, the destination
 * trash and timeouts, changed the way ip_vs_ctl.c changes them. Operations
 * return 0 or a negative errno, exactly the values the kernel returns to
 * ipvsadm, so the control layer can print ipvsadm's own messages.
 */
import { IpAddr, type Af } from '../wire/addr.js';
import { Dest, Fwd, Service, SvcFlag, TunType, type FwdMethod, type TunTypeValue } from './service.js';
import type { SchedEnv, SchedulerRegistry } from './sched/scheduler.js';
import { Sysctls } from './sysctl.js';
import { Timeouts } from './proto.js';

export const Errno = {
  ENOENT: 2,
  ESRCH: 3,
  EEXIST: 17,
  EINVAL: 22,
  ERANGE: 34,
  ENOPROTOOPT: 92,
  EAFNOSUPPORT: 97,
} as const;

/** A service as ipvsadm describes it (struct ip_vs_service_user_kern). */
export interface ServiceSpec {
  af: Af;
  protocol: number;
  /** Virtual address (ignored, may be null, for a firewall-mark service). */
  addr: IpAddr | null;
  port: number;
  fwmark: number;
  schedName: string;
  /** IP_VS_SVC_F_* (persistent, one-packet, sched flags). */
  flags: number;
  /** Persistence timeout, seconds. */
  timeout: number;
  /** IPv4 netmask as a 32-bit word, or an IPv6 prefix length. */
  netmask: number;
  /** Persistence engine name (`--pe`), '' for none. */
  peName: string;
}

/** A real server as ipvsadm describes it (struct ip_vs_dest_user_kern). */
export interface DestSpec {
  af: Af;
  addr: IpAddr;
  port: number;
  fwd: FwdMethod;
  weight: number;
  uThreshold: number;
  lThreshold: number;
  tunType: TunTypeValue;
  tunPort: number;
  tunFlags: number;
}

/** Seconds a deleted real server without connections stays in the trash (IP_VS_DEST_TRASH_PERIOD). */
export const DEST_TRASH_PERIOD = 120;

/**
 * A connection-synchronisation daemon's settings as the kernel keeps them
 * (struct ipvs_sync_daemon_cfg after start_sync_thread() filled its
 * defaults). Recorded so `ipvsadm -L --daemon` lists it; no sync traffic is
 * simulated.
 */
export interface SyncDaemonConfig {
  mcastIfn: string;
  syncid: number;
  syncMaxlen: number;
  /** Multicast group and its family. */
  mcastGroup: IpAddr;
  mcastPort: number;
  mcastTtl: number;
}

/** Callbacks into the connection layer that the control plane needs. */
export interface ConnHooks {
  /** ip_vs_expire_nodest_conn_flush: expire every connection whose real server was deleted. */
  expireNodestConns(): void;
}

export class Ipvs {
  readonly sysctl: Sysctls;
  readonly timeouts = new Timeouts();
  /** Services in creation order (listing order is ipvsadm's business). */
  readonly services: Service[] = [];
  /** Every destination ever created, by id (connections refer to dests by id). */
  readonly destById: Dest[] = [];
  /** Deleted destinations still referenced by connections, or recently deleted. */
  readonly trash: Dest[] = [];
  private readonly trashSince = new Map<Dest, number>();
  readonly schedulers: SchedulerRegistry;
  readonly env: SchedEnv;
  connHooks: ConnHooks | null = null;
  /** Sync daemons started with `ipvsadm --start-daemon` (master, backup); not simulated. */
  readonly syncDaemons: { master: SyncDaemonConfig | null; backup: SyncDaemonConfig | null } = {
    master: null,
    backup: null,
  };
  /** Simulated time in seconds, advanced by the datapath (used for the trash period). */
  now = 0;

  constructor(schedulers: SchedulerRegistry, random32: () => number, sysctl = new Sysctls()) {
    this.schedulers = schedulers;
    this.sysctl = sysctl;
    this.env = { random32, sysctl: (name) => sysctl.vs(name), now: () => this.now * 1000 };
  }

  /** __ip_vs_service_find / __ip_vs_svc_fwm_find. */
  findService(
    af: Af,
    protocol: number,
    addr: IpAddr | null,
    port: number,
    fwmark: number,
  ): Service | undefined {
    if (fwmark) return this.services.find((s) => s.fwmark === fwmark && s.af === af);
    if (!addr) return undefined;
    return this.services.find(
      (s) =>
        s.fwmark === 0 && s.af === af && s.protocol === protocol && s.port === port && s.addr.equals(addr),
    );
  }

  /** ip_vs_add_service. */
  addService(u: ServiceSpec): number {
    if (this.findService(u.af, u.protocol, u.addr, u.port, u.fwmark)) return -Errno.EEXIST;
    let sched = null;
    if (u.schedName !== 'none') {
      sched = this.schedulers.get(u.schedName);
      if (!sched) return -Errno.ENOENT;
    }
    if (u.peName && u.peName !== 'sip') return -Errno.ENOENT;
    if (u.af === 6 && (u.netmask < 1 || u.netmask > 128)) return -Errno.EINVAL;
    const addr = u.fwmark ? new IpAddr(u.af, 0) : (u.addr as IpAddr);
    const svc = new Service(
      u.af,
      u.fwmark ? u.protocol || 6 : u.protocol,
      addr,
      u.fwmark ? 0 : u.port,
      u.fwmark,
    );
    svc.flags = u.flags & ~SvcFlag.HASHED;
    svc.timeout = u.timeout;
    svc.netmask = u.netmask;
    svc.schedName = u.schedName;
    svc.peName = u.peName;
    if (sched) {
      svc.sched = sched;
      sched.initService(svc, this.env);
    }
    svc.flags |= SvcFlag.HASHED;
    this.services.push(svc);
    return 0;
  }

  /** ip_vs_edit_service: new scheduler (rebinds and re-inits it when it differs), flags, timeout, netmask. */
  editService(svc: Service, u: ServiceSpec): number {
    let sched = null;
    if (u.schedName !== 'none') {
      sched = this.schedulers.get(u.schedName);
      if (!sched) return -Errno.ENOENT;
    }
    if (u.peName && u.peName !== 'sip') return -Errno.ENOENT;
    if (u.af === 6 && (u.netmask < 1 || u.netmask > 128)) return -Errno.EINVAL;
    if (sched !== svc.sched) {
      if (svc.sched) svc.sched.doneService(svc);
      svc.sched = sched;
      svc.schedData = null;
      if (sched) sched.initService(svc, this.env);
    }
    svc.schedName = u.schedName;
    svc.flags = u.flags | SvcFlag.HASHED;
    svc.timeout = u.timeout;
    svc.netmask = u.netmask;
    svc.peName = u.peName;
    return 0;
  }

  /** ip_vs_del_service: unlink every real server (into the trash), drop the service. */
  delService(svc: Service): number {
    const i = this.services.indexOf(svc);
    if (i < 0) return -Errno.ESRCH;
    this.services.splice(i, 1);
    if (svc.sched) svc.sched.doneService(svc);
    svc.sched = null;
    for (const d of [...svc.dests]) {
      this.unlinkDest(svc, d, false);
      this.moveToTrash(d);
    }
    this.connHooks?.expireNodestConns();
    return 0;
  }

  /** ip_vs_flush. */
  flush(): number {
    for (const s of [...this.services]) this.delService(s);
    return 0;
  }

  /** ip_vs_zero_service / ip_vs_zero_all: zero the counters (not the connection counts). */
  zero(svc: Service | null): number {
    const list = svc ? [svc] : this.services;
    for (const s of list) {
      s.stats.zero();
      for (const d of s.dests) d.stats.zero();
    }
    return 0;
  }

  /** ip_vs_lookup_dest. */
  lookupDest(svc: Service, af: Af, addr: IpAddr, port: number): Dest | undefined {
    return svc.dests.find((d) => d.af === af && d.port === port && d.addr.equals(addr));
  }

  private checkDestSpec(u: DestSpec): number {
    if (u.weight < 0) return -Errno.ERANGE;
    if (u.lThreshold > u.uThreshold) return -Errno.ERANGE;
    if (u.uThreshold > 0x7fffffff) return -Errno.EINVAL;
    if (u.tunType === TunType.GUE && u.tunPort === 0) return -Errno.EINVAL;
    return 0;
  }

  /** ip_vs_add_dest (a deleted server still in the trash comes back with its counters). */
  addDest(svc: Service, u: DestSpec): number {
    const err = this.checkDestSpec(u);
    if (err) return err;
    if (u.af !== svc.af && u.fwd !== Fwd.TUNNEL) return -Errno.EINVAL;
    if (this.lookupDest(svc, u.af, u.addr, u.port)) return -Errno.EEXIST;
    let dest = this.takeFromTrash(svc, u);
    if (!dest) {
      if (!this.addrIsUnicast(u.addr)) return -Errno.EINVAL;
      dest = new Dest(this.destById.length, svc, u.af, u.addr, u.port);
      this.destById.push(dest);
    }
    this.updateDest(svc, dest, u, true);
    return 0;
  }

  /** ip_vs_edit_dest. */
  editDest(svc: Service, u: DestSpec): number {
    const err = this.checkDestSpec(u);
    if (err) return err;
    if (u.af !== svc.af && u.fwd !== Fwd.TUNNEL) return -Errno.EINVAL;
    const dest = this.lookupDest(svc, u.af, u.addr, u.port);
    if (!dest) return -Errno.ENOENT;
    this.updateDest(svc, dest, u, false);
    return 0;
  }

  /** ip_vs_del_dest: unlink from the service, move to the trash, expire its connections if asked. */
  delDest(svc: Service, af: Af, addr: IpAddr, port: number): number {
    const dest = this.lookupDest(svc, af, addr, port);
    if (!dest) return -Errno.ENOENT;
    this.unlinkDest(svc, dest, true);
    this.moveToTrash(dest);
    this.connHooks?.expireNodestConns();
    return 0;
  }

  /** `ipvsadm --set`: 0 keeps a value; negative values are rejected. */
  setTimeout(tcp: number, tcpfin: number, udp: number): number {
    const max = Math.floor(0x7fffffff / 250);
    if (tcp < 0 || tcp > max || tcpfin < 0 || tcpfin > max || udp < 0 || udp > max) return -Errno.EINVAL;
    this.timeouts.set(tcp, tcpfin, udp);
    return 0;
  }

  /** Call when a destination's connection references may have dropped to zero. */
  noteDestIdle(dest: Dest): void {
    if (!dest.available && dest.totalConns + dest.persistConns === 0 && !this.trashSince.has(dest))
      this.trashSince.set(dest, this.now);
  }

  /** __ip_vs_update_dest. */
  private updateDest(svc: Service, dest: Dest, u: DestSpec, add: boolean): void {
    if (add || u.weight !== 0) dest.lastWeight = u.weight;
    dest.weight = u.weight;
    dest.fwd = u.fwd;
    dest.tunType = u.tunType;
    dest.tunPort = u.tunPort;
    dest.tunFlags = u.tunFlags;
    if (dest.svc !== svc) {
      dest.stats.zero();
      dest.svc = svc;
    }
    dest.available = true;
    if (dest.uThreshold !== u.uThreshold || dest.lThreshold !== u.lThreshold) {
      dest.uThreshold = u.uThreshold;
      dest.lThreshold = u.lThreshold;
      dest.lThresholdVal = u.lThreshold || u.uThreshold - (u.uThreshold >>> 2);
      updateOverload(dest, 0);
    }
    if (add) {
      svc.dests.unshift(dest);
      svc.sched?.addDest(svc, dest);
    } else {
      svc.sched?.updDest(svc, dest);
    }
    svc.sched?.loadChanged(svc, dest);
  }

  /** __ip_vs_unlink_dest. */
  private unlinkDest(svc: Service, dest: Dest, svcupd: boolean): void {
    dest.available = false;
    const i = svc.dests.indexOf(dest);
    if (i >= 0) svc.dests.splice(i, 1);
    if (svcupd) svc.sched?.delDest(svc, dest);
  }

  private moveToTrash(dest: Dest): void {
    this.trash.unshift(dest);
    this.trashSince.delete(dest);
    this.noteDestIdle(dest);
  }

  /** ip_vs_trash_get_dest, with the trash timer's expiry applied lazily on simulated time. */
  private takeFromTrash(svc: Service, u: DestSpec): Dest | undefined {
    this.expireTrash();
    const i = this.trash.findIndex(
      (d) =>
        d.af === u.af &&
        d.port === u.port &&
        d.addr.equals(u.addr) &&
        d.svc.fwmark === svc.fwmark &&
        d.svc.protocol === svc.protocol &&
        (svc.fwmark !== 0 || (d.svc.addr.equals(svc.addr) && d.svc.port === svc.port)),
    );
    if (i < 0) return undefined;
    const [d] = this.trash.splice(i, 1);
    this.trashSince.delete(d);
    return d;
  }

  private expireTrash(): void {
    for (let i = this.trash.length - 1; i >= 0; i--) {
      const d = this.trash[i];
      const since = this.trashSince.get(d);
      if (
        since !== undefined &&
        d.totalConns + d.persistConns === 0 &&
        this.now >= since + DEST_TRASH_PERIOD
      ) {
        this.trash.splice(i, 1);
        this.trashSince.delete(d);
      }
    }
  }

  /**
   * ip_vs_new_dest()'s address check, as the oracle's 6.1 kernel answers it
   * (test/control/fixtures/ipvsadm-probe3.json): IPv4 multicast and
   * 255.255.255.255 are refused, 0.1.2.3 and 240.0.0.0/4 are taken (0.0.0.0
   * itself, not probed, is refused here); IPv6 multicast, link-local, `::`
   * and IPv4-mapped addresses are refused (`::1` is taken: it is local). A subnet
   * broadcast address of the director is also refused: the control layer
   * checks that against the host (the control plane does not know it).
   */
  private addrIsUnicast(a: IpAddr): boolean {
    if (a.af === 4) return !(a.w0 === 0 || a.w0 >>> 28 === 0xe || a.w0 === 0xffffffff);
    const first = a.w0 >>> 24;
    if (first === 0xff) return false; // multicast
    if (a.w0 >>> 22 === 0x3fa) return false; // fe80::/10 link-local
    if (a.w0 === 0 && a.w1 === 0 && a.w2 === 0xffff) return false; // ::ffff:0:0/96 IPv4-mapped
    return !a.isZero();
  }
}

/**
 * __ip_vs_dest_update_overload: mode > 0 when the total just reached the upper
 * threshold, < 0 when it just fell to the lower one, 0 after a threshold edit.
 */
export function updateOverload(dest: Dest, mode: number): void {
  const u = dest.uThreshold;
  if (!u) {
    dest.overloaded = false;
    return;
  }
  const l = dest.lThresholdVal;
  const conns = dest.totalConns;
  if (conns >= (mode > 0 ? l : u)) {
    dest.overloaded = true;
    return;
  }
  if (conns >= (mode < 0 ? u : l)) return;
  dest.overloaded = false;
}
