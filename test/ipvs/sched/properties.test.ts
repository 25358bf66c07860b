/**
 * Property tests (fast-check) of the schedulers: the indexed implementations
 * against the kernel's linear scans, wrr's exact shares, eligibility, the
 * stability of the hash schedulers and Maglev's small disruption.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { createNaiveRegistry } from '../../../src/ipvs/sched/naive.js';
import type { Dest } from '../../../src/ipvs/service.js';
import { Lab } from './helpers.js';
import { mhDisruption } from './docs.js';

type Op =
  | { k: 'add'; host: number; w: number; u: number }
  | { k: 'edit'; i: number; w: number }
  | { k: 'del'; i: number }
  | { k: 'load'; i: number; a: number; inact: number }
  | { k: 'ovl'; i: number; on: boolean }
  | { k: 'pick'; c: number; vip: number; dt: number };

const weight = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 10 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 ** 31 - 1 }) },
);
const count = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 ** 23 }) },
);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('add' as const),
      host: fc.integer({ min: 1, max: 40 }),
      w: weight,
      u: fc.constantFrom(0, 0, 0, 3),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('edit' as const), i: fc.nat(), w: weight }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('del' as const), i: fc.nat() }) },
  {
    weight: 4,
    arbitrary: fc.record({ k: fc.constant('load' as const), i: fc.nat(), a: count, inact: count }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('ovl' as const), i: fc.nat(), on: fc.boolean() }) },
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant('pick' as const),
      c: fc.nat(1000),
      vip: fc.nat(3),
      dt: fc.nat(3000),
    }),
  },
);

/** Applies one operation to a lab; returns the pick (address) for 'pick', undefined otherwise. */
function apply(l: Lab, o: Op, clock: { t: number }): string | null | undefined {
  const list = l.svc.dests;
  const at = (i: number): Dest | null => (list.length ? list[i % list.length] : null);
  switch (o.k) {
    case 'add':
      if (!list.some((d) => d.addr.w0 === (0x0a000000 | o.host))) l.add(`10.0.0.${o.host}`, o.w, o.u);
      return undefined;
    case 'edit': {
      const d = at(o.i);
      if (d) l.edit(d.addr.toString(), o.w, d.uThreshold);
      return undefined;
    }
    case 'del': {
      const d = at(o.i);
      if (d) l.del(d.addr.toString());
      return undefined;
    }
    case 'load': {
      const d = at(o.i);
      if (d) {
        d.activeConns = o.a;
        d.totalConns = o.a + o.inact;
        l.svc.sched?.loadChanged(l.svc, d);
      }
      return undefined;
    }
    case 'ovl': {
      const d = at(o.i);
      if (d) {
        d.overloaded = o.on;
        l.svc.sched?.loadChanged(l.svc, d);
      }
      return undefined;
    }
    case 'pick':
      clock.t += o.dt;
      return l.pick(`192.0.2.${o.c % 250}:${1000 + o.c}`, clock.t, `10.0.9.${100 + o.vip}`);
  }
}

const INDEXED_VS_NAIVE = ['lc', 'wlc', 'sed', 'nq', 'fo', 'ovf', 'rr', 'wrr', 'twos', 'lblc', 'lblcr'];

describe('sched/properties', () => {
  for (const name of INDEXED_VS_NAIVE) {
    it(`${name}: the indexed scheduler makes the decisions of the kernel's linear scan on random add/edit/delete/counter sequences`, () => {
      fc.assert(
        fc.property(fc.array(op, { minLength: 1, maxLength: 80 }), fc.nat(), (ops, seed) => {
          const fast = new Lab({ seed: seed + 1 });
          const slow = new Lab({ seed: seed + 1, registry: createNaiveRegistry() });
          fast.service(name);
          slow.service(name);
          for (const l of [fast, slow]) l.ipvs.sysctl.set('net.ipv4.vs.lblcr_expiration', '5');
          const cf = { t: 0 };
          const cs = { t: 0 };
          for (const o of ops) {
            const a = apply(fast, o, cf);
            const b = apply(slow, o, cs);
            if (a !== b) throw new Error(`${JSON.stringify(o)}: indexed ${a}, naive ${b}`);
          }
          // (lblc/lblcr: the clock stays far below the 30-minute full sweep; the 60 s runs
          // remove nothing below 16384 entries, so the reference needs no garbage collector)
          return true;
        }),
        { numRuns: name === 'lblc' || name === 'lblcr' ? 150 : 250 },
      );
    });
  }

  it('wrr gives each server exactly weight/gcd picks in every full cycle', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 4 }),
        (ws, k) => {
          const l = new Lab();
          l.service('rr');
          ws.forEach((w, i) => l.add(`10.0.0.${11 + i}`, w * k));
          // switching to wrr runs init_service over all servers: the walk starts a cycle (cw = mw)
          const s = l.svc;
          l.ipvs.editService(s, {
            af: 4,
            protocol: 6,
            addr: s.addr,
            port: 80,
            fwmark: 0,
            schedName: 'wrr',
            flags: 0,
            timeout: 0,
            netmask: 0xffffffff,
            peName: '',
          });
          const g = ws.reduce((a, b) => {
            while (b) [a, b] = [b, a % b];
            return a;
          });
          const cycle = ws.reduce((a, b) => a + b, 0) / g;
          const picks = l.sequence(cycle * 3);
          for (let start = 0; start + cycle <= picks.length; start += Math.max(1, Math.floor(cycle / 3))) {
            const n = new Map<string, number>();
            for (const p of picks.slice(start, start + cycle)) n.set(p, (n.get(p) ?? 0) + 1);
            ws.forEach((w, i) => {
              if (n.get(`.${11 + i}`) !== w / g)
                throw new Error(`window ${start}: .${11 + i} got ${n.get(`.${11 + i}`)}, want ${w / g}`);
            });
          }
          return true;
        },
      ),
      { numRuns: 200 },
    );
  });

  for (const name of ['rr', 'wrr']) {
    it(`${name} never picks a quiesced or overloaded server, and answers null only when no other is eligible`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.record({ w: fc.integer({ min: 0, max: 5 }), ovl: fc.boolean() }), {
            minLength: 1,
            maxLength: 10,
          }),
          fc.array(fc.nat(9), { maxLength: 30 }),
          (servers, flips) => {
            const l = new Lab();
            l.service(name);
            const ds = servers.map((s, i) => l.add(`10.0.0.${11 + i}`, s.w));
            servers.forEach((s, i) => {
              ds[i].overloaded = s.ovl;
              l.svc.sched?.loadChanged(l.svc, ds[i]);
            });
            for (let step = 0; step <= flips.length; step++) {
              const eligible = ds.filter((d) => d.weight > 0 && !d.overloaded);
              const p = l.pickDest();
              if (p === null ? eligible.length > 0 : !eligible.includes(p)) return false;
              if (step < flips.length) {
                const d = ds[flips[step] % ds.length];
                d.overloaded = !d.overloaded;
                l.svc.sched?.loadChanged(l.svc, d);
              }
            }
            return true;
          },
        ),
        { numRuns: 300 },
      );
    });
  }

  for (const name of ['sh', 'dh', 'mh']) {
    it(`${name} maps a flow to the same server while the set of servers is unchanged`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 8 }),
          fc.array(fc.tuple(fc.nat(0xffffffff), fc.nat(0xffff), fc.nat(3)), { minLength: 1, maxLength: 40 }),
          (ws, flows) => {
            const l = new Lab();
            l.service(name);
            ws.forEach((w, i) => l.add(`10.0.0.${11 + i}`, w));
            const first = new Map<string, string | null>();
            for (const [src, port, vip] of flows) {
              const key = `${src}:${port}:${vip}`;
              const client = `${(src >>> 24) & 255}.${(src >>> 16) & 255}.${(src >>> 8) & 255}.${src & 255}:${port}`;
              const got = l.pick(client, 0, `10.0.9.${vip + 1}`);
              if (first.has(key) && first.get(key) !== got) return false;
              first.set(key, got);
              // counters move in between; the mapping must not
              const d = l.svc.dests[port % l.svc.dests.length];
              d.activeConns++;
              d.totalConns++;
              l.svc.sched?.loadChanged(l.svc, d);
            }
            return true;
          },
        ),
        { numRuns: 200 },
      );
    });
  }

  it('mh: removing one of N servers moves only its clients plus a few percent of the others', () => {
    for (const n of [5, 10, 20]) {
      const r = mhDisruption(n, 20000);
      expect(r.ownClientsMoved, `n=${n}`).to.equal(1);
      expect(r.othersMovedWorst, `n=${n}`).to.be.lessThan(0.04);
    }
  });
});
