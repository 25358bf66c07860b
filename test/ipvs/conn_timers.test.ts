import { expect } from 'chai';
import { ConnFlag, ConnTable, WHEEL_SPAN_MS } from '../../src/ipvs/conn.js';

const TCP = 6;
const VIP = new Uint32Array([0xc000020a, 0, 0, 0]);
const RIP = new Uint32Array([0x0a000002, 0, 0, 0]);

/** A table with `n` entries (client ports 1..n), none armed. */
function table(n: number, initialCapacity = 1024): { t: ConnTable; ids: number[] } {
  const t = new ConnTable({ initialCapacity });
  const c = new Uint32Array([0xc6336407, 0, 0, 0]);
  const ids: number[] = [];
  for (let i = 1; i <= n; i++) ids.push(t.insert(4, TCP, c, i, VIP, 80, RIP, 80, ConnFlag.DROUTE, 0, 0));
  return { t, ids };
}

function collect(t: ConnTable, now: number): number[] {
  const fired: number[] = [];
  t.expire(now, (id) => fired.push(id));
  return fired;
}

describe('ConnTable timers', () => {
  it('fires due entries in expiry order, ties by id, and nothing early', () => {
    const { t, ids } = table(6);
    const times = [5000, 1200.5, 1200.5, 90, 70000, 1200.25];
    ids.forEach((id, i) => t.arm(id, times[i]));
    expect(t.nextExpiry()).to.equal(90);
    expect(collect(t, 89.999)).to.deep.equal([]);
    expect(collect(t, 1200.5)).to.deep.equal([ids[3], ids[5], ids[1], ids[2]]);
    expect(t.nextExpiry()).to.equal(5000);
    expect(collect(t, 69999)).to.deep.equal([ids[0]]);
    expect(collect(t, 70000)).to.deep.equal([ids[4]]);
    expect(t.nextExpiry()).to.equal(Infinity);
    expect(t.armedCount).to.equal(0);
  });

  it('a fired entry is no longer armed and keeps the time it was due', () => {
    const { t, ids } = table(1);
    t.arm(ids[0], 300);
    expect(t.isArmed(ids[0])).to.equal(true);
    collect(t, 1000);
    expect(t.isArmed(ids[0])).to.equal(false);
    expect(t.expires[ids[0]]).to.equal(300);
    expect(collect(t, 5000)).to.deep.equal([]);
  });

  it('re-arming later postpones the entry, re-arming earlier advances it', () => {
    const { t, ids } = table(3);
    t.arm(ids[0], 1000);
    t.arm(ids[1], 2000);
    t.arm(ids[2], 3000);
    t.arm(ids[0], 2500); // later: lazily kept in its old slot
    t.arm(ids[2], 500); // earlier
    expect(t.nextExpiry()).to.equal(500);
    expect(collect(t, 1000)).to.deep.equal([ids[2]]);
    expect(collect(t, 2000)).to.deep.equal([ids[1]]);
    expect(collect(t, 2499)).to.deep.equal([]);
    expect(collect(t, 2500)).to.deep.equal([ids[0]]);
  });

  it('re-arming on every packet keeps pushing the expiry back', () => {
    const { t, ids } = table(1);
    let now = 0;
    t.arm(ids[0], now + 60_000);
    for (let i = 0; i < 1000; i++) {
      now += 1000;
      expect(collect(t, now)).to.deep.equal([]);
      t.arm(ids[0], now + 60_000);
    }
    expect(collect(t, now + 59_999)).to.deep.equal([]);
    expect(collect(t, now + 60_000)).to.deep.equal([ids[0]]);
  });

  it('re-arms entries that are already waiting in the current slot', () => {
    const { t, ids } = table(3);
    t.arm(ids[0], 40);
    t.arm(ids[1], 41);
    t.arm(ids[2], 42);
    expect(collect(t, 35)).to.deep.equal([]); // slot of 32..47 reached: all three queued
    t.arm(ids[2], 36); // earlier, still in the reached slot
    t.arm(ids[0], 1000); // out of the reached slot
    t.arm(ids[1], 47); // later, same slot
    expect(collect(t, 45)).to.deep.equal([ids[2]]);
    expect(collect(t, 47)).to.deep.equal([ids[1]]);
    expect(collect(t, 999)).to.deep.equal([]);
    expect(collect(t, 1000)).to.deep.equal([ids[0]]);
  });

  it('a time already passed fires at the next expire call', () => {
    const { t, ids } = table(2);
    collect(t, 10_000);
    t.arm(ids[0], 5);
    t.arm(ids[1], 9_999);
    expect(t.nextExpiry()).to.equal(5);
    expect(collect(t, 10_000)).to.deep.equal([ids[0], ids[1]]);
  });

  it('disarm, arm(Infinity) and remove cancel pending timers', () => {
    const { t, ids } = table(4);
    ids.forEach((id, i) => t.arm(id, 100 * (i + 1)));
    t.disarm(ids[0]);
    t.arm(ids[1], Infinity);
    t.remove(ids[2]);
    expect(t.isArmed(ids[0])).to.equal(false);
    expect(t.expires[ids[0]]).to.equal(Infinity);
    expect(t.armedCount).to.equal(1);
    expect(t.nextExpiry()).to.equal(400);
    expect(collect(t, 1000)).to.deep.equal([ids[3]]);
  });

  it('removing an entry queued in the current slot cancels it', () => {
    const { t, ids } = table(2);
    t.arm(ids[0], 20);
    t.arm(ids[1], 21);
    collect(t, 17);
    t.remove(ids[0]);
    expect(collect(t, 30)).to.deep.equal([ids[1]]);
  });

  describe('callbacks', () => {
    it('may re-arm the fired entry later: it does not fire again in the same call', () => {
      const { t, ids } = table(2);
      t.arm(ids[0], 100);
      t.arm(ids[1], 200);
      const fired: number[] = [];
      t.expire(1000, (id) => {
        fired.push(id);
        if (id === ids[0]) t.arm(id, 60_000 + 100);
      });
      expect(fired).to.deep.equal([ids[0], ids[1]]);
      expect(t.isArmed(ids[0])).to.equal(true);
      expect(collect(t, 60_100)).to.deep.equal([ids[0]]);
    });

    it('may arm entries in the past: they fire in the same call, in order', () => {
      const { t, ids } = table(4);
      t.arm(ids[0], 100);
      t.arm(ids[1], 300);
      const fired: number[] = [];
      t.expire(1000, (id) => {
        fired.push(id);
        if (fired.length === 1) {
          t.arm(ids[2], 50); // before everything left: next
          t.arm(ids[3], 1000); // the clock itself: last
          t.arm(id, 200); // itself again, before ids[1]
        }
      });
      expect(fired).to.deep.equal([ids[0], ids[2], ids[0], ids[1], ids[3]]);
    });

    it('may remove entries that were due: they do not fire', () => {
      const { t, ids } = table(3);
      ids.forEach((id, i) => t.arm(id, 10 + i));
      const fired: number[] = [];
      t.expire(100, (id) => {
        fired.push(id);
        if (id === ids[0]) t.remove(ids[1]);
      });
      expect(fired).to.deep.equal([ids[0], ids[2]]);
    });

    it('may remove the fired entry and insert new ones, growing the table', () => {
      const { t, ids } = table(4, 4);
      ids.forEach((id, i) => t.arm(id, 10 * (i + 1)));
      const c = new Uint32Array([0x01020304, 0, 0, 0]);
      const fired: number[] = [];
      let port = 1000;
      t.expire(1000, (id) => {
        fired.push(id);
        t.remove(id);
        for (let k = 0; k < 20; k++) {
          const n = t.insert(4, TCP, c, port++, VIP, 80, RIP, 80, ConnFlag.DROUTE, 0, 0);
          t.arm(n, 5000 + port);
        }
      });
      expect(fired).to.deep.equal(ids);
      expect(t.size).to.equal(80);
      expect(collect(t, 5000 + port).length).to.equal(80);
    });

    it('may not call expire itself', () => {
      const { t, ids } = table(1);
      t.arm(ids[0], 1);
      expect(() => t.expire(10, () => t.expire(10, () => undefined))).to.throw(/own callback/);
      // the table is still usable afterwards
      t.arm(ids[0], 20);
      expect(collect(t, 20)).to.deep.equal([ids[0]]);
    });
  });

  it('keeps every timer and the firing order while the table grows and its wheel narrows, also from callbacks', () => {
    const t = new ConnTable({ initialCapacity: 4 });
    let seed = 42;
    const rnd = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const pending = new Map<number, number>(); // id -> expiry of armed entries
    const c = new Uint32Array(4);
    let client = 0;
    let now = 0;
    const add = (): void => {
      c[0] = ++client;
      const id = t.insert(4, TCP, c, 1, VIP, 80, RIP, 80, ConnFlag.DROUTE, 0, 0);
      const e = now + 1 + Math.floor(rnd() * 2_000_000) / 4; // up to two turns of the wheel, quarter-ms steps
      t.arm(id, e);
      pending.set(id, e);
    };
    const fired: number[] = [];
    const expected: number[] = [];
    for (let i = 0; i < 12_000; i++) {
      add();
      if (i % 100 === 99) {
        now += Math.floor(rnd() * 40_000);
        const due = [...pending]
          .filter(([, e]) => e <= now)
          .sort((a, b) => a[1] - b[1] || a[0] - b[0])
          .map(([id]) => id);
        for (const id of due) {
          pending.delete(id);
          expected.push(id);
        }
        t.expire(now, (id) => {
          fired.push(id);
          // entries added from the callback, all in the future: the table grows mid-call
          if (client < 24_000) for (let k = 0; k < 3; k++) add();
        });
      }
    }
    expect(t.size).to.be.above(20_000);
    expect(fired).to.deep.equal(expected);
    expect(t.armedCount).to.equal(pending.size);
    const last = Math.max(...pending.values());
    const rest: number[] = [];
    t.expire(last, (id) => rest.push(id));
    expect(rest).to.deep.equal([...pending].sort((a, b) => a[1] - b[1] || a[0] - b[0]).map(([id]) => id));
  });

  describe('time jumps', () => {
    it('a jump of hours fires everything due in one call, in order, and keeps the rest', () => {
      const { t, ids } = table(2000);
      // expiries spread over ten hours, in scrambled order
      const when = ids.map((_, i) => ((i * 7919) % 2000) * 18_000 + 0.5);
      ids.forEach((id, i) => t.arm(id, when[i]));
      const fired: number[] = [];
      t.expire(5 * 3600_000, (id) => fired.push(id));
      const due = ids.filter((_, i) => when[i] <= 5 * 3600_000);
      due.sort((a, b) => when[ids.indexOf(a)] - when[ids.indexOf(b)] || a - b);
      expect(fired).to.deep.equal(due);
      expect(t.armedCount).to.equal(2000 - due.length);
      expect(t.nextExpiry()).to.equal(Math.min(...when.filter((w) => w > 5 * 3600_000)));
      const rest: number[] = [];
      t.expire(11 * 3600_000, (id) => rest.push(id));
      expect(rest.length).to.equal(2000 - due.length);
    });

    it('a jump of decades is one pass over the wheel', () => {
      const { t, ids } = table(3);
      t.arm(ids[0], 1e12);
      t.arm(ids[1], 1e12 + WHEEL_SPAN_MS * 1000);
      t.arm(ids[2], 50);
      expect(collect(t, 1e12)).to.deep.equal([ids[2], ids[0]]);
      expect(t.nextExpiry()).to.equal(1e12 + WHEEL_SPAN_MS * 1000);
      expect(collect(t, 2e12)).to.deep.equal([ids[1]]);
    });

    it('entries many turns of the wheel away wait for their turn', () => {
      const { t, ids } = table(3);
      const turn = WHEEL_SPAN_MS;
      t.arm(ids[0], 5 * turn + 3);
      t.arm(ids[1], 2 * turn + 3);
      t.arm(ids[2], 3);
      const fired: number[] = [];
      for (let now = 0; now <= 6 * turn; now += 997) t.expire(now, (id) => fired.push(id));
      expect(fired).to.deep.equal([ids[2], ids[1], ids[0]]);
    });

    it('a clock going backwards fires nothing new', () => {
      const { t, ids } = table(2);
      t.arm(ids[0], 500);
      t.arm(ids[1], 1500);
      expect(collect(t, 1000)).to.deep.equal([ids[0]]);
      expect(collect(t, 200)).to.deep.equal([]);
      t.arm(ids[0], 700);
      expect(collect(t, 600)).to.deep.equal([]);
      expect(collect(t, 1500)).to.deep.equal([ids[0], ids[1]]);
    });
  });
});
