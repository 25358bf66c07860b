/**
 * Scheduler pick cost at 2, 16, 256 and 4096 real servers, against a naive
 * baseline measured in the same run: the kernel's rule written as a linear
 * scan of the destination list (src/ipvs/sched/naive.ts) for rr, wrr, lc,
 * wlc, sed, nq, fo, ovf, twos, lblc and lblcr; for the hash schedulers
 * (whose kernel lookup is already constant-time) the straightforward way of
 * computing the same answer: dh/sh by walking the list to the bucket's
 * owner, mh with a general BigInt SipHash.
 *
 * Workloads: "pick" (schedule only) and "pick+update" (each pick binds a
 * connection — ActiveConn and the total go up and loadChanged runs — and the
 * connection bound 256 picks earlier ends, so the load keeps moving as in a
 * replay); for mh also "a new client every time" (its memo of the lookup
 * hash never hits). Before timing, every scheduler is run side by side with its
 * baseline on the same inputs and must make the identical decisions.
 *
 * Targets (issue 4): rr, wrr, dh, sh, mh, fo <= 30 ns per pick at every size;
 * lc, wlc, sed, nq, ovf, lblc, lblcr, twos <= 150 ns per pick at 4096 servers.
 */
import type { BenchContext, BenchSuite } from '../lib.js';
import { measureOps } from '../lib.js';
import { IpAddr } from '../../src/wire/addr.js';
import { Ipvs } from '../../src/ipvs/ctl.js';
import { Fwd, Proto, TunType, type Dest, type Service } from '../../src/ipvs/service.js';
import { createSchedulerRegistry } from '../../src/ipvs/sched/index.js';
import { createNaiveRegistry } from '../../src/ipvs/sched/naive.js';
import { SchedFlow, type Scheduler, type SchedulerRegistry } from '../../src/ipvs/sched/scheduler.js';
import { hash32, foldAddr } from '../../src/ipvs/sched/common.js';
import { sipHash } from '../../src/ipvs/sched/hsiphash.js';

const SIZES = [2, 16, 256, 4096];
const FAST = new Set(['rr', 'wrr', 'dh', 'sh', 'mh', 'fo']);
const HASH = new Set(['dh', 'sh', 'mh']);
const ORDER = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh', 'fo', 'ovf', 'twos'];
const OPS = 1000;
const LIVE = 256;
const FLOWS = 4096;

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
}

/** The straightforward computations of the hash schedulers' answers (baselines). */
class NaiveHash implements Scheduler {
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  initService(svc: Service): void {
    svc.schedData = null;
  }
  doneService(): void {}
  addDest(): void {}
  delDest(): void {}
  updDest(): void {}
  loadChanged(): void {}
  /** For mh the lookup table of an indexed twin is borrowed; only the hash is computed naively. */
  mhTable: (Dest | null)[] = [];
  private static readonly KEY1 = (() => {
    const k = new Uint8Array(16);
    const dv = new DataView(k.buffer);
    dv.setUint32(0, 2654435761, true);
    dv.setUint32(8, 2654435761, true);
    return k;
  })();

  schedule(svc: Service, flow: SchedFlow): Dest | null {
    const list = svc.dests;
    const n = list.length;
    if (n === 0) return null;
    let d: Dest;
    if (this.name === 'dh') {
      d = list[hash32(foldAddr(svc.af, flow.daddr), 8) % n];
    } else if (this.name === 'sh') {
      let b = hash32(foldAddr(svc.af, flow.saddr), 8);
      let i = 0;
      for (;;) {
        const take = Math.max(list[i].weight, 1);
        if (b < take) break;
        b -= take;
        i = i + 1 === n ? 0 : i + 1;
      }
      d = list[i];
    } else {
      const m = new Uint8Array(4);
      new DataView(m.buffer).setUint32(0, foldAddr(svc.af, flow.saddr), true);
      const h = Number(sipHash(1, 3, NaiveHash.KEY1, m) & 0xffffffffn) % this.mhTable.length;
      d = this.mhTable[h] as Dest;
    }
    return d.weight > 0 && !d.overloaded ? d : null;
  }
}

interface Setup {
  svc: Service;
  flow: SchedFlow;
  sched: Scheduler;
  /** Source addresses (and for lblc/lblcr destination addresses) cycled through. */
  src: Uint32Array;
  dst: Uint32Array;
  ring: (Dest | null)[];
  step: number;
  /** Flow counter of the timed loop. */
  i: number;
}

function build(name: string, n: number, registry: SchedulerRegistry): Setup {
  const rng = new Rng(12345);
  const ipvs = new Ipvs(registry, () => rng.next());
  const vip = IpAddr.parse('10.255.0.1');
  const rc = ipvs.addService({
    af: 4,
    protocol: Proto.TCP,
    addr: vip,
    port: 80,
    fwmark: 0,
    schedName: name,
    flags: 0,
    timeout: 0,
    netmask: 0xffffffff,
    peName: '',
  });
  if (rc !== 0) throw new Error(`addService ${name}: ${rc}`);
  const svc = ipvs.findService(4, Proto.TCP, vip, 80, 0) as Service;
  const init = new Rng(777);
  for (let i = 0; i < n; i++) {
    const addr = new IpAddr(4, (0x0a000000 + i + 1) >>> 0);
    // fo needs distinct weights to be interesting; the others get 1..10
    const weight = 1 + ((Math.imul(i + 1, 7919) >>> 0) % 10);
    ipvs.addDest(svc, {
      af: 4,
      addr,
      port: 80,
      fwd: Fwd.DROUTE,
      weight,
      uThreshold: 0,
      lThreshold: 0,
      tunType: TunType.IPIP,
      tunPort: 0,
      tunFlags: 0,
    });
  }
  for (const d of svc.dests) {
    const a = init.next() % 40;
    d.activeConns = a;
    d.totalConns = a + (init.next() % 200);
    svc.sched?.loadChanged(svc, d);
  }
  const flows = new Rng(4242);
  const src = new Uint32Array(FLOWS);
  const dst = new Uint32Array(FLOWS);
  for (let i = 0; i < FLOWS; i++) {
    src[i] = flows.next();
    dst[i] = (0x0b000000 + (flows.next() % 64)) >>> 0; // lblc/lblcr: 64 destination addresses
  }
  const flow = new SchedFlow();
  flow.af = 4;
  flow.protocol = Proto.TCP;
  flow.daddr[0] = vip.w0;
  flow.dport = 80;
  return {
    svc,
    flow,
    sched: svc.sched as Scheduler,
    src,
    dst,
    ring: new Array<Dest | null>(LIVE).fill(null),
    step: 0,
    i: 0,
  };
}

const LOCALITY = new Set(['lblc', 'lblcr']);

/** One pick for flow number `i`; returns the dest id or -1. */
function pickOnce(s: Setup, i: number, locality: boolean): Dest | null {
  const f = s.flow;
  f.saddr[0] = s.src[i & (FLOWS - 1)];
  f.sport = 1024 + (i & 0x7fff);
  if (locality) f.daddr[0] = s.dst[i & (FLOWS - 1)];
  return s.sched.schedule(s.svc, f, null);
}

/** A pick that binds a connection, and the end of the connection bound LIVE picks earlier. */
function pickUpdate(s: Setup, i: number, locality: boolean): Dest | null {
  const d = pickOnce(s, i, locality);
  const svc = s.svc;
  const sched = s.sched;
  if (d !== null) {
    d.activeConns++;
    d.totalConns++;
    sched.loadChanged(svc, d);
  }
  const slot = s.step++ & (LIVE - 1);
  const old = s.ring[slot];
  if (old !== null) {
    old.activeConns--;
    old.totalConns--;
    sched.loadChanged(svc, old);
  }
  s.ring[slot] = d;
  return d;
}

let sink = 0;

/**
 * pick: 4096 client addresses in turn (returning clients); pick+update: the
 * same with a connection bound per pick and one ended; mh also with a client
 * address never seen before on every pick (its lookup hash cannot be reused).
 */
type Workload = 'pick' | 'pick+update' | 'pick, a new client every time';

/**
 * The timed loop of one measurement, compiled separately for each scheduler
 * and workload (new Function) so that its call sites stay monomorphic, as
 * the director's are in a replay that uses one scheduler: a loop shared by
 * all 14 schedulers would measure V8's megamorphic dispatch instead.
 * Same work as pickOnce/pickUpdate.
 */
function makeLoop(st: Setup, update: boolean, locality: boolean, fresh: boolean): () => number {
  const body = `
    const s = S, f = s.flow, svc = s.svc, sched = s.sched, src = s.src, dst = s.dst, ring = s.ring;
    return function loop() {
      let acc = 0;
      for (let k = 0; k < ${OPS}; k++) {
        const i = s.i++;
        f.saddr[0] = ${fresh ? 'Math.imul(i, 0x9e3779b1) >>> 0' : `src[i & ${FLOWS - 1}]`};
        f.sport = 1024 + (i & 0x7fff);
        ${locality ? `f.daddr[0] = dst[i & ${FLOWS - 1}];` : ''}
        const d = sched.schedule(svc, f, null);
        ${
          update
            ? `if (d !== null) { d.activeConns++; d.totalConns++; sched.loadChanged(svc, d); }
        const slot = s.step++ & ${LIVE - 1};
        const old = ring[slot];
        if (old !== null) { old.activeConns--; old.totalConns--; sched.loadChanged(svc, old); }
        ring[slot] = d;`
            : ''
        }
        acc += d !== null ? d.id : -1;
      }
      return acc;
    };`;
  return new Function('S', body)(st) as () => number;
}

/** Runs both implementations side by side; throws on the first different decision. */
function verify(name: string, n: number, fast: Setup, slow: Setup, update: boolean): void {
  const loc = LOCALITY.has(name);
  for (let i = 0; i < 3000; i++) {
    const a = update ? pickUpdate(fast, i, loc) : pickOnce(fast, i, loc);
    const b = update ? pickUpdate(slow, i, loc) : pickOnce(slow, i, loc);
    if ((a ? a.id : -1) !== (b ? b.id : -1))
      throw new Error(
        `${name} n=${n} ${update ? 'pick+update' : 'pick'} #${i}: indexed ${a?.addr}, baseline ${b?.addr}`,
      );
  }
}

function naiveRegistryFor(name: string): SchedulerRegistry {
  if (HASH.has(name)) return new Map([[name, new NaiveHash(name)]]);
  return createNaiveRegistry();
}

export const suite: BenchSuite = {
  name: 'sched',
  description: 'scheduler pick cost vs the kernel rule as a linear scan, 2..4096 real servers',
  async run(ctx: BenchContext): Promise<void> {
    const sizes = ctx.smoke ? [2, 256] : SIZES;
    // machine speed, to read the absolute figures: one iteration of a tight integer loop
    const cal = measureOps(
      'calibration',
      () => {
        let acc = 0;
        for (let k = 0; k < 100000; k++) acc = (acc + Math.imul(k, 2654435761)) | 0;
        sink += acc;
      },
      100000,
      ctx.smoke,
    );
    ctx.record({
      name: 'calibration: one iteration of an integer multiply-add loop',
      unit: 'ns/op',
      median: cal.medianNs,
      min: cal.minNs,
      max: cal.maxNs,
      rme: cal.rme,
      samples: cal.samples,
      notes: 'about 0.3-0.5 ns on an idle modern x86 core; scale the absolute figures below by it',
    });
    for (const name of ORDER) {
      for (const n of sizes) {
        const fast = build(name, n, createSchedulerRegistry());
        const slow = build(name, n, naiveRegistryFor(name));
        if (name === 'mh')
          (slow.sched as NaiveHash).mhTable = (fast.svc.schedData as { lookup: (Dest | null)[] }).lookup;
        const workloads: Workload[] = HASH.has(name)
          ? name === 'mh'
            ? ['pick', 'pick, a new client every time']
            : ['pick']
          : ['pick', 'pick+update'];
        for (const what of workloads) {
          const update = what === 'pick+update';
          const fresh = what !== 'pick' && !update;
          // fresh twins for the check, so the timed runs start from the same state
          const vf = build(name, n, createSchedulerRegistry());
          const vs = build(name, n, naiveRegistryFor(name));
          if (name === 'mh')
            (vs.sched as NaiveHash).mhTable = (vf.svc.schedData as { lookup: (Dest | null)[] }).lookup;
          verify(name, n, vf, vs, update);
          const loc = LOCALITY.has(name);
          const run = (st: Setup) => {
            const loop = makeLoop(st, update, loc, fresh);
            return () => {
              sink += loop();
            };
          };
          const mf = measureOps(`${name} ${what} n=${n}`, run(fast), OPS, ctx.smoke);
          const ms = measureOps(`${name} ${what} n=${n} baseline`, run(slow), OPS, ctx.smoke);
          // the issue's targets are per pick; pick+update adds two counter updates (informative)
          const target = update ? undefined : FAST.has(name) ? 30 : n === 4096 ? 150 : undefined;
          ctx.record({
            name: `${name} ${what}, ${n} servers`,
            unit: 'ns/op',
            median: mf.medianNs,
            min: mf.minNs,
            max: mf.maxNs,
            rme: mf.rme,
            samples: mf.samples,
            baseline: HASH.has(name)
              ? `${name} computed the straightforward way`
              : `${name} as a linear scan (kernel algorithm)`,
            ratio: ms.medianNs / mf.medianNs,
            ratioNote: 'baseline time / indexed time: > 1 means faster than the baseline',
            target: target === undefined ? undefined : `<= ${target} ns per pick`,
            met: target === undefined ? undefined : mf.medianNs <= target,
            notes: `baseline median ${ms.medianNs.toFixed(1)} ns/op; identical decisions checked over 3000 ops`,
          });
        }
      }
    }
    if (!Number.isFinite(sink)) throw new Error('sched bench: checksum lost');
  },
};
