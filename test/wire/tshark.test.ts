/**
 * Cross-check of emitted frames with Wireshark's dissectors: frames built by
 * buildFrame() are written to a pcap and tshark must find every IPv4, TCP,
 * UDP, ICMP(v6), GRE and SCTP checksum good and nothing malformed. Skipped
 * when tshark is not installed (CI installs it).
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IpAddr } from '../../src/wire/addr.js';
import { IpProto } from '../../src/wire/ip.js';
import {
  ArpRepr,
  GreRepr,
  GueRepr,
  IcmpRepr,
  Icmpv6Repr,
  SctpRepr,
  UdpRepr,
  buildFrame,
  buildPacket,
  type LayerRepr,
} from '../../src/wire/repr.js';
import { TcpFlag } from '../../src/wire/tcp.js';
import { eth, ip4, ip6, syn } from './support/build.js';

function hasTshark(): boolean {
  return spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
}

function pcap(frames: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(262144, 16);
  gh.writeUInt32LE(1, 20);
  parts.push(gh);
  frames.forEach((f, i) => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(1700000000 + i, 0);
    h.writeUInt32LE(f.length, 8);
    h.writeUInt32LE(f.length, 12);
    parts.push(h, Buffer.from(f));
  });
  return Buffer.concat(parts);
}

describe('wire/repr cross-checked with tshark', function () {
  this.timeout(60000);
  before(function () {
    if (!hasTshark()) this.skip();
  });

  it('finds every checksum of emitted frames good and nothing malformed', () => {
    const data = new TextEncoder().encode('GET / HTTP/1.0\r\n\r\n');
    const opts = new Uint8Array([2, 4, 5, 180, 1, 1, 4, 2]);
    const quoted = buildPacket(
      [ip4({ ttl: 63 }), new UdpRepr({ sport: 45000, dport: 7777 })],
      new Uint8Array(8),
    );
    const quoted6 = buildPacket([ip6({ hopLimit: 63 }), syn()]).subarray(0, 48);
    const cases: [LayerRepr[], Uint8Array?][] = [
      [[eth(), ip4(), syn({ options: opts })]],
      [
        [eth(), ip4({ options: new Uint8Array([1, 1, 1, 0]) }), syn({ flags: TcpFlag.PSH | TcpFlag.ACK })],
        data,
      ],
      [
        [
          eth([
            { tpid: 0x88a8, pcp: 0, dei: 0, vid: 10 },
            { tpid: 0x8100, pcp: 3, dei: 0, vid: 20 },
          ]),
          ip4(),
          syn(),
        ],
      ],
      [[eth(), ip4(), new UdpRepr({ sport: 5000, dport: 7777 })], new Uint8Array(33).fill(7)],
      [
        [
          eth(),
          ip4({ src: IpAddr.parse('172.25.40.100'), dst: IpAddr.parse('172.25.39.10') }),
          new IcmpRepr({ type: 3, code: 3 }),
        ],
        quoted,
      ],
      [[eth(), ip4(), IcmpRepr.echo(8, 0x77, 1)], new Uint8Array(9).fill(1)],
      [[eth(), ip6(), syn()], data],
      [
        [
          eth(),
          ip6({ extHeaders: [{ type: IpProto.HOPOPTS, data: new Uint8Array([1, 4, 0, 0, 0, 0]) }] }),
          new UdpRepr({ sport: 1, dport: 7777 }),
        ],
        data,
      ],
      [[eth(), ip6(), new Icmpv6Repr({ type: 2, rest: 1280 })], quoted6],
      [[eth(), ip4(), ip4(), syn()]],
      [[eth(), ip6(), ip6(), syn()]],
      [[eth(), ip4(), new GreRepr({ checksumPresent: true }), ip4(), syn()], data],
      [[eth(), ip4(), new GreRepr({ key: 5, seq: 9 }), ip6(), syn()]],
      [[eth(), ip4(), new UdpRepr({ sport: 33000, dport: 6080 }), new GueRepr(), ip4(), syn()]],
      [
        [
          eth(),
          ip4(),
          new SctpRepr({
            sport: 5000,
            dport: 5001,
            vtag: 7,
            chunks: new Uint8Array([10, 0, 0, 8, 1, 2, 3, 4]),
          }),
        ],
      ],
      [
        [
          eth(),
          new ArpRepr({
            op: 1,
            sha: 0x020000000201,
            spa: IpAddr.parse('10.0.0.1'),
            tpa: IpAddr.parse('10.0.0.2'),
          }),
        ],
      ],
    ];
    const frames = cases.map(([layers, payload]) => buildFrame(layers, payload));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ipvs-wire-'));
    try {
      const file = path.join(dir, 'emitted.pcap');
      writeFileSync(file, pcap(frames));
      const fields = [
        'ip.checksum.status',
        'tcp.checksum.status',
        'udp.checksum.status',
        'icmp.checksum.status',
        'icmpv6.checksum.status',
        'gre.checksum.status',
        'sctp.checksum.status',
      ];
      const out = execFileSync(
        'tshark',
        [
          '-r',
          file,
          '-o',
          'ip.check_checksum:TRUE',
          '-o',
          'tcp.check_checksum:TRUE',
          '-o',
          'udp.check_checksum:TRUE',
          '-o',
          'sctp.checksum:CRC-32C',
          '-T',
          'fields',
          '-E',
          'separator=|',
          '-e',
          'frame.number',
          '-e',
          '_ws.malformed',
          ...fields.flatMap((f) => ['-e', f]),
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
      );
      const lines = out.trim().split('\n');
      expect(lines.length).to.equal(frames.length);
      let checked = 0;
      for (const line of lines) {
        const [num, malformed, ...statuses] = line.split('|');
        expect(malformed, `frame ${num} malformed`).to.equal('');
        for (const s of statuses.flatMap((x) => (x ? x.split(',') : []))) {
          expect(s, `frame ${num}: ${line}`).to.equal('1'); // 1 = good
          checked++;
        }
      }
      expect(checked).to.be.greaterThan(frames.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
