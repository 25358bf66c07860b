import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runLab, type LabResult } from '../../src/explain/lab/lab.js';
import { hopRows, labText, writeLabCaptures, type HopRow } from '../../src/explain/lab/render.js';
import { readFrames } from './helpers.js';

function rowsOf(r: LabResult, n: number): HopRow[] {
  return hopRows(r).filter((x) => x.request === n);
}

describe('lab', () => {
  for (const mode of ['dr', 'nat', 'tun'] as const) {
    it(`${mode}: round robin alternates rs1 and rs2, every request answered`, () => {
      const r = runLab({ mode, requests: 4, upload: 0 });
      expect(r.requests.map((q) => q.ok)).to.deep.equal([true, true, true, true]);
      const a = r.requests.map((q) => q.answeredBy);
      expect(new Set(a)).to.deep.equal(new Set(['rs1', 'rs2']));
      for (let i = 1; i < a.length; i++) expect(a[i]).to.not.equal(a[i - 1]);
      expect(r.vipArpOwner).to.equal('director');
      // each real server got two connections from the director
      expect(r.listing).to.match(/-> \S+:80\s+(Route|Masq|Tunnel)\s+1\s+0\s+2/);
    });
  }

  it('dr: the first request shows the director answering ARP for the VIP, the real servers ignoring it', () => {
    const r = runLab({ mode: 'dr', requests: 1 });
    const first = rowsOf(r, 1)[0];
    expect(first).to.deep.include({ from: 'client', to: 'all', leg: 'arp' });
    expect(first.what).to.equal('ARP request: who has 172.25.40.100? tell 172.25.40.250');
    const replies = rowsOf(r, 1).filter(
      (x) => x.leg === 'arp' && x.what.startsWith('ARP reply: 172.25.40.100'),
    );
    expect(replies.map((x) => x.from)).to.deep.equal(['director']);
    const notes = r.notes.map((n) => `${n.host} ${n.text}`);
    expect(notes).to.include.members([
      'rs1 does not answer ARP for 172.25.40.100 (arp_ignore=1: 172.25.40.100 is on lo, not on eth0)',
      'rs2 does not answer ARP for 172.25.40.100 (arp_ignore=1: 172.25.40.100 is on lo, not on eth0)',
    ]);
  });

  it('dr: only the MACs change between the client→director and director→real server hops', () => {
    const r = runLab({ mode: 'dr', requests: 1 });
    const syn = rowsOf(r, 1).filter((x) => x.what.startsWith('TCP SYN ') && x.leg === 'request');
    expect(syn.map((x) => `${x.from}→${x.to}`)).to.deep.equal(['client→director', 'director→rs2']);
    expect(syn[0].src).to.equal(syn[1].src);
    expect(syn[0].dst).to.equal('172.25.40.100:80');
    expect(syn[1].dst).to.equal('172.25.40.100:80');
    expect(syn[0].dstMac).to.not.equal(syn[1].dstMac);
    // the reply goes from the real server straight to the client, from the VIP
    const synAck = rowsOf(r, 1).find((x) => x.what.startsWith('TCP SYN,ACK'));
    expect(synAck).to.deep.include({ from: 'rs2', to: 'client', src: '172.25.40.100:80', leg: 'reply' });
  });

  it('dr: the director asks ARP for the chosen real server and holds the SYN until the answer', () => {
    const r = runLab({ mode: 'dr', requests: 2 });
    const rows = rowsOf(r, 1).map((x) => `${x.from}→${x.to} ${x.what.replace(/ \(\d+ bytes IP\)$/, '')}`);
    const i = rows.indexOf('client→director TCP SYN');
    expect(rows.slice(i, i + 4)).to.deep.equal([
      'client→director TCP SYN',
      'director→all ARP request: who has 172.25.40.3? tell 172.25.40.1',
      'rs2→director ARP reply: 172.25.40.3 is at 52:54:00:19:28:03',
      'director→rs2 TCP SYN',
    ]);
    // the second request goes to the other server, which must be resolved in turn
    expect(
      rowsOf(r, 2).some((x) => x.what === 'ARP request: who has 172.25.40.2? tell 172.25.40.1'),
    ).to.equal(true);
  });

  it('--arp-ignore 0: a real server wins the ARP race, the client talks to it directly, rr stops alternating', () => {
    const r = runLab({ mode: 'dr', requests: 4, arpIgnore: 0, seed: 1 });
    const replies = rowsOf(r, 1).filter((x) => x.what.startsWith('ARP reply: 172.25.40.100'));
    expect(replies.map((x) => x.from).sort()).to.deep.equal(['director', 'rs1', 'rs2']);
    const owner = r.vipArpOwner as string;
    expect(owner).to.match(/^rs[12]$/);
    expect(replies[0].from).to.equal(owner);
    expect(r.requests.map((q) => q.answeredBy)).to.deep.equal([owner, owner, owner, owner]);
    // the client's frames to the VIP go straight to that real server; the director forwards none
    const toVip = hopRows(r).filter((x) => x.from === 'client' && x.dst === '172.25.40.100:80');
    expect(toVip.length).to.be.greaterThan(0);
    expect(toVip.every((x) => x.to === owner)).to.equal(true);
    expect(hopRows(r).some((x) => x.from === 'director' && x.leg === 'request')).to.equal(false);
    expect(r.notes.some((n) => n.host === 'client' && n.text.includes('the first reply wins'))).to.equal(
      true,
    );
    expect(labText(r)).to.contain(`points to ${owner}, not to the director`);
  });

  it('--arp-ignore 0: with another seed the director may win the race (it is a race)', () => {
    const owners = new Set<string | null>();
    for (let seed = 1; seed <= 8; seed++)
      owners.add(runLab({ mode: 'dr', requests: 1, arpIgnore: 0, seed }).vipArpOwner);
    expect(owners.has('director')).to.equal(true);
    expect([...owners].some((o) => o !== 'director')).to.equal(true);
  });

  it('nat: replies go back through the director, which rewrites their source to the VIP', () => {
    const r = runLab({ mode: 'nat', requests: 1 });
    const synAck = rowsOf(r, 1).filter((x) => x.what.startsWith('TCP SYN,ACK'));
    expect(synAck.map((x) => `${x.from}→${x.to} ${x.src}`)).to.deep.equal([
      'rs2→director 192.168.2.3:80',
      'director→client 192.168.1.100:80',
    ]);
  });

  it("nat without the director as the real servers' gateway: replies bypass it and the client drops them", () => {
    const r = runLab({ mode: 'nat', requests: 2, rsGateway: 'router' });
    expect(r.requests.every((q) => !q.ok && q.answeredBy === null)).to.equal(true);
    expect(r.requests[0].reason).to.contain('connection timed out');
    const replies = hopRows(r).filter((x) => x.leg === 'reply');
    expect(replies.length).to.be.greaterThan(0);
    expect(replies.some((x) => x.from === 'director' || x.to === 'director')).to.equal(false);
    expect(
      replies.some((x) => x.from === 'router' && x.to === 'client' && x.src.startsWith('192.168.2.')),
    ).to.equal(true);
    expect(
      r.notes.some(
        (n) => n.host === 'client' && n.text.startsWith('drops a SYN,ACK segment from 192.168.2.'),
      ),
    ).to.equal(true);
  });

  it('tun: the director sends the request in an outer IPIP header from its address to the real server', () => {
    const r = runLab({ mode: 'tun', requests: 1, upload: 0 });
    const hop = rowsOf(r, 1).find((x) => x.from === 'director' && x.leg === 'request') as HopRow;
    expect(hop.src).to.equal('172.25.84.1');
    expect(hop.dst).to.match(/^172\.25\.84\.[23]$/);
    expect(hop.what).to.match(
      /^IPIP, inner 172\.25\.84\.250:40001 → 172\.25\.84\.100:80 TCP SYN \(64 bytes IP\)$/,
    );
  });

  it('tun: a 1500-byte packet is too big once encapsulated; the client lowers its path MTU and resends', () => {
    const r = runLab({ mode: 'tun', requests: 2 });
    const rows = rowsOf(r, 2);
    const big = rows.findIndex((x) => x.from === 'client' && x.what.endsWith('(1500 bytes IP)'));
    expect(big).to.be.greaterThan(-1);
    const icmp = rows.findIndex((x) => x.leg === 'icmp');
    expect(icmp).to.be.greaterThan(big);
    expect(rows[icmp]).to.deep.include({
      from: 'director',
      to: 'client',
      what: 'ICMP fragmentation needed, MTU 1480',
    });
    // nothing of 1500 bytes was tunnelled; the resent segment is 1480 bytes (1500 with the outer header)
    expect(rows.some((x) => x.from === 'director' && x.what.includes('1460 bytes'))).to.equal(false);
    const resent = rows.findIndex(
      (x, i) => i > icmp && x.from === 'client' && x.what.endsWith('(1480 bytes IP)'),
    );
    expect(resent).to.be.greaterThan(icmp);
    expect(r.requests[1].ok).to.equal(true);
    expect(
      r.notes.some((n) => n.host === 'client' && n.text.startsWith('learns the path MTU 1480')),
    ).to.equal(true);
  });

  it('tun with rp_filter=1: the real servers drop the decapsulated packets', () => {
    const r = runLab({ mode: 'tun', requests: 1, rpFilter: 1, upload: 0 });
    expect(r.requests[0].ok).to.equal(false);
    expect(r.notes.some((n) => n.text.includes('rp_filter=1, strict reverse-path check'))).to.equal(true);
  });

  it('--pcap-dir: one capture per interface, readable by our reader (and by tshark when installed)', () => {
    const r = runLab({ mode: 'nat', requests: 2 });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ipvs-lab-'));
    try {
      const files = writeLabCaptures(r, dir);
      expect(readdirSync(dir).sort()).to.deep.equal(
        [
          'client-eth0.pcap',
          'director-eth0.pcap',
          'director-eth1.pcap',
          'rs1-eth0.pcap',
          'rs2-eth0.pcap',
        ].sort(),
      );
      let total = 0;
      for (const f of files) {
        const frames = readFrames(f);
        expect(frames.length, f).to.equal(r.captures.get(path.basename(f, '.pcap'))?.length);
        total += frames.length;
      }
      // every frame is in its sender's capture and in each receiver's
      const expected = r.frames.reduce((n, f) => n + 1 + f.to.length, 0);
      expect(total).to.equal(expected);
      const tshark = spawnSync('tshark', ['-v'], { encoding: 'utf8' });
      if (tshark.status === 0) {
        const out = spawnSync(
          'tshark',
          ['-r', path.join(dir, 'client-eth0.pcap'), '-T', 'fields', '-e', 'tcp.flags.str'],
          {
            encoding: 'utf8',
          },
        );
        expect(out.status).to.equal(0);
        expect(out.stdout.split('\n').filter(Boolean).length).to.be.greaterThan(5);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--setup: another director set-up (wrr 1:3) changes who answers', () => {
    const setup = runLab({ mode: 'dr', requests: 1 })
      .directorSetup.replace('-s rr', '-s wrr')
      .replace('-r 172.25.40.2:80 -g', '-r 172.25.40.2:80 -g -w 3');
    const r = runLab({ mode: 'dr', requests: 4, setupText: setup });
    const a = r.requests.map((q) => q.answeredBy);
    expect(a.filter((x) => x === 'rs1')).to.have.length(3);
    expect(a.filter((x) => x === 'rs2')).to.have.length(1);
  });
});
