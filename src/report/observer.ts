/**
 * Watching one replay's scheduling decisions without touching the datapath.
 *
 * ObservedScheduler wraps the scheduler under test: it makes exactly the
 * inner scheduler's decisions and remembers the last one (service, real
 * server, client address) and the last real server whose load changed.
 * RunObserver is called after every input frame (Replay's `onFrame`): the
 * director's `totStats.conns` says whether the frame made a new connection;
 * the wrapper's memory says which real server it went to and whether the
 * scheduler was asked at all (for a persistent service: no call means the
 * connection followed a template), checked against the real server's own
 * connection counter. It also samples load per weight on simulated time and
 * keeps the weight share each new connection was entitled to.
 *
 * Everything recorded per connection goes into growable typed arrays
 * (RunRecord); names of services, servers and clients are built once each.
 */
import type { Director } from '../ipvs/director.js';
import type { Dest, Service } from '../ipvs/service.js';
import { SvcFlag, Proto } from '../ipvs/service.js';
import type {
  SchedEnv,
  SchedFlow,
  SchedTrace,
  Scheduler,
  SchedulerRegistry,
} from '../ipvs/sched/scheduler.js';
import { SCHEDULER_NAMES } from '../ipvs/sched/index.js';
import { IpAddr, type Af } from '../wire/addr.js';

/** `TCP 10.0.0.1:80`, `UDP [2001:db8::1]:53`, `SCTP …`, `FWM 7`, `FWM 7 IPv6` (as ipvsadm -Ln names services). */
export function serviceKey(svc: Service): string {
  if (svc.fwmark) return `FWM ${svc.fwmark}${svc.af === 6 ? ' IPv6' : ''}`;
  const proto = svc.protocol === Proto.TCP ? 'TCP' : svc.protocol === Proto.UDP ? 'UDP' : 'SCTP';
  return `${proto} ${hostPort(svc.addr, svc.port)}`;
}

/** `RIP:PORT`, `[RIP]:PORT` for IPv6. */
export function serverKey(dest: Dest): string {
  return hostPort(dest.addr, dest.port);
}

export function hostPort(addr: IpAddr, port: number): string {
  return addr.af === 6 ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/**
 * A scheduler that makes the inner scheduler's decisions and remembers the
 * last one. One instance serves every service of a director (schedulers keep
 * their state in the service, as the kernel's do).
 */
export class ObservedScheduler implements Scheduler {
  readonly name: string;
  private readonly inner: Scheduler;
  /** schedule() calls so far. */
  calls = 0;
  /** Service and result of the last schedule() call. */
  lastSvc: Service | null = null;
  lastDest: Dest | null = null;
  /** Client of the last schedule() call: family and address words. */
  lastAf: Af = 4;
  readonly lastClient = new Uint32Array(4);
  /** The real server whose counters changed last (a new connection is bound, a state changes). */
  lastLoad: Dest | null = null;

  constructor(inner: Scheduler) {
    this.inner = inner;
    this.name = inner.name;
  }

  initService(svc: Service, env: SchedEnv): void {
    this.inner.initService(svc, env);
  }

  doneService(svc: Service): void {
    this.inner.doneService(svc);
  }

  addDest(svc: Service, dest: Dest): void {
    this.inner.addDest(svc, dest);
  }

  delDest(svc: Service, dest: Dest): void {
    this.inner.delDest(svc, dest);
  }

  updDest(svc: Service, dest: Dest): void {
    this.inner.updDest(svc, dest);
  }

  loadChanged(svc: Service, dest: Dest): void {
    this.lastLoad = dest;
    this.inner.loadChanged(svc, dest);
  }

  schedule(svc: Service, flow: SchedFlow, trace: SchedTrace | null): Dest | null {
    const d = this.inner.schedule(svc, flow, trace);
    this.calls++;
    this.lastSvc = svc;
    this.lastDest = d;
    this.lastAf = flow.af;
    const c = flow.inverse ? flow.daddr : flow.saddr;
    const out = this.lastClient;
    out[0] = c[0];
    out[1] = c[1];
    out[2] = c[2];
    out[3] = c[3];
    return d;
  }
}

/** A registry in which every ipvsadm name is `sched`: each service of the set-up runs the scheduler under test. */
export function singleSchedulerRegistry(sched: Scheduler): SchedulerRegistry {
  return new Map(SCHEDULER_NAMES.map((n) => [n, sched]));
}

/** A real server of one run: its service (index into RunRecord.services), name and configured weight. */
export interface ServerEntry {
  service: number;
  key: string;
  weight: number;
}

/** Persistence outcome of a new connection. */
export const PERSIST_NONE = -1;
export const PERSIST_MISS = 0;
export const PERSIST_HIT = 1;

/** What one replay did: every new connection, load samples, weight-share targets. */
export class RunRecord {
  /** Service keys, by index. */
  readonly services: string[] = [];
  readonly servicePersistent: boolean[] = [];
  readonly serviceScheduler: string[] = [];
  readonly servers: ServerEntry[] = [];
  /** Client names by index (`SERVICE|ADDRESS`), for flows. */
  readonly clients: string[] = [];
  /** New connections: count and columns (frame number, time in µs, service, server, client, persistence). */
  n = 0;
  frame = new Float64Array(1024);
  timeUs = new Float64Array(1024);
  svc = new Int32Array(1024);
  server = new Int32Array(1024);
  client = new Int32Array(1024);
  persist = new Int8Array(1024);
  /** Per service: sample times (s) and max/mean of load per weight (NaN: no load). */
  readonly sampleTimes: number[][] = [];
  readonly sampleValues: number[][] = [];
  /** Per server: sum over the service's new connections of the weight share it had at the time. */
  readonly target: number[] = [];
  framesIn = 0;
  simulatedSeconds = 0;
  refused = 0;
  captureError: string | null = null;

  push(frame: number, timeUs: number, svc: number, server: number, client: number, persist: number): void {
    if (this.n === this.frame.length) this.grow();
    const i = this.n++;
    this.frame[i] = frame;
    this.timeUs[i] = timeUs;
    this.svc[i] = svc;
    this.server[i] = server;
    this.client[i] = client;
    this.persist[i] = persist;
  }

  private grow(): void {
    const n = this.frame.length * 2;
    const g = <T extends Float64Array | Int32Array | Int8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.frame = g(this.frame, (k) => new Float64Array(k));
    this.timeUs = g(this.timeUs, (k) => new Float64Array(k));
    this.svc = g(this.svc, (k) => new Int32Array(k));
    this.server = g(this.server, (k) => new Int32Array(k));
    this.client = g(this.client, (k) => new Int32Array(k));
    this.persist = g(this.persist, (k) => new Int8Array(k));
  }
}

/** A service's weights as they were from one set-up change to the next. */
interface WeightSnapshot {
  svc: number;
  servers: number[];
  weights: number[];
  total: number;
}

/**
 * Follows one replay (RunObserver.onFrame after each input frame) and fills a
 * RunRecord. `timedUs` are the set-up's timed commands (µs after the first
 * frame, sorted): the replay applies them before the first frame at or after
 * their time, which changes weights and servers.
 */
export class RunObserver {
  readonly record = new RunRecord();
  private readonly sched: ObservedScheduler;
  private readonly timedUs: readonly number[];
  private timedNext = 0;
  private readonly sampleMs: number;
  /** The first sample is taken one interval in (at time 0 nothing has load yet). */
  private nextSampleMs: number;
  private lastTot = 0;
  private lastCalls = 0;
  /** stats.conns of every real server when last looked at, by Dest.id. */
  private destConns = new Float64Array(64);
  private readonly svcIndex = new Map<Service, number>();
  private readonly serverIndex = new Map<Dest, number>();
  private readonly clientIndex = new Map<number | string, number>();
  /** New connections per service since the weight snapshot was taken. */
  private pending: number[] = [];
  private snapshot: WeightSnapshot[] = [];

  constructor(sched: ObservedScheduler, timedUs: readonly number[], sampleSeconds: number) {
    this.sched = sched;
    this.timedUs = timedUs;
    this.sampleMs = sampleSeconds * 1000;
    this.nextSampleMs = this.sampleMs;
  }

  /** Call once the set-up is applied, before the first frame. */
  attach(d: Director): void {
    this.takeSnapshot(d);
    this.resync(d);
    this.lastCalls = this.sched.calls;
  }

  /** Replay's onFrame: after input frame `frameNo` went through the director. */
  onFrame(frameNo: number, d: Director): void {
    const nowMs = d.env.nowMs;
    const nowUs = Math.round(nowMs * 1000);
    let changed = false;
    // compared in whole microseconds, as the replay applies timed commands
    while (this.timedNext < this.timedUs.length && this.timedUs[this.timedNext] <= nowUs) {
      this.timedNext++;
      changed = true;
    }
    if (changed) {
      // the connections before this frame were scheduled with the old weights
      this.flushTargets();
      this.takeSnapshot(d);
      this.scan(frameNo, nowUs, d);
    } else if (d.totStats.conns !== this.lastTot) {
      this.attribute(frameNo, nowUs, d);
    }
    this.lastCalls = this.sched.calls;
    if (nowMs >= this.nextSampleMs) this.sample(d, nowMs);
  }

  /** After the replay: fold the last targets in and copy the replay's totals. */
  finish(
    d: Director,
    summary: {
      framesIn: number;
      simulatedSeconds: number;
      reasons: Record<string, Record<string, number>>;
      captureError: { message: string } | null;
    },
    noDestReason: string,
  ): RunRecord {
    this.flushTargets();
    const r = this.record;
    r.framesIn = summary.framesIn;
    r.simulatedSeconds = summary.simulatedSeconds;
    let refused = 0;
    for (const per of Object.values(summary.reasons)) refused += per[noDestReason] ?? 0;
    r.refused = refused;
    r.captureError = summary.captureError ? summary.captureError.message : null;
    // services a timed command added after the last frame still get an entry
    for (const svc of d.ipvs.services) this.serviceOf(svc);
    return r;
  }

  // ------------------------------------------------------------------ new connections

  /** One new connection (the usual case) from the wrapper's memory; anything else by a scan. */
  private attribute(frameNo: number, nowUs: number, d: Director): void {
    const tot = d.totStats.conns;
    if (tot === this.lastTot + 1) {
      const s = this.sched;
      const called = s.calls !== this.lastCalls;
      let dest: Dest | null = null;
      if (called && s.lastDest && this.isNewOn(s.lastDest)) dest = s.lastDest;
      else if (s.lastLoad && this.isNewOn(s.lastLoad)) dest = s.lastLoad;
      if (dest) {
        this.destConns[dest.id] = dest.stats.conns;
        this.lastTot = tot;
        this.newConn(frameNo, nowUs, d, dest.svc, dest, called && s.lastSvc === dest.svc);
        return;
      }
    }
    this.scan(frameNo, nowUs, d);
  }

  /** True when `dest` has exactly one connection more than when last looked at. */
  private isNewOn(dest: Dest): boolean {
    return dest.id < this.destConns.length && dest.stats.conns === this.destConns[dest.id] + 1;
  }

  /** Compares every real server's connection counter with the last look (a zeroed counter restarts). */
  private scan(frameNo: number, nowUs: number, d: Director): void {
    const s = this.sched;
    const called = s.calls !== this.lastCalls;
    for (const svc of d.ipvs.services) {
      for (const dest of svc.dests) {
        this.ensureDest(dest.id);
        let last = this.destConns[dest.id];
        const cur = dest.stats.conns;
        if (cur < last) last = 0;
        for (let k = last; k < cur; k++)
          this.newConn(frameNo, nowUs, d, svc, dest, called && s.lastSvc === svc);
        this.destConns[dest.id] = cur;
      }
    }
    this.lastTot = d.totStats.conns;
  }

  private newConn(
    frameNo: number,
    nowUs: number,
    d: Director,
    svc: Service,
    dest: Dest,
    scheduled: boolean,
  ): void {
    const si = this.serviceOf(svc);
    const server = this.serverOf(dest, si);
    const persist = svc.flags & SvcFlag.PERSISTENT ? (scheduled ? PERSIST_MISS : PERSIST_HIT) : PERSIST_NONE;
    let client: number;
    if (scheduled) client = this.clientOf(si, this.sched.lastAf, this.sched.lastClient);
    else {
      const info = d.env.info;
      client = this.clientOf(si, info.af === 6 ? 6 : 4, info.saddr);
    }
    this.record.push(frameNo, nowUs, si, server, client, persist);
    this.pending[si]++;
  }

  /** Resets every counter memory to the director's current values. */
  private resync(d: Director): void {
    for (const svc of d.ipvs.services)
      for (const dest of svc.dests) {
        this.ensureDest(dest.id);
        this.destConns[dest.id] = dest.stats.conns;
      }
    this.lastTot = d.totStats.conns;
  }

  private ensureDest(id: number): void {
    if (id < this.destConns.length) return;
    let n = this.destConns.length;
    while (n <= id) n *= 2;
    const b = new Float64Array(n);
    b.set(this.destConns);
    this.destConns = b;
  }

  // ------------------------------------------------------------------ names

  private serviceOf(svc: Service): number {
    let i = this.svcIndex.get(svc);
    if (i === undefined) {
      const r = this.record;
      i = r.services.length;
      r.services.push(serviceKey(svc));
      r.servicePersistent.push(svc.persistent);
      r.serviceScheduler.push(svc.schedName);
      r.sampleTimes.push([]);
      r.sampleValues.push([]);
      this.pending.push(0);
      this.svcIndex.set(svc, i);
    }
    return i;
  }

  private serverOf(dest: Dest, si: number): number {
    let i = this.serverIndex.get(dest);
    if (i === undefined) {
      const r = this.record;
      i = r.servers.length;
      r.servers.push({ service: si, key: serverKey(dest), weight: dest.weight });
      r.target.push(0);
      this.serverIndex.set(dest, i);
    }
    return i;
  }

  private clientOf(si: number, af: number, a: ArrayLike<number>): number {
    // IPv4: a number key (service in the high bits); IPv6: text
    const key: number | string =
      af === 4 ? si * 4294967296 + (a[0] >>> 0) : `${si}|${a[0]},${a[1]},${a[2]},${a[3]}`;
    let i = this.clientIndex.get(key);
    if (i === undefined) {
      const r = this.record;
      i = r.clients.length;
      r.clients.push(`${r.services[si]}|${IpAddr.fromWords(af as Af, a)}`);
      this.clientIndex.set(key, i);
    }
    return i;
  }

  // ------------------------------------------------------------------ weight shares

  private takeSnapshot(d: Director): void {
    this.snapshot = d.ipvs.services.map((svc) => {
      const si = this.serviceOf(svc);
      const servers: number[] = [];
      const weights: number[] = [];
      let total = 0;
      // oldest first: the set-up's order (the kernel's list has the newest at its head)
      for (let k = svc.dests.length - 1; k >= 0; k--) {
        const dest = svc.dests[k];
        const i = this.serverOf(dest, si);
        if (dest.weight > 0) {
          servers.push(i);
          weights.push(dest.weight);
          total += dest.weight;
        }
      }
      return { svc: si, servers, weights, total };
    });
  }

  /** Credits each server with its weight share for every connection made since the snapshot. */
  private flushTargets(): void {
    const t = this.record.target;
    for (const s of this.snapshot) {
      const n = this.pending[s.svc];
      if (n === 0 || s.total === 0) continue;
      for (let i = 0; i < s.servers.length; i++) t[s.servers[i]] += (n * s.weights[i]) / s.total;
    }
    this.pending.fill(0);
  }

  // ------------------------------------------------------------------ load samples

  /**
   * Once per sample interval (at the first frame at or after its start):
   * max / mean of overhead / weight over each service's real servers of
   * weight > 0; NaN when none has any load.
   */
  private sample(d: Director, nowMs: number): void {
    const idx = Math.floor(nowMs / this.sampleMs);
    const t = (idx * this.sampleMs) / 1000;
    this.nextSampleMs = (idx + 1) * this.sampleMs;
    const r = this.record;
    for (const svc of d.ipvs.services) {
      const si = this.serviceOf(svc);
      let max = 0;
      let sum = 0;
      let n = 0;
      for (const dest of svc.dests) {
        if (dest.weight <= 0) continue;
        const l = dest.overhead / dest.weight;
        if (l > max) max = l;
        sum += l;
        n++;
      }
      r.sampleTimes[si].push(t);
      r.sampleValues[si].push(n > 0 && sum > 0 ? max / (sum / n) : NaN);
    }
  }
}
