/**
 * The drop_entry defence (net.ipv4.vs.drop_entry): when memory runs short,
 * the kernel deletes connection entries at random once a second so that a
 * SYN flood cannot fill the table with half-open connections for good.
 *
 * What runs, and when (mirroring defense_work_handler() in ip_vs_ctl.c):
 * every simulated second (on the grid 1 s, 2 s, … after the replay's first
 * frame) the defence level is updated — update_defense_level()'s drop_entry
 * part — and, while the defence is on, one pass of ip_vs_random_dropentry()
 * (ip_vs_conn.c) runs. Connection timers due before a tick fire before it.
 *
 * "Memory is short" is what the director already uses for drop_packet and
 * secure_tcp (director.ts updateDefenseLevel): the table is capped with
 * `--max-conns N` and within `amemthresh` entries of the cap. The modes are
 * the kernel's: 0 off; 1 on while memory is short (the sysctl then reads 2,
 * and back to 1 when it is not); 3 always on.
 *
 * One pass. The kernel picks `ip_vs_conn_tab_size >> 5` buckets of its
 * connection hash table at random (with replacement: a bucket may come up
 * twice) and looks at every entry chained there, i.e. 1/32 of the table on
 * average. The simulator's table has no chains (an open-addressed index), so
 * it uses the same number of virtual buckets — CONN_TAB_SIZE, the kernel's
 * default 2^12 — with entry `id` in bucket `id mod CONN_TAB_SIZE`: a pass
 * draws 128 buckets and looks at the ~1/32 of the entries they hold, in id
 * order. Entry ids are handed out independently of the flow's addresses, so
 * this samples like the kernel's keyed hash. The draws come from a generator
 * seeded with the replay's --seed (a stream of its own, so that switching
 * the defence on does not change the random choices of twos or the IP IDs).
 *
 * Which entries a pass deletes (ip_vs_random_dropentry, todrop_entry):
 * - never an entry that controls others (a template with connections);
 * - a persistence template: deleted when not ASSURED (no connection of it
 *   ever reached ESTABLISHED); for a one-packet (-o) service's template, by
 *   the rate rule below instead;
 * - TCP: SYN_RECV and SYNACK entries always; ESTABLISHED by the rate rule;
 *   other states never;
 * - SCTP: INIT1 and INIT always; ESTABLISHED by the rate rule; others never;
 * - UDP and anything else: by the rate rule.
 * The rate rule (todrop_entry): an entry that saw a packet within the last
 * 60 s is kept; so is one whose packet count from the client (`in_pkts`) is
 * 0 or above 8; for a count i in 1..8 one entry in i is deleted (a counter
 * per count value, shared by the whole director as the kernel's static
 * array is shared).
 *
 * A deleted entry goes as ip_vs_conn_del() has it: its timer is cancelled and
 * it expires at once, unlinking it from its real server and dropping its
 * template too when that was unused and not assured (ConnOps.del). What was
 * deleted is counted in `counters`.
 *
 * Bounded work: a tick with an empty table does nothing and a clock jump
 * runs at most MAX_CATCH_UP passes (the last ones before the new time).
 */
import type { ConnTable } from './conn.js';
import { ConnFlag, CTPL_ASSURED, type ConnOps } from './conn_ops.js';
import { Proto, SvcFlag } from './service.js';
import { SctpState, TcpState } from './proto.js';
import { Rng } from './env.js';
import type { Sysctls } from './sysctl.js';

/** Interval of the kernel's defence timer (DEFENSE_TIMER_PERIOD), ms. */
export const DEFENSE_PERIOD_MS = 1000;
/** Buckets of the kernel's connection hash table (ip_vs_conn_tab_size, default 2^12). */
export const CONN_TAB_SIZE = 1 << 12;
/** Passes run at most when the clock jumps by more than this many seconds. */
export const MAX_CATCH_UP = 3600;
/** An entry idle for less than this is never deleted by the rate rule (todrop_entry), ms. */
const MIN_IDLE_MS = 60_000;
/** Seed offset of the defence's own random stream. */
const SEED_SALT = 0x5d1ce;

/** What the defence did, for the replay summary. */
export class DefenseCounters {
  /** Passes of ip_vs_random_dropentry run. */
  passes = 0;
  /** Entries looked at. */
  scanned = 0;
  /** Entries deleted, by kind. */
  synRecv = 0;
  established = 0;
  template = 0;
  other = 0;
}

/** What the defence needs from the director. */
export interface DefenseEnv {
  readonly conns: ConnTable;
  readonly ops: ConnOps;
  readonly sysctl: Sysctls;
  /** Fires the connection timers due at `ms` and moves the clock there (Director.advance's first half). */
  advanceTimers(ms: number): void;
}

/** Kind of a deleted entry, for the counters. */
const K_NONE = 0;
const K_SYN = 1;
const K_EST = 2;
const K_TPL = 3;
const K_OTHER = 4;

export class DropEntryDefense {
  readonly counters = new DefenseCounters();
  /** Simulated time of the next defence tick, ms. */
  nextMs = DEFENSE_PERIOD_MS;
  /** ipvs->dropentry: the defence is on (set at each tick by updateLevel). */
  on = false;
  private readonly env: DefenseEnv;
  private readonly rng: Rng;
  /** todrop_counter[in_pkts] of todrop_entry. */
  private readonly todropCounter = new Int32Array(9);
  /** Simulated time of the tick being run, ms. */
  private now = 0;

  constructor(env: DefenseEnv, seed: number) {
    this.env = env;
    this.rng = new Rng((seed ^ SEED_SALT) >>> 0);
  }

  /**
   * Runs the defence ticks due by `nowMs` (call before the connection timers
   * due at `nowMs` fire): for each tick, the timers due by then fire, then
   * the level is updated and, when on, a pass runs. Cheap when nothing is
   * due: one comparison.
   */
  advance(nowMs: number): void {
    if (nowMs < this.nextMs) return;
    const { conns, sysctl } = this.env;
    const period = DEFENSE_PERIOD_MS;
    // the last tick due by nowMs, and the first one worth running
    const last = Math.floor(nowMs / period) * period;
    if (sysctl.dropEntry === 0) {
      this.on = false;
      this.nextMs = last + period;
      return;
    }
    let t = Math.max(this.nextMs, last - (MAX_CATCH_UP - 1) * period);
    for (; t <= last; t += period) {
      this.env.advanceTimers(t);
      this.now = t;
      if (conns.size === 0) {
        // nothing to look at, now or until a packet comes: skip to the last tick
        this.updateLevel();
        t = Math.max(t, last - period);
        continue;
      }
      this.updateLevel();
      if (this.on) this.pass();
    }
    this.nextMs = last + period;
  }

  /**
   * The drop_entry part of update_defense_level(): on in mode 3, on in modes
   * 1/2 while memory is short (the table within amemthresh entries of its
   * cap); mode 1 reads 2 while on, mode 2 reads 1 once off again.
   */
  updateLevel(): void {
    const { conns, sysctl } = this.env;
    const cap = conns.maxConns;
    const nomem = cap > 0 && cap - conns.size < sysctl.vs('amemthresh');
    const mode = sysctl.dropEntry;
    if (mode === 0) this.on = false;
    else if (mode === 3) this.on = true;
    else if (nomem) {
      this.on = true;
      if (mode === 1) sysctl.set('net.ipv4.vs.drop_entry', '2');
    } else {
      this.on = false;
      if (mode === 2) sysctl.set('net.ipv4.vs.drop_entry', '1');
    }
  }

  /** One pass of ip_vs_random_dropentry over 1/32 of the table (virtual buckets, see the file comment). */
  pass(): void {
    const { conns } = this.env;
    const c = this.counters;
    c.passes++;
    const mask = CONN_TAB_SIZE - 1;
    const limit = conns.idLimit;
    for (let n = CONN_TAB_SIZE >> 5; n > 0; n--) {
      const bucket = this.rng.next32() & mask;
      for (let id = bucket; id < limit; id += CONN_TAB_SIZE) {
        if (!conns.isLive(id)) continue;
        c.scanned++;
        const kind = this.victimKind(id);
        if (kind === K_NONE) continue;
        this.env.ops.del(id);
        if (kind === K_SYN) c.synRecv++;
        else if (kind === K_EST) c.established++;
        else if (kind === K_TPL) c.template++;
        else c.other++;
      }
    }
  }

  /** Whether the pass deletes entry `id`, and as what (K_NONE: kept). */
  private victimKind(id: number): number {
    const { conns } = this.env;
    if (conns.nControl[id] > 0) return K_NONE;
    const flags = conns.flags[id];
    const state = conns.state[id];
    if (flags & ConnFlag.TEMPLATE) {
      if (this.onePacketService(id)) return this.todrop(id) ? K_TPL : K_NONE;
      return state & CTPL_ASSURED ? K_NONE : K_TPL;
    }
    const proto = conns.protoOf(id);
    if (proto === Proto.TCP) {
      if (state === TcpState.SYN_RECV || state === TcpState.SYNACK) return K_SYN;
      if (state === TcpState.ESTABLISHED) return this.todrop(id) ? K_EST : K_NONE;
      return K_NONE;
    }
    if (proto === Proto.SCTP) {
      if (state === SctpState.INIT1 || state === SctpState.INIT) return K_SYN;
      if (state === SctpState.ESTABLISHED) return this.todrop(id) ? K_EST : K_NONE;
      return K_NONE;
    }
    return this.todrop(id) ? K_OTHER : K_NONE;
  }

  /** ip_vs_conn_ops_mode: the entry's real server belongs to a one-packet (-o) service. */
  private onePacketService(id: number): boolean {
    const d = this.env.ops.dest(id);
    return d !== null && (d.svc.flags & SvcFlag.ONEPACKET) !== 0;
  }

  /**
   * todrop_entry: keep an entry that saw a packet within the last 60 s (its
   * timer was restarted less than 60 s ago), or whose client packet count is
   * 0 or above 8; of the others, delete one in `count` per count value.
   */
  private todrop(id: number): boolean {
    const { conns } = this.env;
    // now + timeout < expires + 60 s  <=>  the last restart was less than 60 s ago
    if (this.now + conns.timeout[id] < conns.expires[id] + MIN_IDLE_MS) return false;
    const i = conns.inPkts[id];
    if (i > 8 || i === 0) return false;
    if (--this.todropCounter[i] > 0) return false;
    this.todropCounter[i] = i;
    return true;
  }
}
