/**
 * Model test: random sequences of operations on a ConnTable and on a naive
 * model (a Map of plain entries scanned linearly, the kernel's rules written
 * out directly) give the same results, step by step.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { ConnFlag, ConnTable, IPPROTO_IP } from '../../src/ipvs/conn.js';

const { TEMPLATE, NO_CPORT, ONE_PACKET, FWD_MASK, MASQ } = ConnFlag;

type Addr = readonly [number, number, number, number];

interface Entry {
  af: number;
  daf: number;
  proto: number;
  caddr: Addr;
  cport: number;
  vaddr: Addr;
  vport: number;
  daddr: Addr;
  dport: number;
  flags: number;
  destId: number;
  fwmark: number;
  /** Position in the kernel's hash chain: higher = nearer the head. */
  seq: number;
  armed: boolean;
  expires: number;
}

/** Small domains so that keys collide, repeat and mix families. */
const V4: Addr[] = [
  [0xc6336407, 0, 0, 0],
  [0xc6336408, 0, 0, 0],
  [7, 0, 0, 0], // doubles as a firewall mark
];
const V6: Addr[] = [
  [0x20010db8, 0, 0, 7],
  [0x20010db8, 0, 0, 8],
  [0xc6336407, 0, 0, 0], // word 0 equal to an IPv4 address
  [7, 1, 2, 3],
];
const PORTS = [0, 1, 80, 65535];
const PROTOS = [IPPROTO_IP, 6, 17];

function addrOf(af: number, i: number): Addr {
  return af === 4 ? V4[i % V4.length] : V6[i % V6.length];
}

/** What the table keeps of an address: IPv4 word 0; word 0 only for firewall-mark virtual addresses. */
function stored(af: number, a: Addr, wordZeroOnly = false): Addr {
  return af === 4 || wordZeroOnly ? [a[0], 0, 0, 0] : a;
}

function eqAf(af: number, a: Addr, b: Addr): boolean {
  return af === 4 ? a[0] === b[0] : a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

class Model {
  readonly entries = new Map<number, Entry>();
  private seq = 0;

  insert(id: number, e: Omit<Entry, 'seq' | 'armed' | 'expires'>): void {
    this.entries.set(id, { ...e, seq: ++this.seq, armed: false, expires: Infinity });
  }

  /** Entries the kernel would have hashed, newest first. */
  private chain(): [number, Entry][] {
    return [...this.entries].filter(([, e]) => !(e.flags & ONE_PACKET)).sort((a, b) => b[1].seq - a[1].seq);
  }

  lookupIn(af: number, proto: number, c: Addr, cport: number, v: Addr, vport: number): number {
    const pass = (cp: number): number => {
      for (const [id, e] of this.chain()) {
        if (
          e.af === af &&
          e.proto === proto &&
          eqAf(af, e.caddr, c) &&
          e.cport === cp &&
          eqAf(af, e.vaddr, v) &&
          e.vport === vport &&
          !(e.flags & TEMPLATE) &&
          (cp === 0) === ((e.flags & NO_CPORT) !== 0)
        )
          return id;
      }
      return -1;
    };
    const r = pass(cport);
    return r >= 0 || cport === 0 ? r : pass(0);
  }

  lookupTemplate(
    af: number,
    proto: number,
    c: Addr,
    cport: number,
    v: Addr,
    vport: number,
    fwmark: number,
  ): number {
    const p = fwmark !== 0 ? IPPROTO_IP : proto;
    const vv: Addr = fwmark !== 0 ? [fwmark, 0, 0, 0] : v;
    for (const [id, e] of this.chain()) {
      if (
        e.flags & TEMPLATE &&
        e.af === af &&
        e.proto === p &&
        eqAf(af, e.caddr, c) &&
        e.cport === cport &&
        e.vport === vport &&
        (p === IPPROTO_IP ? e.vaddr[0] === vv[0] : eqAf(af, e.vaddr, vv))
      )
        return id;
    }
    return -1;
  }

  lookupOut(af: number, proto: number, s: Addr, sport: number, d: Addr, dport: number): number {
    for (const [id, e] of this.chain()) {
      if (
        e.af === af &&
        e.proto === proto &&
        eqAf(af, e.caddr, d) &&
        e.cport === dport &&
        ((e.flags & FWD_MASK) === MASQ
          ? e.dport === sport && eqAf(af, e.daddr, s)
          : e.vport === sport && eqAf(af, e.vaddr, s))
      )
        return id;
    }
    return -1;
  }

  rekey(id: number, cport: number, vport: number, dport: number): boolean {
    const e = this.entries.get(id);
    if (!e || e.flags & ONE_PACKET) return false;
    Object.assign(e, { cport, vport, dport, seq: ++this.seq });
    return true;
  }

  fillCport(id: number, cport: number): boolean {
    const e = this.entries.get(id);
    if (!e || e.flags & ONE_PACKET) return false;
    if (e.flags & NO_CPORT) {
      e.flags &= ~NO_CPORT;
      e.cport = cport;
    }
    e.seq = ++this.seq;
    return true;
  }

  arm(id: number, when: number): void {
    const e = this.entries.get(id)!;
    if (!(when < Infinity)) this.disarm(id);
    else {
      e.armed = true;
      e.expires = when;
    }
  }

  /** Cancels a pending timer; an entry whose timer is not pending keeps its expires. */
  disarm(id: number): void {
    const e = this.entries.get(id)!;
    if (!e.armed) return;
    e.armed = false;
    e.expires = Infinity;
  }

  nextExpiry(): number {
    let m = Infinity;
    for (const e of this.entries.values()) if (e.armed && e.expires < m) m = e.expires;
    return m;
  }

  expire(now: number, cb: (id: number) => void): void {
    for (;;) {
      let best = -1;
      let be = Infinity;
      for (const [id, e] of this.entries) {
        if (e.armed && e.expires <= now && (best < 0 || e.expires < be || (e.expires === be && id < best))) {
          best = id;
          be = e.expires;
        }
      }
      if (best < 0) return;
      this.entries.get(best)!.armed = false;
      cb(best);
    }
  }

  liveIds(): number[] {
    return [...this.entries.keys()].sort((a, b) => a - b);
  }
}

// ---------------------------------------------------------------- commands

const arbAf = fc.constantFrom(4, 6);
const arbAddrIx = fc.nat(5);
const arbPort = fc.constantFrom(...PORTS);
const arbProto = fc.constantFrom(...PROTOS);
const arbFlags = fc
  .record({
    fwd: fc.constantFrom(0, 2, 3),
    tpl: fc.integer({ min: 0, max: 3 }).map((x) => x === 0),
    nocp: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
    one: fc.integer({ min: 0, max: 9 }),
  })
  .map(
    ({ fwd, tpl, nocp, one }) =>
      fwd | (tpl ? TEMPLATE : 0) | (nocp ? NO_CPORT : 0) | (one === 0 ? ONE_PACKET : 0),
  );
const arbDelta = fc.oneof(
  fc.constantFrom(-100, -1, 0, 0.5, 1, 15, 16, 17, 500, 4095, 4096, 4097, 5000, 100_000, 3_600_000),
  fc.integer({ min: -50, max: 20_000 }),
);
const arbStep = fc.constantFrom(0, 0.25, 1, 15, 16, 17, 100, 1000, 4096, 5000, 20_000, 3_600_000, 1e9);

const arbTuple = fc.record({
  af: arbAf,
  proto: arbProto,
  c: arbAddrIx,
  cport: arbPort,
  v: arbAddrIx,
  vport: arbPort,
});

type Action =
  | { kind: 'none' }
  | { kind: 'remove' }
  | { kind: 'armSelf'; delta: number }
  | { kind: 'armOther'; pick: number; delta: number }
  | { kind: 'removeOther'; pick: number }
  | { kind: 'insert'; delta: number };

const arbAction: fc.Arbitrary<Action> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.constant({ kind: 'remove' as const }),
  arbDelta.map((delta) => ({ kind: 'armSelf' as const, delta })),
  fc.record({ kind: fc.constant('armOther' as const), pick: fc.nat(), delta: arbDelta }),
  fc.record({ kind: fc.constant('removeOther' as const), pick: fc.nat() }),
  arbDelta.map((delta) => ({ kind: 'insert' as const, delta })),
);

const arbCmd = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('insert' as const),
      t: arbTuple,
      d: arbAddrIx,
      dport: arbPort,
      daf: fc.constantFrom(0, 0, 0, 4, 6),
      flags: arbFlags,
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('rekey' as const),
      pick: fc.nat(),
      c: arbPort,
      v: arbPort,
      d: arbPort,
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fillCport' as const), pick: fc.nat(), c: arbPort }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('lookupIn' as const), t: arbTuple }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('lookupTemplate' as const),
      t: arbTuple,
      mark: fc.constantFrom(0, 0, 7, 9),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('lookupOut' as const), t: arbTuple }) },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('lookupLive' as const),
      pick: fc.nat(),
      kind: fc.constantFrom('in', 'template', 'out'),
      otherCport: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arbPort }),
      mark: fc.constantFrom(0, 0, 7),
    }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('arm' as const), pick: fc.nat(), delta: arbDelta }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('disarm' as const), pick: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('expire' as const),
      step: arbStep,
      actions: fc.array(arbAction, { minLength: 1, maxLength: 6 }),
    }),
  },
);

function u32(a: Addr): Uint32Array {
  return new Uint32Array(a);
}

/** A cheap deep equality for arrays of numbers (chai's is too slow for a check after every step). */
function same(what: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  let ok = got.length === want.length;
  for (let i = 0; ok && i < got.length; i++) ok = Object.is(got[i], want[i]);
  if (!ok)
    throw new Error(`${what}: got [${Array.from(got).join(', ')}], want [${Array.from(want).join(', ')}]`);
}

describe('ConnTable against a naive model (fast-check)', () => {
  it('gives the same results for random sequences of insert/remove/rekey/lookup/arm/expire', () => {
    fc.assert(
      fc.property(fc.array(arbCmd, { minLength: 1, maxLength: 200, size: 'max' }), (cmds) => {
        const t = new ConnTable({ initialCapacity: 4 });
        const m = new Model();
        let now = 0;
        let port = 20_000;
        const out = new Uint32Array(4);

        const insertBoth = (e: Omit<Entry, 'seq' | 'armed' | 'expires'>, provisional = false): number => {
          const id = t.insert(
            e.af,
            e.proto,
            u32(e.caddr),
            e.cport,
            u32(e.vaddr),
            e.vport,
            u32(e.daddr),
            e.dport,
            e.flags,
            e.destId,
            e.fwmark,
            e.daf,
          );
          expect(id).to.be.at.least(0);
          if (!provisional) m.insert(id, e);
          return id;
        };

        const check = (): void => {
          same('size, next expiry', [t.size, t.nextExpiry()], [m.entries.size, m.nextExpiry()]);
          for (const [id, e] of m.entries) {
            same(
              `entry ${id}`,
              [
                +t.isLive(id),
                +t.isArmed(id),
                t.expires[id],
                t.afOf(id),
                t.dafOf(id),
                t.protoOf(id),
                t.cportOf(id),
                t.vportOf(id),
                t.dportOf(id),
                t.flags[id],
              ],
              [1, +e.armed, e.expires, e.af, e.daf, e.proto, e.cport, e.vport, e.dport, e.flags],
            );
            t.getCaddr(id, out);
            same(`caddr ${id}`, out, e.caddr);
            t.getVaddr(id, out);
            same(`vaddr ${id}`, out, e.vaddr);
            t.getDaddr(id, out);
            same(`daddr ${id}`, out, e.daddr);
          }
        };

        for (const cmd of cmds) {
          const live = m.liveIds();
          const pick = (n: number): number => live[n % live.length];
          switch (cmd.op) {
            case 'insert': {
              const { af, proto, c, cport, v, vport } = cmd.t;
              const daf = cmd.daf === 0 ? af : cmd.daf;
              const tpl = (cmd.flags & TEMPLATE) !== 0;
              insertBoth({
                af,
                daf,
                proto,
                caddr: stored(af, addrOf(af, c)),
                cport,
                vaddr: stored(af, addrOf(af, v), proto === IPPROTO_IP),
                vport,
                daddr: stored(daf, addrOf(daf, cmd.d)),
                dport: cmd.dport,
                flags: cmd.flags,
                destId: tpl ? 1 : 2,
                fwmark: proto === IPPROTO_IP ? addrOf(af, v)[0] : 0,
              });
              break;
            }
            case 'remove': {
              if (live.length === 0) break;
              const id = pick(cmd.pick);
              expect(t.remove(id)).to.equal(true);
              m.entries.delete(id);
              break;
            }
            case 'rekey': {
              if (live.length === 0) break;
              const id = pick(cmd.pick);
              expect(t.rekey(id, cmd.c, cmd.v, cmd.d)).to.equal(m.rekey(id, cmd.c, cmd.v, cmd.d));
              break;
            }
            case 'fillCport': {
              if (live.length === 0) break;
              const id = pick(cmd.pick);
              expect(t.fillCport(id, cmd.c)).to.equal(m.fillCport(id, cmd.c));
              break;
            }
            case 'lookupIn': {
              const { af, proto, c, cport, v, vport } = cmd.t;
              const ca = addrOf(af, c);
              const va = addrOf(af, v);
              expect(t.lookupIn(af, proto, u32(ca), cport, u32(va), vport)).to.equal(
                m.lookupIn(af, proto, ca, cport, va, vport),
              );
              break;
            }
            case 'lookupTemplate': {
              const { af, proto, c, cport, v, vport } = cmd.t;
              const ca = addrOf(af, c);
              const va = addrOf(af, v);
              expect(t.lookupTemplate(af, proto, u32(ca), cport, u32(va), vport, cmd.mark)).to.equal(
                m.lookupTemplate(af, proto, ca, cport, va, vport, cmd.mark),
              );
              break;
            }
            case 'lookupOut': {
              const { af, proto, c, cport, v, vport } = cmd.t;
              const sa = addrOf(af, v);
              const da = addrOf(af, c);
              expect(t.lookupOut(af, proto, u32(sa), vport, u32(da), cport)).to.equal(
                m.lookupOut(af, proto, sa, vport, da, cport),
              );
              break;
            }
            case 'lookupLive': {
              // a lookup made from a live entry's own tuple, so that lookups hit
              if (live.length === 0) break;
              const e = m.entries.get(pick(cmd.pick))!;
              const cport = cmd.otherCport ?? e.cport;
              if (cmd.kind === 'in') {
                same(
                  'lookupIn (live)',
                  [t.lookupIn(e.af, e.proto, u32(e.caddr), cport, u32(e.vaddr), e.vport)],
                  [m.lookupIn(e.af, e.proto, e.caddr, cport, e.vaddr, e.vport)],
                );
              } else if (cmd.kind === 'template') {
                same(
                  'lookupTemplate (live)',
                  [t.lookupTemplate(e.af, e.proto, u32(e.caddr), cport, u32(e.vaddr), e.vport, cmd.mark)],
                  [m.lookupTemplate(e.af, e.proto, e.caddr, cport, e.vaddr, e.vport, cmd.mark)],
                );
              } else {
                const masq = (e.flags & FWD_MASK) === MASQ;
                const s = masq ? e.daddr : e.vaddr;
                const sport = masq ? e.dport : e.vport;
                same(
                  'lookupOut (live)',
                  [t.lookupOut(e.af, e.proto, u32(s), sport, u32(e.caddr), cport)],
                  [m.lookupOut(e.af, e.proto, s, sport, e.caddr, cport)],
                );
              }
              break;
            }
            case 'arm': {
              if (live.length === 0) break;
              const id = pick(cmd.pick);
              t.arm(id, now + cmd.delta);
              m.arm(id, now + cmd.delta);
              break;
            }
            case 'disarm': {
              if (live.length === 0) break;
              const id = pick(cmd.pick);
              t.disarm(id);
              m.disarm(id);
              break;
            }
            case 'expire': {
              now += cmd.step;
              const at = now;
              // the table runs first; ids it gives to entries inserted by the callback are replayed in the model
              const insertedIds: number[] = [];
              const run = (
                expire: (cb: (id: number) => void) => void,
                liveNow: () => number[],
                apply: {
                  remove: (id: number) => void;
                  arm: (id: number, when: number) => void;
                  insert: (when: number) => void;
                },
              ): number[] => {
                const fired: number[] = [];
                expire((id) => {
                  fired.push(id);
                  // bounded, so that re-arming into the past cannot loop forever
                  const a: Action =
                    fired.length > 40 ? { kind: 'none' } : cmd.actions[fired.length % cmd.actions.length];
                  const others = liveNow();
                  switch (a.kind) {
                    case 'remove':
                      apply.remove(id);
                      break;
                    case 'armSelf':
                      apply.arm(id, at + a.delta);
                      break;
                    case 'armOther':
                      if (others.length) apply.arm(others[a.pick % others.length], at + a.delta);
                      break;
                    case 'removeOther':
                      if (others.length) apply.remove(others[a.pick % others.length]);
                      break;
                    case 'insert':
                      apply.insert(at + a.delta);
                      break;
                  }
                });
                return fired;
              };
              const cbEntry = (): Omit<Entry, 'seq' | 'armed' | 'expires'> => ({
                af: 4,
                daf: 4,
                proto: 6,
                caddr: [0x0a000001, 0, 0, 0],
                cport: port,
                vaddr: [0x0a000002, 0, 0, 0],
                vport: 80,
                daddr: [0x0a000003, 0, 0, 0],
                dport: 80,
                flags: 3,
                destId: 0,
                fwmark: 0,
              });
              const pending: Omit<Entry, 'seq' | 'armed' | 'expires'>[] = [];
              const tableLive = (): number[] => {
                const ids: number[] = [];
                t.forEach((id) => ids.push(id));
                return ids;
              };
              const firedT = run((cb) => t.expire(at, cb), tableLive, {
                remove: (id) => t.remove(id),
                arm: (id, when) => t.arm(id, when),
                insert: (when) => {
                  const e = cbEntry();
                  port++;
                  pending.push(e);
                  const id = insertBoth(e, true);
                  insertedIds.push(id);
                  t.arm(id, when);
                },
              });
              let k = 0;
              const firedM = run(
                (cb) => m.expire(at, cb),
                () => m.liveIds(),
                {
                  remove: (id) => m.entries.delete(id),
                  arm: (id, when) => m.arm(id, when),
                  insert: (when) => {
                    const id = insertedIds[k];
                    m.insert(id, pending[k++]);
                    m.arm(id, when);
                  },
                },
              );
              expect(firedT).to.deep.equal(firedM);
              break;
            }
          }
          check();
        }
      }),
      { numRuns: 200 },
    );
  });
});
