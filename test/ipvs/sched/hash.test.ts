import { expect } from 'chai';
import { IpAddr } from '../../../src/wire/addr.js';
import { hash32 } from '../../../src/ipvs/sched/common.js';
import { SH_FALLBACK, SH_PORT } from '../../../src/ipvs/sched/sh.js';
import { MH_FALLBACK, MH_PORT, MaglevHashing, mhHash, MH_KEY1 } from '../../../src/ipvs/sched/mh.js';
import { createSchedulerRegistry } from '../../../src/ipvs/sched/index.js';
import type { Dest } from '../../../src/ipvs/service.js';
import { Lab } from './helpers.js';

const w0 = (a: string) => IpAddr.parse(a).w0;

describe('sched/dh', () => {
  it('buckets hash_32(daddr, 8) are dealt round robin over the list, weights ignored', () => {
    const l = new Lab();
    l.service('dh', 0, '10.19.0.100');
    [1, 2, 1, 3].forEach((w, i) => l.add(`10.19.0.${91 + i}`, w));
    // list .94 .93 .92 .91: bucket b belongs to list[b % 4]
    const list = ['10.19.0.94', '10.19.0.93', '10.19.0.92', '10.19.0.91'];
    for (const vip of ['10.19.0.100', '10.19.0.101', '10.19.0.177', '192.168.7.9']) {
      const b = hash32(w0(vip), 8);
      expect(l.pick('192.0.2.1:1000', 0, vip), vip).to.equal(list[b % 4]);
      expect(l.pick('198.51.100.7:2000', 0, vip), 'source does not matter').to.equal(list[b % 4]);
    }
  });

  it('a quiesced or overloaded bucket owner gives no destination; an edit does not rebuild the table', () => {
    const l = new Lab();
    l.service('dh');
    l.add('10.0.0.11', 1);
    l.add('10.0.0.12', 1);
    const vip = ['10.9.9.1', '10.9.9.2', '10.9.9.3', '10.9.9.4'].find(
      (v) => hash32(w0(v), 8) % 2 === 0,
    ) as string;
    expect(l.pick('192.0.2.1:1', 0, vip)).to.equal('10.0.0.12');
    l.edit('10.0.0.12', 0);
    expect(l.pick('192.0.2.1:1', 0, vip)).to.equal(null);
    l.edit('10.0.0.12', 1, 1);
    l.load(l.dest('10.0.0.12'), 1, 0);
    expect(l.pick('192.0.2.1:1', 0, vip)).to.equal(null);
  });

  it('adding and deleting servers rebuilds the table', () => {
    const l = new Lab();
    l.service('dh');
    l.add('10.0.0.11', 1);
    const vip = '10.9.9.9';
    expect(l.pick('192.0.2.1:1', 0, vip)).to.equal('10.0.0.11');
    l.add('10.0.0.12', 1);
    l.add('10.0.0.13', 1);
    const list = ['10.0.0.13', '10.0.0.12', '10.0.0.11'];
    expect(l.pick('192.0.2.1:1', 0, vip)).to.equal(list[hash32(w0(vip), 8) % 3]);
    l.del('10.0.0.13');
    expect(l.pick('192.0.2.1:1', 0, vip)).to.equal(['10.0.0.12', '10.0.0.11'][hash32(w0(vip), 8) % 2]);
  });
});

/** The sh bucket table as the kernel deals it: from the head, `weight` buckets each (at least one). */
function shTable(list: { addr: string; w: number }[]): string[] {
  const t: string[] = [];
  let p = 0;
  let c = 0;
  for (let i = 0; i < 256; i++) {
    t.push(list[p].addr);
    if (++c >= list[p].w) {
      p = (p + 1) % list.length;
      c = 0;
    }
  }
  return t;
}

describe('sched/sh', () => {
  const setup = (flags = 0) => {
    const l = new Lab();
    l.service('sh', flags);
    l.add('10.20.0.101', 1);
    l.add('10.20.0.102', 2);
    l.add('10.20.0.103', 3);
    l.add('10.20.0.104', 0);
    return l;
  };
  const table = shTable([
    { addr: '10.20.0.104', w: 0 },
    { addr: '10.20.0.103', w: 3 },
    { addr: '10.20.0.102', w: 2 },
    { addr: '10.20.0.101', w: 1 },
  ]);

  it('deals buckets by weight from the head (weight 0 still takes one) and hashes the source address', () => {
    const l = setup();
    for (let i = 1; i < 120; i++) {
      const src = `198.51.100.${i}`;
      const owner = table[hash32(w0(src), 8)];
      expect(l.pick(`${src}:${1000 + i}`), src).to.equal(owner === '10.20.0.104' ? null : owner);
    }
  });

  it('sh-port adds the source port to the address before hashing', () => {
    const l = setup(SH_PORT);
    for (let port = 1000; port < 1100; port++) {
      const owner = table[hash32((w0('198.51.100.7') + port) >>> 0, 8)];
      expect(l.pick(`198.51.100.7:${port}`)).to.equal(owner === '10.20.0.104' ? null : owner);
    }
  });

  it('sh-fallback tries buckets (2h + k) & 255 for an available server', () => {
    const l = setup(SH_FALLBACK);
    let fellBack = 0;
    for (let i = 1; i < 250; i++) {
      const src = `203.0.113.${i}`;
      const h = hash32(w0(src), 8);
      let want = table[h];
      if (want === '10.20.0.104') {
        fellBack++;
        for (let k = 0; k < 256; k++) {
          want = table[(((k + h) & 255) + h) & 255];
          if (want !== '10.20.0.104') break;
        }
      }
      expect(l.pick(`${src}:1`), src).to.equal(want);
    }
    expect(fellBack).to.be.greaterThan(10);
  });

  it('an edit rebuilds the buckets (upd_dest)', () => {
    const l = setup();
    l.edit('10.20.0.104', 4);
    const t2 = shTable([
      { addr: '10.20.0.104', w: 4 },
      { addr: '10.20.0.103', w: 3 },
      { addr: '10.20.0.102', w: 2 },
      { addr: '10.20.0.101', w: 1 },
    ]);
    for (let i = 1; i < 60; i++) expect(l.pick(`192.0.2.${i}:1`)).to.equal(t2[hash32(w0(`192.0.2.${i}`), 8)]);
  });

  it('uses the destination address and port for a packet flagged inverse (schedule_icmp)', () => {
    const l = setup(SH_PORT);
    const f = l.flow;
    IpAddr.parse('10.20.0.100').writeWords(f.saddr);
    IpAddr.parse('198.51.100.9').writeWords(f.daddr);
    f.sport = 80;
    f.dport = 4242;
    f.inverse = true;
    f.protocol = 6;
    const d = l.svc.sched?.schedule(l.svc, f, null) as Dest | null;
    const owner = table[hash32((w0('198.51.100.9') + 4242) >>> 0, 8)];
    expect(d ? d.addr.toString() : null).to.equal(owner === '10.20.0.104' ? null : owner);
  });
});

describe('sched/mh', () => {
  const build = (weights: number[], flags = 0, tabIndex?: number) => {
    const l = new Lab(tabIndex ? { sched: { mhTabIndex: tabIndex } } : {});
    l.service('mh', flags, '10.23.0.100');
    weights.forEach((w, i) => l.add(`10.23.0.${131 + i}`, w));
    return l;
  };
  const table = (l: Lab) => (l.svc.schedData as { lookup: (Dest | null)[] }).lookup;
  const counts = (l: Lab) => {
    const m = new Map<string, number>();
    for (const d of table(l)) if (d) m.set(d.addr.toString(), (m.get(d.addr.toString()) ?? 0) + 1);
    return m;
  };

  it('fills all 4093 entries, in proportion to the weights, a server added with weight 0 gets none', () => {
    const l = build([1, 2, 3, 4, 0]);
    const t = table(l);
    expect(t.length).to.equal(4093);
    expect(t.every((d) => d !== null)).to.equal(true);
    const c = counts(l);
    expect(c.has('10.23.0.135')).to.equal(false);
    const n = [131, 132, 133, 134].map((h) => c.get(`10.23.0.${h}`) as number);
    expect(n.reduce((a, b) => a + b)).to.equal(4093);
    // turns 1:2:3:4 per round: shares within a few entries of 409.3 per unit of weight
    n.forEach((x, i) => expect(Math.abs(x - 409.3 * (i + 1))).to.be.lessThan(8));
  });

  it('looks up hsiphash(port + saddr) % 4093 in the table', () => {
    const l = build([1, 2, 3, 4, 0]);
    const t = table(l);
    for (let i = 1; i < 100; i++) {
      const src = `100.64.${i}.7`;
      expect(l.pick(`${src}:5555`)).to.equal(
        (t[mhHash(w0(src), 0, MH_KEY1, 0) % 4093] as Dest).addr.toString(),
      );
    }
  });

  it('remembering lookup hashes of returning clients changes no decision (including the input 0)', () => {
    const l = build([1, 2, 3, 4, 0], MH_PORT);
    const t = table(l);
    const want = (src: string, port: number) =>
      (t[mhHash((w0(src) + port) >>> 0, 0, MH_KEY1, 0) % 4093] as Dest).addr.toString();
    for (let round = 0; round < 3; round++)
      for (let i = 0; i < 300; i++)
        expect(l.pick(`100.64.${i >> 8}.${i & 255}:${i}`)).to.equal(want(`100.64.${i >> 8}.${i & 255}`, i));
    expect(l.pick('0.0.0.0:0')).to.equal(want('0.0.0.0', 0));
    expect(l.pick('0.0.0.0:0')).to.equal(want('0.0.0.0', 0));
  });

  it('a quiesced server keeps its entries: its clients get no destination, or fall back with mh-fallback', () => {
    const plain = build([1, 2, 3, 4]);
    const fb = build([1, 2, 3, 4], MH_FALLBACK);
    const before = counts(plain);
    plain.edit('10.23.0.133', 0);
    fb.edit('10.23.0.133', 0);
    expect(counts(plain)).to.deep.equal(before);
    let quiet = 0;
    for (let i = 1; i < 200; i++) {
      const src = `192.0.2.${i}`;
      const owner = (table(plain)[mhHash(w0(src), 0, MH_KEY1, 0) % 4093] as Dest).addr.toString();
      const p = plain.pick(`${src}:1`);
      const f = fb.pick(`${src}:1`);
      if (owner === '10.23.0.133') {
        quiet++;
        expect(p).to.equal(null);
        expect(f).to.not.equal(null);
        expect(f).to.not.equal('10.23.0.133');
      } else {
        expect(p).to.equal(owner);
        expect(f).to.equal(owner);
      }
    }
    expect(quiet).to.be.greaterThan(20);
  });

  it('mh-port hashes the source port too', () => {
    const l = build([1, 1, 1], MH_PORT);
    const seen = new Set<string | null>();
    for (let p = 1000; p < 1050; p++) seen.add(l.pick(`192.0.2.1:${p}`));
    expect(seen.size).to.equal(3);
    const t = table(l);
    expect(l.pick('192.0.2.1:1234')).to.equal(
      (t[mhHash((w0('192.0.2.1') + 1234) >>> 0, 0, MH_KEY1, 0) % 4093] as Dest).addr.toString(),
    );
  });

  it('scales turns by gcd and keeps the largest within 6 bits (weights 100 and 10000)', () => {
    const l = build([100, 10000]);
    const c = counts(l);
    // gcd 100: turns 1 and 100 -> 100 fits in 7 bits, shift 1 -> turns 0->1 and 50
    const a = c.get('10.23.0.131') as number;
    const b = c.get('10.23.0.132') as number;
    expect(a + b).to.equal(4093);
    expect(Math.abs(b / a - 50)).to.be.lessThan(2);
  });

  it('the table size follows CONFIG_IP_VS_MH_TAB_INDEX (8 -> 251, 17 -> 131071) and rejects others', () => {
    expect(table(build([1, 2], 0, 8)).length).to.equal(251);
    expect(table(build([1, 2], 0, 17)).length).to.equal(131071);
    expect(() => new MaglevHashing(7)).to.throw(RangeError);
    expect(createSchedulerRegistry({ mhTabIndex: 9 }).get('mh')).to.have.property('size', 509);
  });

  it('keeps the old table when there are more servers than entries (the kernel refuses)', () => {
    const l = build([1], 0, 8);
    for (let i = 0; i < 260; i++) l.add(`10.99.${i >> 8}.${i & 255}`, 1);
    expect(table(l).length).to.equal(251);
    expect(l.svc.dests.length).to.equal(261);
    expect(table(l).every((d) => d !== null)).to.equal(true);
  });
});
