/**
 * Connection-entry life cycle on top of ConnTable, as ip_vs_conn.c runs it:
 * creating an entry and binding it to its real server (ip_vs_conn_new +
 * ip_vs_bind_dest: counters, overload flag — the overload hysteresis of
 * Debian's 6.1 kernel, which backports ip_vs_dest_update_overload(), see
 * ctl.ts updateOverload and test/oracle/extra/sched-wlc-ties), restarting its timer after each
 * packet (ip_vs_conn_put), state changes that move it between ActiveConn and
 * InActConn, persistence templates and the entries they control, template
 * validation (ip_vs_check_template) and expiry (ip_vs_conn_expire).
 */
import { Fwd, type Dest } from './service.js';
import { updateOverload, type Ipvs } from './ctl.js';
import { ConnFlag, type ConnTable } from './conn.js';

export { ConnFlag };

/** Template state bit (IP_VS_CTPL_S_ASSURED): a connection it controls reached ESTABLISHED. */
export const CTPL_ASSURED = 1;

/** Timeout of a new entry before its first state change (3 s), and of an expiring entry that still controls others (60 s). */
const NEW_CONN_TIMEOUT_MS = 3000;
const EXPIRE_LATER_MS = 60_000;

/** The simulated clock ConnOps reads, and the director's own addresses (the director's DirectorEnv). */
export interface Clock {
  /** Simulated time, milliseconds. */
  readonly nowMs: number;
  readonly fib: { isLocal(af: number, a: Uint32Array, i: number): boolean };
}

/**
 * Simulator-only flag bit: the entry's client address is one of the
 * director's own (counted in ConnOps.localClientConns).
 */
const LOCAL_CLIENT = 0x40000000;

/** What ConnOps needs from the director. */
export interface ConnEnv {
  readonly ipvs: Ipvs;
  readonly conns: ConnTable;
  readonly clock: Clock;
}

/** The real server's load changed: tell its scheduler (so indexed schedulers stay exact). */
function loadChanged(dest: Dest): void {
  dest.svc.sched?.loadChanged(dest.svc, dest);
}

export class ConnOps {
  private readonly env: ConnEnv;
  /**
   * Entries whose client is the director itself. Only such an entry can
   * match ip_vs_out's lookup of a packet addressed to the director (its
   * destination is the entry's client), so with none IPVS skips that lookup
   * at LOCAL_IN.
   */
  localClientConns = 0;

  constructor(env: ConnEnv) {
    this.env = env;
  }

  /**
   * ip_vs_conn_new + ip_vs_bind_dest: inserts an entry, binds it to `dest`
   * (flags inherited from the real server: forwarding method, INACTIVE,
   * NOOUTPUT unless NAT), counts it, and sets the overload flag when the
   * upper threshold is reached. State NONE, timeout 3 s; the timer is armed by
   * the first `put`. Returns the id, or -1 when the table is full.
   */
  create(
    af: number,
    proto: number,
    caddr: Uint32Array,
    cport: number,
    vaddr: Uint32Array,
    vport: number,
    daddr: Uint32Array,
    dport: number,
    flags: number,
    dest: Dest | null,
    fwmark: number,
  ): number {
    let f = flags;
    if (this.env.clock.fib.isLocal(af, caddr, 0)) {
      f |= LOCAL_CLIENT;
      this.localClientConns++;
    }
    if (dest) {
      let destFlags = dest.fwd | ConnFlag.INACTIVE;
      if (dest.fwd !== Fwd.MASQ) destFlags |= ConnFlag.NOOUTPUT;
      f |= destFlags;
    }
    const { conns } = this.env;
    const id = conns.insert(
      af,
      proto,
      caddr,
      cport,
      vaddr,
      vport,
      daddr,
      dport,
      f,
      dest ? dest.id : -1,
      fwmark,
      dest ? dest.af : af,
    );
    if (id < 0) return -1;
    conns.state[id] = 0;
    conns.control[id] = -1;
    conns.nControl[id] = 0;
    conns.timeout[id] = NEW_CONN_TIMEOUT_MS;
    if (dest) {
      if (!(f & ConnFlag.TEMPLATE)) {
        // a new entry counts as inactive until a state change says otherwise
        dest.totalConns++;
        if (!(f & ConnFlag.INACTIVE)) dest.activeConns++;
        // Debian 6.1's backported overload update: set when the total reaches -x
        if (dest.totalConns === dest.uThreshold) updateOverload(dest, 1);
      } else {
        dest.persistConns++;
      }
      loadChanged(dest);
    }
    return id;
  }

  /** After the director's addresses changed: re-mark the entries whose client is now (not) local. */
  recountLocalClients(): void {
    const { conns } = this.env;
    const fib = this.env.clock.fib;
    const a = new Uint32Array(4);
    let n = 0;
    conns.forEach((id) => {
      conns.getCaddr(id, a);
      if (fib.isLocal(conns.afOf(id), a, 0)) {
        conns.flags[id] |= LOCAL_CLIENT;
        n++;
      } else conns.flags[id] &= ~LOCAL_CLIENT;
    });
    this.localClientConns = n;
  }

  /** The destination bound to an entry (null for an entry without one). */
  dest(id: number): Dest | null {
    const d = this.env.conns.destId[id];
    return d >= 0 ? this.env.ipvs.destById[d] : null;
  }

  /**
   * ip_vs_conn_put: restart the entry's timer with its current timeout; a
   * one-packet entry (ipvsadm -o) expires at once instead.
   */
  put(id: number): void {
    const conns = this.env.conns;
    const nowMs = this.env.clock.nowMs;
    if (conns.flags[id] & ConnFlag.ONE_PACKET) {
      this.expire(id);
      return;
    }
    conns.arm(id, nowMs + conns.timeout[id]);
  }

  /** ip_vs_conn_expire_now: make the timer fire at the next tick if it is later. */
  expireNow(id: number): void {
    const conns = this.env.conns;
    const nowMs = this.env.clock.nowMs;
    if (conns.isArmed(id) && conns.expires[id] > nowMs) conns.arm(id, nowMs);
  }

  /**
   * A state change of a connection: keep ActiveConn/InActConn and the
   * INACTIVE flag in step with whether the new state is an active one, and
   * assure the controlling template when it becomes established
   * (the common part of set_tcp_state / set_sctp_state). Sets the new
   * timeout (ms). A change to the same state only refreshes the timeout.
   */
  setState(id: number, newState: number, active: boolean, established: boolean, timeoutMs: number): void {
    const { conns } = this.env;
    if (newState !== conns.state[id]) {
      const dest = this.dest(id);
      if (dest) {
        const f = conns.flags[id];
        if (!(f & ConnFlag.INACTIVE) && !active) {
          dest.activeConns--;
          conns.flags[id] = f | ConnFlag.INACTIVE;
          loadChanged(dest);
        } else if (f & ConnFlag.INACTIVE && active) {
          dest.activeConns++;
          conns.flags[id] = f & ~ConnFlag.INACTIVE;
          loadChanged(dest);
        }
      }
      if (established) this.assureTemplate(id);
      conns.state[id] = newState;
    }
    conns.timeout[id] = timeoutMs;
  }

  /** ip_vs_control_assure_ct: the controlling template of an established connection is assured. */
  private assureTemplate(id: number): void {
    const { conns } = this.env;
    const ct = conns.control[id];
    if (ct >= 0 && conns.flags[ct] & ConnFlag.TEMPLATE) conns.state[ct] |= CTPL_ASSURED;
  }

  /** ip_vs_control_add. */
  controlAdd(id: number, ct: number): void {
    const { conns } = this.env;
    if (conns.control[id] >= 0) this.controlDel(id);
    conns.control[id] = ct;
    conns.nControl[ct]++;
  }

  /** ip_vs_control_del. */
  controlDel(id: number): void {
    const { conns } = this.env;
    const ct = conns.control[id];
    if (ct < 0) return;
    conns.control[id] = -1;
    if (conns.nControl[ct] > 0) conns.nControl[ct]--;
  }

  /**
   * ip_vs_conn_expire, when an entry's timer fires: an entry that still
   * controls others is kept for another 60 s; otherwise it is unlinked from
   * its template (which is dropped too, when this entry was deleted on purpose
   * — timeout 0 — and the template is unused and not assured), unbound from
   * its real server and freed.
   */
  expire(id: number): void {
    const { conns } = this.env;
    if (conns.nControl[id] > 0) {
      conns.timeout[id] = EXPIRE_LATER_MS;
      this.put(id);
      return;
    }
    const ct = conns.control[id];
    if (ct >= 0) {
      const dropChain = conns.timeout[id] === 0;
      this.controlDel(id);
      if (
        dropChain &&
        conns.isLive(ct) &&
        conns.nControl[ct] === 0 &&
        (!(conns.flags[ct] & ConnFlag.TEMPLATE) || !(conns.state[ct] & CTPL_ASSURED))
      )
        this.del(ct);
    }
    this.unbindAndFree(id);
  }

  /**
   * ip_vs_conn_del: delete an entry now (its controlling chain goes with it:
   * a controlled entry is given timeout 0 so expire() drops an unused,
   * unassured template too).
   */
  del(id: number): void {
    const { conns } = this.env;
    if (!conns.isLive(id)) return;
    if (conns.control[id] >= 0) conns.timeout[id] = 0;
    this.expire(id);
  }

  /** ip_vs_unbind_dest + free. */
  private unbindAndFree(id: number): void {
    const { conns, ipvs } = this.env;
    if (conns.flags[id] & LOCAL_CLIENT) this.localClientConns--;
    const dest = this.dest(id);
    if (dest) {
      const f = conns.flags[id];
      if (!(f & ConnFlag.TEMPLATE)) {
        if (!(f & ConnFlag.INACTIVE)) dest.activeConns--;
        const before = dest.totalConns;
        dest.totalConns--;
        // Debian 6.1's backported overload update: cleared when the total falls below the lower mark
        if (before === dest.lThresholdVal) updateOverload(dest, -1);
      } else {
        dest.persistConns--;
      }
      loadChanged(dest);
      ipvs.noteDestIdle(dest);
    }
    conns.remove(id);
  }

  /**
   * ip_vs_check_template: a template is usable when its real server is still
   * in the service, not quiesced under expire_quiescent_template, and (when
   * given) is `cdest`. An unusable template is invalidated — re-keyed with
   * client port 0 and virtual/destination port 65535 so it matches nothing —
   * and left to its timer.
   */
  checkTemplate(ct: number, cdest: Dest | null): boolean {
    const { conns, ipvs } = this.env;
    const dest = this.dest(ct);
    const quiescent = ipvs.sysctl.expireQuiescentTemplate !== 0 && dest !== null && dest.weight === 0;
    if (dest === null || !dest.available || quiescent || (cdest !== null && dest !== cdest)) {
      if (conns.vportOf(ct) !== 0xffff) conns.rekey(ct, 0, 0xffff, 0xffff);
      return false;
    }
    return true;
  }

  /**
   * ip_vs_expire_nodest_conn_flush: with expire_nodest_conn set, delete every
   * entry (not template) whose real server was removed, and its template once
   * unused (run when a real server or service is deleted).
   */
  flushNodest(): void {
    const { conns, ipvs } = this.env;
    if (!ipvs.sysctl.expireNodestConn) return;
    const victims: number[] = [];
    conns.forEach((id) => {
      const dest = this.dest(id);
      if (dest && !dest.available && !(conns.flags[id] & ConnFlag.TEMPLATE)) victims.push(id);
    });
    for (const id of victims) {
      if (!conns.isLive(id)) continue;
      const ct = conns.control[id];
      this.del(id);
      if (ct >= 0 && conns.isLive(ct) && conns.nControl[ct] === 0) {
        const d = this.dest(ct);
        if (d && !d.available) this.del(ct);
      }
    }
  }
}
