import { expect } from 'chai';
import { IpAddr } from '../../../src/wire/addr.js';
import { hash32 } from '../../../src/ipvs/sched/common.js';
import { LBLC_MAX_SIZE, type LocalityState } from '../../../src/ipvs/sched/locality.js';
import { Lab } from './helpers.js';

const S = 1000; // ms per second

function lblc(weights: number[], sched = 'lblc'): Lab {
  const l = new Lab();
  l.service(sched);
  weights.forEach((w, i) => l.add(`10.0.0.${11 + i}`, w));
  return l;
}
const state = (l: Lab) => l.svc.schedData as LocalityState;

describe('sched/lblc', () => {
  it('caches the wlc pick per destination address and keeps using it', () => {
    const l = lblc([2, 3, 1]); // list .13 .12 .11
    expect(l.pick('192.0.2.1:1', 0, '10.0.0.100')).to.equal('10.0.0.13');
    l.load(l.dest('10.0.0.13'), 1, 0); // 1 active, weight 1: not more than its weight
    expect(l.pick('192.0.2.2:1', 0, '10.0.0.100')).to.equal('10.0.0.13');
    // another destination address has its own entry (fwmark services see many)
    expect(l.pick('192.0.2.3:1', 0, '10.0.0.200')).to.equal('10.0.0.12');
  });

  it('leaves the cached server when active > weight while some server is below half its weight', () => {
    const l = lblc([2, 3, 1]);
    l.pick('192.0.2.1:1', 0, '10.0.0.100'); // .13 cached
    l.load(l.dest('10.0.0.13'), 2, 0); // 2 > 1 and .12 has 0*2 < 3
    expect(l.pick('192.0.2.2:1', 0, '10.0.0.100')).to.equal('10.0.0.12');
    // now .12 is cached; fill every server to at least half its weight: nobody is "less loaded"
    l.load(l.dest('10.0.0.12'), 4, 0);
    l.load(l.dest('10.0.0.11'), 1, 0);
    expect(l.pick('192.0.2.3:1', 0, '10.0.0.100')).to.equal('10.0.0.12');
  });

  it('re-picks when the cached server is quiesced or deleted, and counts the replaced entry again (tbl->entries)', () => {
    const l = lblc([2, 3]);
    expect(l.pick('192.0.2.1:1', 0, '10.0.0.100')).to.equal('10.0.0.12');
    l.edit('10.0.0.12', 0);
    expect(l.pick('192.0.2.1:1', 0, '10.0.0.100')).to.equal('10.0.0.11');
    l.edit('10.0.0.12', 3);
    l.load(l.dest('10.0.0.11'), 5, 0);
    l.del('10.0.0.11');
    expect(l.pick('192.0.2.1:1', 0, '10.0.0.100')).to.equal('10.0.0.12');
    expect(state(l).table.live).to.equal(1);
    expect(state(l).table.entries).to.equal(3);
  });

  it('the full sweep every 30th run (30 min) drops entries unused for lblc_expiration', () => {
    const l = lblc([100, 100]);
    l.ipvs.sysctl.set('net.ipv4.vs.lblc_expiration', '60');
    const vip = '10.0.0.100';
    expect(l.pick('192.0.2.1:1', 0, vip)).to.equal('10.0.0.12');
    l.load(l.dest('10.0.0.12'), 10, 0); // wlc would now pick .11, the cache keeps .12
    expect(l.pick('192.0.2.1:1', 1799.9 * S, vip)).to.equal('10.0.0.12');
    expect(l.pick('192.0.2.1:1', 1800.5 * S, vip)).to.equal('10.0.0.12'); // run 30 at 1800 s: used 0.1 s ago
    expect(l.pick('192.0.2.1:1', 3599 * S, vip)).to.equal('10.0.0.12'); // used at 1800.5 s, runs 31..59 are not sweeps
    // run 60 (3600 s) sweeps: last use 3599 s, not yet 60 s ago; run 90 (5400 s) removes it
    expect(l.pick('192.0.2.1:1', 5399 * S, vip)).to.equal('10.0.0.12');
    expect(l.pick('192.0.2.1:1', 5460 * S, vip)).to.equal('10.0.0.12'); // 5400: 5399 + 60 > 5400, kept
    expect(l.pick('192.0.2.1:1', 7201 * S, vip)).to.equal('10.0.0.11'); // 7200: 5460 + 60 <= 7200, dropped
  });

  it('above 16384 entries, a run evicts entries idle for 6 minutes bucket by bucket until the goal is met', () => {
    const l = lblc([1]);
    const n = LBLC_MAX_SIZE + 600;
    const addrs: number[] = [];
    for (let i = 0; i < n; i++) {
      const a = (0x0b000000 + i * 7919) >>> 0;
      addrs.push(a);
      l.pick('192.0.2.1:1', 0, IpAddr.fromWords(4, [a]).toString());
    }
    const tbl = state(l).table;
    expect(tbl.live).to.equal(n);
    // runs 1..5 find nothing idle for 6 minutes (and do not count towards the full sweep)
    l.pick('192.0.2.1:1', 359 * S, '10.255.255.254');
    expect(tbl.live).to.equal(n + 1);
    // run 6 at 360 s: goal = 601 * 4 / 3 = 801 entries, from bucket rover + 1 = 1 on
    const perBucket = new Array<number>(1024).fill(0);
    for (const a of addrs) perBucket[hash32(a, 10)]++;
    let removed = 0;
    let j = 0;
    for (let i = 0; i < 1024 && removed < 801; i++) {
      j = (j + 1) & 1023;
      removed += perBucket[j];
    }
    l.pick('192.0.2.1:1', 361 * S, '10.255.255.254');
    expect(tbl.live).to.equal(n + 1 - removed);
    expect(tbl.entries).to.equal(n + 1 - removed);
    expect(tbl.rover).to.equal(j);
  });
});

describe('sched/lblcr', () => {
  it('grows the set with the wlc pick when its least loaded member is overloaded, then uses the least loaded member', () => {
    const l = lblc([1, 1, 2], 'lblcr'); // list .13 .12 .11
    const vip = '10.0.0.100';
    expect(l.pick('192.0.2.1:1', 0, vip)).to.equal('10.0.0.13');
    l.load(l.dest('10.0.0.13'), 3, 0); // 3 > 2 and .12 is idle
    expect(l.pick('192.0.2.2:1', 0, vip)).to.equal('10.0.0.12'); // added to the set
    l.load(l.dest('10.0.0.12'), 1, 0);
    // set {.12, .13}: .12 256/1 vs .13 768/2 = 384: .12
    expect(l.pick('192.0.2.3:1', 0, vip)).to.equal('10.0.0.12');
    l.load(l.dest('10.0.0.12'), 2, 0); // 512 > 384: .13 is least, but overloaded (3 > 2, .11 idle)
    expect(l.pick('192.0.2.4:1', 0, vip)).to.equal('10.0.0.11');
    const tbl = state(l).table;
    expect(tbl.setSize[tbl.lookup(4, Uint32Array.of(IpAddr.parse(vip).w0, 0, 0, 0))]).to.equal(3);
  });

  it('drops the most loaded member once the set is unchanged for lblcr_expiration', () => {
    const l = lblc([1, 1], 'lblcr');
    l.ipvs.sysctl.set('net.ipv4.vs.lblcr_expiration', '10');
    const vip = '10.0.0.100';
    const key = Uint32Array.of(IpAddr.parse(vip).w0, 0, 0, 0);
    const tbl = state(l).table;
    expect(l.pick('c:1'.replace('c', '192.0.2.1'), 0, vip)).to.equal('10.0.0.12');
    l.load(l.dest('10.0.0.12'), 2, 0);
    expect(l.pick('192.0.2.2:1', 1 * S, vip)).to.equal('10.0.0.11'); // set {.11, .12}, changed at 1 s
    l.load(l.dest('10.0.0.11'), 1, 0);
    expect(l.pick('192.0.2.3:1', 11 * S, vip)).to.equal('10.0.0.11'); // 11 > 1 + 10 is false: kept
    expect(tbl.setSize[tbl.lookup(4, key)]).to.equal(2);
    expect(l.pick('192.0.2.4:1', 11.001 * S, vip)).to.equal('10.0.0.11'); // now > lastmod + 10 s: .12 dropped
    expect(tbl.setSize[tbl.lookup(4, key)]).to.equal(1);
  });

  it('ignores set members that were deleted or quiesced', () => {
    const l = lblc([1, 1], 'lblcr');
    const vip = '10.0.0.100';
    expect(l.pick('192.0.2.1:1', 0, vip)).to.equal('10.0.0.12');
    l.del('10.0.0.12');
    expect(l.pick('192.0.2.2:1', 0, vip)).to.equal('10.0.0.11');
    l.edit('10.0.0.11', 0);
    expect(l.pick('192.0.2.3:1', 0, vip)).to.equal(null);
  });
});
