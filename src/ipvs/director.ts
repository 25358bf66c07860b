/**
 * One simulated Linux IPVS director: its configuration (links, addresses,
 * routes, neighbours, sysctls, IPVS services, firewall-mark rules), its
 * connection table, and the receive path every input frame takes —
 * netif_receive (MAC filter, VLAN), ARP, ip_rcv / ipv6_rcv checks,
 * PREROUTING (marks, IPv6 defragmentation), the routing decision, LOCAL_IN
 * with IPVS's hooks then local delivery, or forwarding.
 *
 * The director records the fate of every frame (forwarded, answered by its
 * own stack, delivered locally without answer, dropped — with a reason) in
 * `fates`; the frames it sends go to the FrameSink.
 */
import { Host } from './host.js';
import { Sysctls } from './sysctl.js';
import { Ipvs } from './ctl.js';
import { FwmarkRules } from './fwmark.js';
import { ConnTable } from './conn.js';
import { ConnOps, ConnFlag } from './conn_ops.js';
import { DirectorEnv, type FrameSink, NullSink } from './env.js';
import { Fib } from './fib.js';
import { IpvsCore } from './core.js';
import { Xmit } from './xmit.js';
import { HostStack } from './stack/stack.js';
import { Verdict, Hook, type HostStackApi } from './hooks.js';
import { Stats, type Service, type Dest } from './service.js';
import { EST_PERIOD_MS } from './est.js';
import type { RateValues } from '../control/ipvsadm/list.js';
import { Fate, Reason } from './verdict.js';
import { createSchedulerRegistry } from './sched/index.js';
import type { SchedulerRegistry } from './sched/scheduler.js';
import { parseFrame } from '../wire/parse.js';
import { EtherType } from '../wire/ethernet.js';
import { readMac } from '../wire/addr.js';
import { sum16, sum20, fold } from '../wire/checksum.js';
import type { SetupTarget } from '../control/setup.js';
import { TraceKind, fmtAddr, type Tracer } from './trace.js';
import { REASON_NAMES } from './verdict.js';
import { WIRE_REASON_NAMES } from '../wire/reasons.js';
import { DropEntryDefense } from './defense.js';

export interface DirectorOptions {
  /** Seed of the generator behind twos and the random IP IDs (default 1). */
  seed?: number;
  /** Cap on connection entries, 0 = none (the SYN-flood defence of --max-conns). */
  maxConns?: number;
  sink?: FrameSink;
  /** Scheduler registry (default: all fourteen). */
  schedulers?: SchedulerRegistry;
  /** Frees memory between the columns of a large connection-table growth (ConnTableOptions.release). */
  releaseMemory?: (() => void) | null;
}

/** Interval of the kernel's defence_work timer (update_defense_level), ms. */
const DEFENSE_PERIOD_MS = 1000;

export class Director implements SetupTarget {
  readonly host = new Host();
  readonly sysctl = new Sysctls();
  readonly ipvs: Ipvs;
  readonly fwmarks = new FwmarkRules();
  readonly env: DirectorEnv;
  readonly conns: ConnTable;
  readonly ops: ConnOps;
  readonly core: IpvsCore;
  readonly xmit: Xmit;
  readonly stack: HostStackApi;
  /** Bumped by every configChanged() (for caches built from the configuration). */
  configGeneration = 0;
  /** ipvs->tot_stats. */
  readonly totStats = new Stats();
  /** [robust] The drop_entry defence (defense.ts). */
  readonly defense: DropEntryDefense;
  private nextDefenseMs = 0;
  /** Next run of the rate estimator (every 2 s of simulated time). */
  private nextEstMs = EST_PERIOD_MS;
  /** IPv6 is on once the set-up gives the director an IPv6 address (as the oracle's `ipv6=auto`). */
  private ipv6On = false;
  /** nf_defrag_ipv6 is active once an IPv6 service exists. */
  private v6Defrag = false;
  /** Fires one due connection timer at its own expiry time (so re-arms are relative to it). */
  private readonly onExpire = (id: number): void => {
    this.env.nowMs = Math.max(this.env.nowMs, this.conns.expires[id]);
    this.ops.expire(id);
  };

  constructor(opts: DirectorOptions = {}) {
    const seed = opts.seed ?? 1;
    this.env = new DirectorEnv(this.sysctl, opts.sink ?? new NullSink(), seed);
    this.ipvs = new Ipvs(
      opts.schedulers ?? createSchedulerRegistry(),
      () => this.env.rng.next32(),
      this.sysctl,
    );
    // room for a busy replay from the start (growth copies every column)
    this.conns = new ConnTable({
      maxConns: opts.maxConns ?? 0,
      initialCapacity: 65536,
      release: opts.releaseMemory ?? null,
    });
    this.ops = new ConnOps({ ipvs: this.ipvs, conns: this.conns, clock: this.env });
    this.ipvs.connHooks = { expireNodestConns: () => this.ops.flushNodest() };
    this.xmit = new Xmit(this.env, this.ipvs, this.conns, this.ops);
    this.core = new IpvsCore(this.env, this.ipvs, this.conns, this.ops, this.xmit, this.totStats);
    this.stack = new HostStack(this.env);
    this.env.stack = this.stack;
    this.env.hooks = this.core;
    // [robust] the drop_entry defence, ticking on simulated time from advance()
    this.defense = new DropEntryDefense(
      {
        conns: this.conns,
        ops: this.ops,
        sysctl: this.sysctl,
        advanceTimers: (ms: number): void => {
          this.conns.expire(ms, this.onExpire);
          if (ms > this.env.nowMs) this.env.nowMs = ms;
          this.ipvs.now = this.env.nowMs / 1000;
        },
      },
      seed,
    );
    this.configChanged();
  }

  /** Re-compiles what the hot path uses after the set-up changed (a set-up line or a timed command). */
  configChanged(): void {
    this.configGeneration++;
    this.env.fib = Fib.build(this.host);
    if (this.conns.size > 0) this.ops.recountLocalClients();
    this.core.rebuild();
    this.ipv6On = this.host.localAddresses().some((a) => a.af === 6);
    this.v6Defrag = this.ipvs.services.some((s) => s.af === 6);
    this.updateDefenseLevel();
  }

  /**
   * update_defense_level: drop_packet, secure_tcp (and drop_entry) in their
   * "always on" mode 3, or in modes 1/2 while memory is short — which the
   * simulator takes to mean the connection table is within amemthresh
   * entries of its --max-conns cap.
   */
  private updateDefenseLevel(): void {
    const s = this.sysctl;
    const cap = this.conns.maxConns;
    const nomem = cap > 0 && cap - this.conns.size < s.vs('amemthresh');
    const dp = s.vs('drop_packet');
    const am = s.vs('amemthresh');
    const avail = cap - this.conns.size;
    if (dp === 3) this.core.dropRate = s.vs('am_droprate');
    else if ((dp === 1 || dp === 2) && nomem) this.core.dropRate = Math.floor(am / Math.max(1, am - avail));
    else this.core.dropRate = 0;
    const st = s.vs('secure_tcp');
    this.core.secureTcp = st === 3 || ((st === 1 || st === 2) && nomem);
  }

  /**
   * Simulated time moves to `nowMs` (milliseconds since the first frame):
   * connection timers that are due fire in order, then the stack's timers.
   */
  advance(nowMs: number): void {
    this.env.inputMs = nowMs;
    this.advanceToInput();
  }

  /**
   * advance(env.inputMs): the replay's per-frame call. It takes no argument
   * because a double passed to a call V8 does not inline is boxed, a heap
   * allocation per frame.
   */
  advanceToInput(): void {
    const env = this.env;
    let nowMs = env.inputMs;
    if (nowMs < env.nowMs) nowMs = env.nowMs;
    // [robust] drop_entry defence ticks due by now (each after the timers due before it)
    this.defense.advance(nowMs);
    this.conns.expire(nowMs, this.onExpire);
    env.nowMs = nowMs;
    this.ipvs.now = nowMs / 1000;
    this.stack.tick(nowMs);
    if (nowMs >= this.nextEstMs) this.runEstimator(nowMs);
    if (nowMs >= this.nextDefenseMs) {
      this.updateDefenseLevel();
      this.nextDefenseMs = nowMs + DEFENSE_PERIOD_MS;
    }
  }

  /**
   * estimation_timer: one step per 2 s period that has passed (once every
   * average is back to zero, further idle periods change nothing and are
   * skipped).
   */
  private runEstimator(nowMs: number): void {
    const run = this.sysctl.vs('run_estimation') !== 0;
    const all: Stats[] = [this.totStats];
    for (const s of this.ipvs.services) {
      all.push(s.stats);
      for (const d of s.dests) all.push(d.stats);
    }
    while (nowMs >= this.nextEstMs) {
      this.nextEstMs += EST_PERIOD_MS;
      if (!run) continue;
      let busy = false;
      for (const st of all) {
        st.est.step(st);
        if (!st.est.idle()) busy = true;
      }
      if (!busy && nowMs >= this.nextEstMs) {
        // idle from here on: jump to the last period before now
        this.nextEstMs += Math.floor((nowMs - this.nextEstMs) / EST_PERIOD_MS) * EST_PERIOD_MS;
      }
    }
  }

  /** Estimated rates of every service and real server (`ipvsadm -L --rate`). */
  rates(): Map<Service | Dest, RateValues> {
    const m = new Map<Service | Dest, RateValues>();
    for (const s of this.ipvs.services) {
      m.set(s, s.stats.est.read());
      for (const d of s.dests) m.set(d, d.stats.est.read());
    }
    return m;
  }

  /**
   * Processes one frame received on link `link` (the frame is buf[off, off+capLen),
   * origLen bytes on the wire). Its fate is in env.fate / env.reason afterwards
   * and counted in env.fates. The frame's bytes may be rewritten in place.
   */
  receive(link: number, buf: Uint8Array, off: number, capLen: number, origLen: number): void {
    const env = this.env;
    const info = env.info;
    env.fate = -1;
    env.reason = 0;
    env.outCount = 0;
    env.heldReleased = 0;
    env.fates.framesIn++;
    const r = parseFrame(buf, off, capLen, origLen, info);
    const tr = env.tracer;
    if (tr) this.traceArrive(tr, link, capLen, origLen);
    if (r !== 0) {
      env.fates.malformed[r]++;
      env.setFate(Fate.DROPPED, Reason.MALFORMED);
      if (tr)
        tr.step(TraceKind.DROP, `malformed frame: ${WIRE_REASON_NAMES[r]}`, {
          wireReason: WIRE_REASON_NAMES[r],
        });
    } else {
      this.l2(link, buf, off, capLen);
    }
    if (env.fate < 0) env.setFate(Fate.DROPPED, Reason.NOT_HANDLED);
    if (tr && env.fate === Fate.DROPPED && r === 0)
      tr.step(TraceKind.DROP, `dropped: ${REASON_NAMES[env.reason]}`, { reason: REASON_NAMES[env.reason] });
    env.fates.count(env.fate, env.reason);
    if (env.heldReleased > 0) env.fates.release(env.fate, env.reason, env.heldReleased);
  }

  /**
   * Trace text is built out of line, so that the functions of the per-packet
   * path stay small enough for V8 to inline (bench/suites/explain.ts
   * measures what the trace points cost with tracing off).
   */
  private traceArrive(tr: Tracer, link: number, capLen: number, origLen: number): void {
    const l = this.host.links[link];
    tr.step(TraceKind.ARRIVE, `frame of ${origLen} bytes arrives on ${l ? l.name : `link ${link}`}`, {
      link: l ? l.name : link,
      capLen,
      origLen,
    });
  }

  /**
   * A sharded replay (src/replay/workers.ts) gives every worker the frames
   * the neighbour table learns from (ARP, neighbour discovery), though one
   * worker owns each: the others observe it — the neighbour table and the
   * packets waiting for it are updated as receive() would, but no answer
   * is sent and the frame is not counted.
   */
  observe(link: number, buf: Uint8Array, off: number, capLen: number, origLen: number): void {
    const env = this.env;
    env.fate = -1;
    env.reason = 0;
    env.outCount = 0;
    env.heldReleased = 0;
    if (parseFrame(buf, off, capLen, origLen, env.info) !== 0) return;
    env.observing = true;
    try {
      this.l2(link, buf, off, capLen);
    } finally {
      env.observing = false;
    }
  }

  private l2(link: number, buf: Uint8Array, off: number, capLen: number): void {
    const env = this.env;
    const info = env.info;
    const group = (buf[off] & 1) !== 0;
    if (!group && readMac(buf, off) !== env.fib.linkMac[link]) {
      env.drop(Reason.NOT_FOR_US);
      return;
    }
    // no VLAN devices: only a priority tag (VID 0) is handled, as untagged
    if (info.vlanCount > 0 && !(info.vlanCount === 1 && (info.vlanTci0 & 0xfff) === 0)) {
      env.drop(Reason.VLAN_NO_INTERFACE);
      return;
    }
    switch (info.etherType) {
      case EtherType.ARP:
        this.stack.arpRcv(buf, off, capLen, link);
        return;
      case EtherType.IPV4:
        this.ipRcv(link, buf, off, capLen, group);
        return;
      case EtherType.IPV6:
        if (!this.ipv6On) {
          env.drop(Reason.IPV6_DISABLED);
          return;
        }
        this.ipRcv(link, buf, off, capLen, group);
        return;
      default:
        env.drop(Reason.UNKNOWN_ETHERTYPE);
    }
  }

  /** ip_rcv / ipv6_rcv, PREROUTING, the routing decision, then local delivery or forwarding. */
  private ipRcv(link: number, buf: Uint8Array, off: number, capLen: number, group: boolean): void {
    const env = this.env;
    const info = env.info;
    const skb = env.skb;
    const af = info.af;
    const l3 = info.l3Off;
    const len = info.ipTotalLen;
    const cap = Math.min(len, off + capLen - l3);
    skb.set(buf, l3, len, cap, af);
    skb.inLink = link;
    skb.mark = 0;
    if (af === 4) {
      // ip_rcv_core: the header checksum must be right
      const ihl = info.ipHdrLen;
      if (fold(ihl === 20 ? sum20(buf, l3) : sum16(buf, l3, ihl, 0)) !== 0xffff) {
        env.drop(Reason.IPV4_BAD_CHECKSUM);
        return;
      }
    }
    // PREROUTING: mangle (firewall marks)
    skb.mark = this.fwmarks.mark(
      af as 4 | 6,
      info.proto,
      info.saddr,
      info.daddr,
      info.sport,
      info.dport,
      link,
    );
    if (af === 6 && this.v6Defrag && info.isFragment) {
      if (!this.stack.defrag6()) return;
    }
    const tr = env.tracer;
    if (tr) tracePrerouting(tr, skb.mark);
    // routing decision
    if (!this.checkSource(af, info.saddr)) {
      env.drop(Reason.MARTIAN_SOURCE);
      return;
    }
    const fib = env.fib;
    if (fib.isLocal(af, info.daddr, 0)) {
      if (tr) traceRoute(tr, af, info.daddr, true);
      this.localIn();
      return;
    }
    if (group || this.isGroupAddress(af, info.daddr)) {
      // broadcast / multicast to a group the director has not joined: nothing answers
      this.stack.localDeliver();
      return;
    }
    if (af === 4 && this.isMartianDest(info.daddr[0] | 0)) {
      env.drop(Reason.MARTIAN_DESTINATION);
      return;
    }
    const forwarding = af === 4 ? this.sysctl.ipForward : this.sysctl.ipv6Forward;
    if (!forwarding) {
      env.drop(Reason.FORWARDING_DISABLED);
      return;
    }
    if (tr) traceRoute(tr, af, info.daddr, false);
    this.stack.forward();
  }

  /** ip_local_deliver (IPv4 reassembly) + LOCAL_IN: IPVS's out then in hook, then the local stack. */
  private localIn(): void {
    const env = this.env;
    if (env.skb.af === 4 && env.info.isFragment) {
      if (!this.stack.gatherFrags(Hook.LOCAL_IN)) return;
    }
    let v = this.core.outHook(Hook.LOCAL_IN);
    if (v === Verdict.ACCEPT) v = this.core.inHook(Hook.LOCAL_IN);
    if (v === Verdict.ACCEPT) {
      if (env.tracer)
        env.tracer.step(TraceKind.HOOK, 'LOCAL_IN: IPVS lets the packet go on to the local stack');
      this.stack.localDeliver();
    } else if (v === Verdict.DROP && env.fate < 0) env.drop(Reason.IPVS_DROP);
  }

  /** Source-address checks of ip_route_input_slow / fib_validate_source (martians, our own address). */
  private checkSource(af: number, s: Uint32Array): boolean {
    if (af === 4) {
      const a = s[0] >>> 0;
      const top = a >>> 24;
      if (top >= 224 || a === 0xffffffff) return false; // multicast, limited broadcast
      if (top === 127 && !this.sysctl.routeLocalnet) return false;
      if (top === 0 && a !== 0) return false; // zeronet (0.0.0.0 itself is allowed toward broadcast)
      if (this.env.fib.isLocal4(a | 0) && !this.sysctl.acceptLocal) return false;
      return true;
    }
    if (s[0] >>> 24 === 0xff) return false; // multicast source
    if (s[0] === 0 && s[1] === 0 && s[2] === 0 && s[3] === 1) return false; // ::1
    if (this.env.fib.isLocal6(s, 0)) return false;
    return true;
  }

  private isMartianDest(d: number): boolean {
    const top = d >>> 24;
    return top === 0 || top === 127;
  }

  private isGroupAddress(af: number, d: Uint32Array): boolean {
    if (af === 4) {
      const a = d[0] | 0; // signed: an unsigned word >= 2^31 passed to a call is boxed
      return a >>> 28 === 14 || this.env.fib.isBroadcast4(a);
    }
    return d[0] >>> 24 === 0xff;
  }

  /** Connection entries, for listings (`ipvsadm -Lc`) and tests. */
  connCount(): number {
    return this.conns.size;
  }

  /** True when `id` is a persistence template. */
  isTemplate(id: number): boolean {
    return (this.conns.flags[id] & ConnFlag.TEMPLATE) !== 0;
  }
}

// trace text out of line: the per-packet functions stay small enough for V8 to inline
function tracePrerouting(tr: Tracer, mark: number): void {
  tr.step(
    TraceKind.PREROUTING,
    mark
      ? `PREROUTING: IP header checks passed; firewall mark ${mark} set`
      : 'PREROUTING: IP header checks passed; no firewall mark',
    { mark },
  );
}

function traceRoute(tr: Tracer, af: number, daddr: Uint32Array, local: boolean): void {
  tr.step(
    TraceKind.ROUTE,
    local
      ? `route lookup: ${fmtAddr(af, daddr)} is a local address → LOCAL_IN`
      : `route lookup: ${fmtAddr(af, daddr)} is not local → FORWARD`,
    { route: local ? 'local' : 'forward' },
  );
}
