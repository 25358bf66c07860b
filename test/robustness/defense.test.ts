/**
 * Connection floods: --max-conns caps the table, the drop_entry defence
 * (src/ipvs/defense.ts, the kernel's ip_vs_random_dropentry) deletes entries
 * as the kernel would, and expired entries are reclaimed as simulated time
 * passes, so a flood keeps memory bounded.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Director } from '../../src/ipvs/director.js';
import { ConnFlag, CTPL_ASSURED } from '../../src/ipvs/conn_ops.js';
import { TcpState } from '../../src/ipvs/proto.js';
import { Fate, Reason, REASON_COUNT } from '../../src/ipvs/verdict.js';
import { NullSink } from '../../src/ipvs/env.js';
import { IpAddr } from '../../src/wire/addr.js';
import { buildFrame, EthernetRepr, Ipv4Repr, TcpRepr, UdpRepr } from '../../src/wire/repr.js';
import { Replay } from '../../src/replay/engine.js';
import { CONN_TAB_SIZE } from '../../src/ipvs/defense.js';
import { accountingProblem, makeDirector } from './driver.js';
import { CLIENT_MAC, DR_SETUP, GW_MAC, VIP4 } from './setups.js';
import { floodDirector, writeSynFlood } from './traffic.js';

const A = (s: string): IpAddr => IpAddr.parse(s);

function tcp(client: string, sport: number, dport: number, flags: number): Uint8Array {
  return buildFrame([
    new EthernetRepr({ dst: CLIENT_MAC, src: GW_MAC }),
    new Ipv4Repr({ src: A(client), dst: A(VIP4) }),
    new TcpRepr({ sport, dport, flags, seq: 1, ack: 1 }),
  ]);
}

function udp(client: string, sport: number): Uint8Array {
  return buildFrame([
    new EthernetRepr({ dst: CLIENT_MAC, src: GW_MAC }),
    new Ipv4Repr({ src: A(client), dst: A(VIP4) }),
    new UdpRepr({ sport, dport: 53 }),
  ]);
}

function send(d: Director, ms: number, frame: Uint8Array): void {
  d.advance(ms);
  d.receive(0, frame, 0, frame.length, frame.length);
}

const SYN = 0x02;
const ACK = 0x10;
const FIN = 0x11;

/** Ids of the live connection (not template) entries from `client`. */
function entriesOf(d: Director, client: string, templates = false): number[] {
  const ids: number[] = [];
  const a = new Uint32Array(4);
  d.conns.forEach((id) => {
    d.conns.getCaddr(id, a);
    const tpl = (d.conns.flags[id] & ConnFlag.TEMPLATE) !== 0;
    if (a[0] === A(client).w0 && tpl === templates) ids.push(id);
  });
  return ids;
}

/** Runs enough passes at the current time that every virtual bucket has come up many times. */
function manyPasses(d: Director): void {
  d.defense.updateLevel();
  for (let i = 0; i < 1000; i++) d.defense.pass();
}

describe('robustness: connection floods and the drop_entry defence', function () {
  this.timeout(120_000);

  it('drop_entry=0: a capped table refuses new connections (ipvs-conn-table-full) and the defence never runs', () => {
    const d = makeDirector(DR_SETUP, { maxConns: 1000 });
    floodDirector(d, { frames: 5000, perSecond: 1000 });
    expect(d.conns.size).to.equal(1000);
    const f = d.env.fates;
    expect(f.byReason[Fate.DROPPED * REASON_COUNT + Reason.IPVS_CONN_TABLE_FULL]).to.equal(4000);
    expect(f.fates[Fate.FORWARDED]).to.equal(1000);
    expect(d.defense.counters.passes).to.equal(0);
    expect(accountingProblem(d)).to.equal('');
  });

  it('drop_entry=1 switches on when the table is within amemthresh entries of its cap (reads 2), off again after (reads 1)', () => {
    const d = makeDirector(
      `${DR_SETUP}sysctl -w net.ipv4.vs.drop_entry=1\nsysctl -w net.ipv4.vs.amemthresh=100\n`,
      {
        maxConns: 1000,
      },
    );
    // 890 entries: 110 free, not short of memory
    floodDirector(d, { frames: 890, perSecond: 100 });
    d.advance(9000);
    expect(d.defense.on).to.equal(false);
    expect(d.sysctl.vs('drop_entry')).to.equal(1);
    // 950: within 100 of the cap
    floodDirector(
      { advance: (ms) => d.advance(9000 + ms), receive: (...a) => d.receive(...a) },
      { frames: 60, perSecond: 100, first: 890 },
    );
    d.advance(11_000);
    expect(d.defense.on).to.equal(true);
    expect(d.sysctl.vs('drop_entry')).to.equal(2);
    expect(d.defense.counters.synRecv).to.be.greaterThan(0);
    // every SYN_RECV entry expires after 60 s: memory is no longer short
    d.advance(200_000);
    expect(d.conns.size).to.equal(0);
    expect(d.defense.on).to.equal(false);
    expect(d.sysctl.vs('drop_entry')).to.equal(1);
  });

  it('one pass looks at about 1/32 of the table, like the kernel (128 of 4096 buckets, with replacement)', () => {
    const d = makeDirector(`${DR_SETUP}sysctl -w net.ipv4.vs.drop_entry=3\n`);
    // all in the same simulated second: no tick yet
    floodDirector(d, { frames: 100_000, perSecond: 1e6 });
    expect(d.conns.size).to.equal(100_000);
    d.defense.updateLevel();
    d.defense.pass();
    const expected = 100_000 * (1 - Math.pow(1 - 1 / CONN_TAB_SIZE, CONN_TAB_SIZE >> 5));
    expect(d.defense.counters.synRecv).to.be.within(expected * 0.8, expected * 1.2);
    expect(d.conns.size).to.equal(100_000 - d.defense.counters.synRecv);
  });

  it('is deterministic for a seed (--seed), and another seed deletes other entries', () => {
    const victims = (seed: number): string => {
      const d = makeDirector(`${DR_SETUP}sysctl -w net.ipv4.vs.drop_entry=3\n`, { seed });
      floodDirector(d, { frames: 20_000, perSecond: 1e6 });
      d.defense.updateLevel();
      d.defense.pass();
      const live: number[] = [];
      d.conns.forEach((id) => live.push(id));
      return live.join(',');
    };
    expect(victims(7)).to.equal(victims(7));
    expect(victims(7)).to.not.equal(victims(8));
  });

  it('deletes SYN_RECV entries at once, ESTABLISHED and UDP ones only after 60 s idle by the in_pkts rate rule', () => {
    const d = makeDirector(`${DR_SETUP}sysctl -w net.ipv4.vs.drop_entry=3\n`);
    send(d, 0, tcp('10.0.0.20', 2000, 80, SYN)); // SYN_RECV
    send(d, 0, tcp('10.0.0.21', 2001, 80, SYN));
    send(d, 1, tcp('10.0.0.21', 2001, 80, ACK)); // ESTABLISHED, in_pkts 2
    send(d, 0, tcp('10.0.0.22', 2002, 80, SYN));
    for (let i = 0; i < 10; i++) send(d, 1 + i, tcp('10.0.0.22', 2002, 80, ACK)); // in_pkts 11
    send(d, 0, tcp('10.0.0.23', 2003, 80, SYN));
    send(d, 1, tcp('10.0.0.23', 2003, 80, ACK));
    send(d, 2, tcp('10.0.0.23', 2003, 80, FIN)); // FIN_WAIT
    send(d, 10, udp('10.0.0.24', 3000)); // in_pkts 1
    expect(d.conns.state[entriesOf(d, '10.0.0.21')[0]]).to.equal(TcpState.ESTABLISHED);
    expect(d.conns.state[entriesOf(d, '10.0.0.23')[0]]).to.equal(TcpState.FIN_WAIT);

    manyPasses(d);
    expect(entriesOf(d, '10.0.0.20')).to.have.length(0);
    for (const c of ['10.0.0.21', '10.0.0.22', '10.0.0.23', '10.0.0.24'])
      expect(entriesOf(d, c), c).to.have.length(1);

    // 70 s later: ESTABLISHED (in_pkts 2) and UDP (in_pkts 1) idle for over 60 s go; 11 packets keep it; FIN_WAIT is never taken
    d.advance(70_000);
    manyPasses(d);
    expect(entriesOf(d, '10.0.0.21')).to.have.length(0);
    expect(entriesOf(d, '10.0.0.24')).to.have.length(0);
    expect(entriesOf(d, '10.0.0.22')).to.have.length(1);
    expect(entriesOf(d, '10.0.0.23')).to.have.length(1);
    const c = d.defense.counters;
    expect([c.synRecv, c.established, c.other]).to.deep.equal([1, 1, 1]);
    expect(accountingProblem(d)).to.equal('');
  });

  it('deletes an unassured persistence template, keeps an assured one and one that still controls a connection', () => {
    const d = makeDirector(`${DR_SETUP}sysctl -w net.ipv4.vs.drop_entry=3\n`);
    // client .30: SYN only (template unassured, controls a SYN_RECV connection)
    send(d, 0, tcp('10.0.0.30', 4000, 443, SYN));
    // client .31: SYN, ACK (template assured), then RST: the connection closes (10 s)
    send(d, 0, tcp('10.0.0.31', 4001, 443, SYN));
    send(d, 1, tcp('10.0.0.31', 4001, 443, ACK));
    send(d, 2, tcp('10.0.0.31', 4001, 443, 0x04));
    const t30 = entriesOf(d, '10.0.0.30', true);
    const t31 = entriesOf(d, '10.0.0.31', true);
    expect(t30).to.have.length(1);
    expect(d.conns.state[t31[0]] & CTPL_ASSURED).to.equal(CTPL_ASSURED);
    // with its connection alive the template is kept (the connection, SYN_RECV, is not: it goes, and takes
    // its unused, unassured template with it, as ip_vs_conn_del does)
    d.defense.updateLevel();
    // the .31 connection (CLOSE) is not a victim; its template controls it
    manyPasses(d);
    expect(entriesOf(d, '10.0.0.30', true)).to.have.length(0);
    expect(entriesOf(d, '10.0.0.30')).to.have.length(0);
    expect(entriesOf(d, '10.0.0.31', true)).to.have.length(1);
    // 20 s: the .31 connection expired (CLOSE, 10 s); its assured template stays
    d.advance(20_000);
    expect(entriesOf(d, '10.0.0.31')).to.have.length(0);
    manyPasses(d);
    expect(entriesOf(d, '10.0.0.31', true)).to.have.length(1);
    expect(d.defense.counters.template).to.equal(0);
  });

  it('an unassured template left without connections is deleted', () => {
    const d = makeDirector(`${DR_SETUP}sysctl -w net.ipv4.vs.drop_entry=0\n`);
    send(d, 0, tcp('10.0.0.40', 5000, 443, SYN));
    // the connection (SYN_RECV, 60 s) expires; the template (-p 60) is re-armed while it controlled it
    d.advance(61_000);
    expect(entriesOf(d, '10.0.0.40')).to.have.length(0);
    expect(entriesOf(d, '10.0.0.40', true)).to.have.length(1);
    d.sysctl.set('net.ipv4.vs.drop_entry', '3');
    manyPasses(d);
    expect(entriesOf(d, '10.0.0.40', true)).to.have.length(0);
    expect(d.defense.counters.template).to.equal(1);
  });

  it('expired entries are reclaimed as simulated time passes: an uncapped flood holds one timeout of entries', () => {
    const d = makeDirector(DR_SETUP);
    let peak = 0;
    floodDirector(d, { frames: 100_000, perSecond: 1000 }, () => {
      if (d.conns.size > peak) peak = d.conns.size;
    });
    // SYN_RECV lasts 60 s: at 1000 new connections per second at most ~60k are alive
    expect(peak).to.be.within(59_000, 62_000);
    d.advance(100_000 + 61_000);
    expect(d.conns.size).to.equal(0);
    expect(accountingProblem(d)).to.equal('');
  });

  it('a SYN flood of 10^5 connections through `replay --max-conns` stays within the cap, every frame accounted for', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ipvs-flood-'));
    try {
      const cap = 10_000;
      const file = path.join(dir, 'flood.pcap');
      writeSynFlood(file, { frames: 100_000, perSecond: 5000 });
      const r = new Replay({
        setupText: `${DR_SETUP}sysctl -w net.ipv4.vs.drop_entry=1\n`,
        setupFile: 'setup',
        inputs: [{ path: file, iface: null }],
        maxConns: cap,
        sink: new NullSink(),
      });
      r.open();
      const s = await r.run();
      r.close();
      const f = s.fates;
      expect(s.framesIn).to.equal(100_000);
      expect(f.forwarded + f.answered + f.local + f.dropped + f.held).to.equal(100_000);
      expect(s.connections.peak).to.equal(cap);
      expect(s.connections.max).to.equal(cap);
      expect(s.connections.refusedTableFull).to.equal(s.reasons.dropped['ipvs-conn-table-full']);
      expect(s.connections.refusedTableFull + f.forwarded).to.equal(100_000);
      expect(s.connections.droppedByDefense.synRecv).to.be.greaterThan(0);
      expect(s.connections.droppedByDefense.total).to.equal(s.connections.droppedByDefense.synRecv);
      // one defence pass per simulated second while on: 20 s of flood, on from ~1.8 s (within 1024 entries of the cap)
      expect(s.connections.defensePasses).to.be.within(16, 20);
      // the table's storage is sized for the cap (or its initial room, when larger), not for the flood
      const fresh = new Director().conns.byteSize;
      expect(r.director.conns.byteSize).to.be.at.most(Math.max(fresh, cap * 200));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
