import { expect } from 'chai';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { Replay } from '../../src/replay/engine.js';
import { GenOptionError } from '../../src/gen/options.js';
import { main } from '../../src/cli/main.js';
import {
  LAB,
  SETUPS,
  TCP,
  decode,
  flowsOf,
  readFrames,
  rmDir,
  runGen,
  tmpDir,
  type Flow,
  type Frame,
} from './helpers.js';

const NAT = path.join(SETUPS, 'mixed-nat.setup');
const DR = path.join(SETUPS, 'mixed-dr.setup');
const VIPS = new Set(['172.16.1.100', '2001:db8:1::100']);

async function replay(setup: string, inputs: { iface: string | null; path: string }[], outDir: string) {
  mkdirSync(outDir, { recursive: true });
  const r = new Replay({ setupText: readFileSync(setup, 'utf8'), setupFile: setup, inputs, outDir });
  r.open();
  const s = await r.run();
  r.close();
  return { summary: s, director: r.director };
}

function tcpFlows(flows: Map<string, Flow>): Flow[] {
  return [...flows.values()].filter((f) => f.proto === 6);
}

describe('gen: traffic generator', function () {
  this.timeout(120000);
  let dir: string;
  beforeEach(() => {
    dir = tmpDir('t');
  });
  afterEach(() => rmDir(dir));

  describe('determinism', () => {
    for (const ext of ['pcap', 'pcapng']) {
      it(`the same seed gives a byte-identical ${ext} file, another seed a different one`, () => {
        const a = path.join(dir, `a.${ext}`);
        const b = path.join(dir, `b.${ext}`);
        const c = path.join(dir, `c.${ext}`);
        runGen(NAT, { file: a }, { seed: 7 });
        runGen(NAT, { file: b }, { seed: 7 });
        runGen(NAT, { file: c }, { seed: 8 });
        expect(Buffer.compare(readFileSync(a), readFileSync(b))).to.equal(0);
        expect(Buffer.compare(readFileSync(a), readFileSync(c))).to.not.equal(0);
      });
    }

    it('--out-dir writes one pcap per director interface, the same frames as the single capture', () => {
      const one = path.join(dir, 'one.pcapng');
      runGen(NAT, { file: one }, { seed: 3 });
      runGen(NAT, { dir: path.join(dir, 'out') }, { seed: 3 });
      expect(readdirSync(path.join(dir, 'out')).sort()).to.deep.equal(['client.pcap', 'server.pcap']);
      const all = readFrames(one);
      for (const name of ['client', 'server']) {
        const mine = readFrames(path.join(dir, 'out', `${name}.pcap`));
        const expected = all.filter((f) => f.iface === name);
        expect(mine.length).to.equal(expected.length).and.to.be.above(0);
        mine.forEach((f, i) => {
          expect(Buffer.compare(f.bytes, expected[i].bytes)).to.equal(0);
          expect(f.us).to.equal(expected[i].us);
        });
      }
    });

    it('timestamps are unique and increasing (a replay merging several files keeps the order)', () => {
      const f = path.join(dir, 'x.pcapng');
      runGen(NAT, { file: f }, { flows: 300, duration: 0.05 });
      const frames = readFrames(f);
      for (let i = 1; i < frames.length; i++) expect(frames[i].us).to.be.above(frames[i - 1].us);
    });
  });

  describe('frames', () => {
    for (const [name, setup, o] of [
      [
        'NAT, TCP and UDP, IPv4 and IPv6',
        NAT,
        { udpShare: 0.3, ipv6Share: 0.4, retransShare: 0.3, underwayShare: 0.2 },
      ],
      ['DR', DR, { udpShare: 0.3, ipv6Share: 0.4 }],
      ['--small', NAT, { small: true, udpShare: 0.3 }],
    ] as const) {
      it(`templates give the same bytes as frames built with Repr objects (${name})`, () => {
        const a = path.join(dir, 'tpl.pcapng');
        const b = path.join(dir, 'naive.pcapng');
        runGen(setup, { file: a }, { ...o, seed: 11 });
        runGen(setup, { file: b }, { ...o, seed: 11 }, true);
        const fa = readFrames(a);
        const fb = readFrames(b);
        expect(fa.length).to.equal(fb.length).and.to.be.above(100);
        fa.forEach((f, i) =>
          expect(Buffer.from(f.bytes).toString('hex'), `frame ${i}`).to.equal(
            Buffer.from(fb[i].bytes).toString('hex'),
          ),
        );
      });
    }

    it('every frame parses with no drop reason, correct checksums, and zero padding up to 60 bytes', () => {
      const f = path.join(dir, 'x.pcapng');
      runGen(
        NAT,
        { file: f },
        { udpShare: 0.3, ipv6Share: 0.3, retransShare: 0.2, underwayShare: 0.2, flows: 400 },
      );
      const frames = readFrames(f);
      let padded = 0;
      for (const fr of frames) {
        const d = decode(fr.bytes);
        if (d.trailer.length) padded++;
        expect(fr.origLen).to.equal(fr.bytes.length);
      }
      expect(padded).to.be.above(100);
    });

    it('--small makes every frame 60 bytes, IPv4 only', () => {
      const f = path.join(dir, 'x.pcapng');
      runGen(NAT, { file: f }, { small: true, udpShare: 0.3 });
      const frames = readFrames(f);
      expect(frames.length).to.be.above(500);
      for (const fr of frames) {
        expect(fr.bytes.length).to.equal(60);
        expect(decode(fr.bytes).af).to.equal(4);
      }
    });

    it('--frames N stops after exactly N frames', () => {
      const f = path.join(dir, 'x.pcap');
      const { summary } = runGen(DR, { file: f }, { maxFrames: 777, flows: 2000 });
      expect(readFrames(f).length).to.equal(777);
      expect(summary.frames).to.equal(777);
      expect(summary.flows.open).to.be.above(0);
    });
  });

  describe('flows', () => {
    it('NAT: every TCP flow is a complete exchange in both directions (handshake, data, ACKs, FIN or RST)', () => {
      const f = path.join(dir, 'x.pcapng');
      runGen(
        NAT,
        { file: f },
        { underwayShare: 0, retransShare: 0, udpShare: 0, ipv6Share: 0.3, rstShare: 0.2, flows: 300 },
      );
      const flows = tcpFlows(flowsOf(readFrames(f), VIPS));
      expect(flows.length).to.equal(300);
      let rst = 0;
      let serverFirst = 0;
      for (const fl of flows) {
        const c = fl.frames.filter((x) => x.dir === 0).map((x) => x.d);
        const s = fl.frames.filter((x) => x.dir === 1).map((x) => x.d);
        // handshake
        expect(c[0].flags).to.equal(TCP.SYN);
        expect(s[0].flags).to.equal(TCP.SYN | TCP.ACK);
        expect(s[0].ack).to.equal((c[0].seq + 1) >>> 0);
        expect(c[1].flags).to.equal(TCP.ACK);
        expect(c[1].ack).to.equal((s[0].seq + 1) >>> 0);
        // data in order on both sides, every byte acknowledged
        for (const side of [c, s]) {
          let next = (side[0].seq + 1) >>> 0;
          for (const d of side.slice(1)) {
            expect(d.seq, 'in-order sequence numbers').to.equal(next);
            next = (next + d.payLen + (d.flags & TCP.FIN ? 1 : 0)) >>> 0;
          }
        }
        const cData = c.reduce((n, d) => n + d.payLen, 0);
        const sData = s.reduce((n, d) => n + d.payLen, 0);
        expect(cData).to.be.above(0);
        expect(sData).to.be.above(0);
        const last = c[c.length - 1];
        if (last.flags & TCP.RST) {
          rst++;
          expect(c.filter((d) => d.flags & TCP.FIN)).to.have.length(0);
          expect(last.ack).to.equal((s[0].seq + 1 + sData) >>> 0);
        } else {
          const cFin = c.findIndex((d) => d.flags & TCP.FIN);
          const sFin = s.findIndex((d) => d.flags & TCP.FIN);
          expect(cFin).to.be.above(0);
          expect(sFin).to.be.above(0);
          const sFinFrame = fl.frames.find((x) => x.dir === 1 && x.d.flags & TCP.FIN);
          const cFinFrame = fl.frames.find((x) => x.dir === 0 && x.d.flags & TCP.FIN);
          if ((sFinFrame?.us ?? 0) < (cFinFrame?.us ?? 0)) serverFirst++;
          // the last frame acknowledges the other side's FIN
          const lastFrame = fl.frames[fl.frames.length - 1];
          const other = lastFrame.dir === 0 ? s : c;
          expect(lastFrame.d.flags & TCP.ACK).to.not.equal(0);
          expect(lastFrame.d.ack).to.equal(
            (other[0].seq + 1 + other.reduce((n, d) => n + d.payLen, 0) + 1) >>> 0,
          );
        }
      }
      expect(rst).to.be.within(30, 95);
      expect(serverFirst).to.be.above(20);
    });

    it('DR: only client frames, each flow a handshake, requests, ACKs of the response and FIN or RST', () => {
      const f = path.join(dir, 'x.pcapng');
      const { summary } = runGen(
        DR,
        { file: f },
        { underwayShare: 0, retransShare: 0, udpShare: 0, flows: 200 },
      );
      expect(summary.framesPerInterface.server).to.equal(0);
      const frames = readFrames(f);
      expect(frames.every((x) => x.iface === 'client')).to.equal(true);
      const flows = tcpFlows(flowsOf(frames, VIPS));
      expect(flows.length).to.equal(200);
      for (const fl of flows) {
        const c = fl.frames.map((x) => x.d);
        expect(fl.frames.every((x) => x.dir === 0)).to.equal(true);
        expect(c[0].flags).to.equal(TCP.SYN);
        expect(c[1].flags).to.equal(TCP.ACK);
        expect(c.some((d) => d.payLen > 0 && d.flags & TCP.PSH)).to.equal(true);
        const ends = c.filter((d) => d.flags & (TCP.FIN | TCP.RST));
        expect(ends).to.have.length(1);
        // the acknowledged server bytes never go back
        let ack = 0;
        for (const d of c.slice(1)) {
          expect(((d.ack - ack) | 0) >= 0 || ack === 0).to.equal(true);
          ack = d.ack;
        }
      }
    });

    it('retransmissions repeat a segment already sent; flows under way start without their handshake', () => {
      const f = path.join(dir, 'x.pcapng');
      const { summary } = runGen(
        NAT,
        { file: f },
        { retransShare: 1, underwayShare: 0.5, udpShare: 0, flows: 200 },
      );
      const flows = tcpFlows(flowsOf(readFrames(f), VIPS));
      let dupFlows = 0;
      let noSyn = 0;
      for (const fl of flows) {
        const c = fl.frames.filter((x) => x.dir === 0).map((x) => x.d);
        const s = fl.frames.filter((x) => x.dir === 1).map((x) => x.d);
        if (!(c[0]?.flags & TCP.SYN) && !(s[0]?.flags & TCP.SYN)) noSyn++;
        for (const side of [c, s]) {
          const seen = new Set<string>();
          for (const d of side)
            if (d.payLen > 0) {
              const k = `${d.seq}/${d.payLen}`;
              if (seen.has(k)) {
                dupFlows++;
                break;
              }
              seen.add(k);
            }
        }
      }
      expect(summary.flows.underway).to.equal(100);
      expect(noSyn).to.be.above(20);
      expect(dupFlows).to.be.above(100);
    });
  });

  describe('NAT replies and the shadow director', () => {
    it('replaying the capture forwards every reply, rewritten by the connection the director made; the director picks the same real servers', async () => {
      const f = path.join(dir, 'x.pcapng');
      const { summary } = runGen(
        NAT,
        { file: f },
        { udpShare: 0.3, ipv6Share: 0.3, underwayShare: 0.1, flows: 400 },
      );
      const frames = readFrames(f);
      const server = frames.filter((x) => x.iface === 'server').length;
      const { summary: rs, director } = await replay(NAT, [{ iface: null, path: f }], path.join(dir, 'out'));
      expect(rs.framesIn).to.equal(frames.length);
      expect(rs.fates.dropped).to.equal(0);
      // every frame from a real server goes out to its client; the director's own stack adds its answers
      // (RSTs to client segments of flows under way at the start, which have no connection)
      expect(rs.fates.forwarded).to.be.at.least(server);
      expect(rs.framesOutPerInterface.client).to.equal(server + rs.fates.answered);
      expect(rs.fates.answered).to.be.below(frames.length / 20);
      // and, but for flows under way at the start, from VIP:vport: the director matched its connection
      const out = flowsOf(readFrames(path.join(dir, 'out', 'client.pcap')), new Set(['none']), false);
      const leaked = [...out.values()].flatMap((fl) => fl.frames).filter((x) => !VIPS.has(x.d.src));
      expect(leaked.length).to.be.below(server / 10);
      const byDest: Record<string, number> = {};
      for (const svc of director.ipvs.services)
        for (const d of svc.dests) {
          const k = d.af === 6 ? `[${d.addr}]:${d.port}` : `${d.addr}:${d.port}`;
          if (d.stats.conns) byDest[k] = (byDest[k] ?? 0) + d.stats.conns;
        }
      expect(summary.perRealServer).to.deep.equal(byDest);
    });

    it('timed set-up commands (a real server quiesced, then one added mid-capture) take effect in the shadow as in the replay', async () => {
      const setup = path.join(dir, 'timed.setup');
      writeFileSync(
        setup,
        readFileSync(NAT, 'utf8') +
          '@0.5 ipvsadm -e -t 172.16.1.100:80 -r 10.1.0.3:8080 -m -w 0\n' +
          'ip neigh add 10.1.0.9 lladdr 02:00:00:00:0d:09 dev server\n' +
          '@1.2 ipvsadm -a -t 172.16.1.100:80 -r 10.1.0.9:8080 -m -w 5\n',
      );
      const f = path.join(dir, 'x.pcapng');
      const { summary } = runGen(setup, { file: f }, { udpShare: 0, ipv6Share: 0, flows: 300, duration: 2 });
      const { summary: rs, director } = await replay(
        setup,
        [{ iface: null, path: f }],
        path.join(dir, 'out'),
      );
      expect(rs.fates.dropped).to.equal(0);
      const byDest: Record<string, number> = {};
      for (const svc of director.ipvs.services)
        for (const d of svc.dests) if (d.stats.conns) byDest[`${d.addr}:${d.port}`] = d.stats.conns;
      expect(summary.perRealServer).to.deep.equal(byDest);
      expect(byDest['10.1.0.9:8080']).to.be.above(10);
    });

    it('the same holds when the replay reads one pcap per interface (--out-dir, --in IFACE=…)', async () => {
      const d = path.join(dir, 'gen');
      runGen(NAT, { dir: d }, { udpShare: 0.2, flows: 200 });
      const one = path.join(dir, 'one.pcapng');
      runGen(NAT, { file: one }, { udpShare: 0.2, flows: 200 });
      const a = await replay(
        NAT,
        [
          { iface: 'client', path: path.join(d, 'client.pcap') },
          { iface: 'server', path: path.join(d, 'server.pcap') },
        ],
        path.join(dir, 'o1'),
      );
      const b = await replay(NAT, [{ iface: null, path: one }], path.join(dir, 'o2'));
      expect(a.summary.fates).to.deep.equal(b.summary.fates);
      expect(a.summary.framesOutPerInterface).to.deep.equal(b.summary.framesOutPerInterface);
      expect(a.summary.fates.dropped).to.equal(0);
    });

    it('a NAT set-up whose clients the director cannot reach is refused with a clear message', () => {
      const setup = path.join(dir, 'bad.setup');
      const text = readFileSync(path.join(LAB, 'nat.setup'), 'utf8').replace(
        /^ip neigh add 192\.168\.1\.200.*$/m,
        '',
      );
      writeFileSync(setup, text);
      expect(() => runGen(setup, { file: path.join(dir, 'x.pcap') })).to.throw(
        GenOptionError,
        /without a route to the clients/,
      );
    });
  });

  describe('distributions (fast-check over options)', () => {
    const count = (frames: Frame[]) => {
      const flows = flowsOf(frames, VIPS);
      const perClient = new Map<string, number>();
      let udp = 0;
      let v6 = 0;
      for (const fl of flows.values()) {
        perClient.set(fl.client, (perClient.get(fl.client) ?? 0) + 1);
        if (fl.proto === 17) udp++;
        if (fl.client.includes(':')) v6++;
      }
      return { flows, perClient, udp, v6, n: flows.size };
    };
    const within = (k: number, n: number, p: number, what: string) => {
      const sd = Math.sqrt(n * p * (1 - p));
      expect(Math.abs(k - n * p), `${what}: ${k} of ${n}, expected share ${p}`).to.be.at.most(5 * sd + 2);
    };

    it('UDP and IPv6 shares, uniform clients', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 1e6 }),
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.integer({ min: 3, max: 40 }),
          (seed, udp, v6, clients) => {
            const f = path.join(dir, `u${seed}.pcapng`);
            const n = 600;
            runGen(
              DR,
              { file: f },
              {
                seed,
                flows: n,
                udpShare: udp,
                ipv6Share: v6,
                clients,
                underwayShare: 0,
                requests: { min: 1, max: 1 },
                responseSize: { min: 100, max: 2000 },
              },
            );
            const c = count(readFrames(f));
            expect(c.n).to.equal(n);
            within(c.udp, n, udp, 'UDP flows');
            within(c.v6, n, v6, 'IPv6 flows');
            // uniform over the clients of each family
            const v4n = n - c.v6;
            for (const [addr, k] of c.perClient) {
              const fam = addr.includes(':') ? c.v6 : v4n;
              within(k, fam, 1 / clients, `flows of client ${addr}`);
            }
          },
        ),
        { numRuns: 6, seed: 42 },
      );
    });

    it('zipf: the busiest client has the share 1/H(N, s); subnet: every client in one /24', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 1e6 }),
          fc.double({ min: 0.6, max: 2, noNaN: true }),
          fc.integer({ min: 10, max: 500 }),
          (seed, s, clients) => {
            const n = 800;
            const f = path.join(dir, `z${seed}.pcap`);
            runGen(
              DR,
              { file: f },
              {
                seed,
                flows: n,
                udpShare: 0,
                ipv6Share: 0,
                clients,
                clientDist: 'zipf',
                zipfS: s,
                underwayShare: 0,
                requests: { min: 1, max: 1 },
                responseSize: { min: 100, max: 2000 },
              },
            );
            const c = count(readFrames(f));
            let h = 0;
            for (let k = 1; k <= clients; k++) h += 1 / Math.pow(k, s);
            // the first client address is rank 1
            within(c.perClient.get('198.18.0.1') ?? 0, n, 1 / h, 'flows of the rank-1 client');
            within(
              c.perClient.get('198.18.0.2') ?? 0,
              n,
              1 / Math.pow(2, s) / h,
              'flows of the rank-2 client',
            );

            const g = path.join(dir, `s${seed}.pcap`);
            runGen(
              DR,
              { file: g },
              { seed, flows: n, udpShare: 0, ipv6Share: 0, clientDist: 'subnet', underwayShare: 0 },
            );
            const sub = count(readFrames(g));
            const nets = new Set([...sub.perClient.keys()].map((a) => a.split('.').slice(0, 3).join('.')));
            expect(nets.size).to.equal(1);
            expect(sub.perClient.size).to.be.within(200, 254);
          },
        ),
        { numRuns: 5, seed: 7 },
      );
    });

    it('RST share of TCP flows', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 1e6 }),
          fc.double({ min: 0, max: 1, noNaN: true }),
          (seed, rst) => {
            const n = 400;
            const f = path.join(dir, `r${seed}.pcap`);
            runGen(
              DR,
              { file: f },
              {
                seed,
                flows: n,
                udpShare: 0,
                ipv6Share: 0,
                rstShare: rst,
                underwayShare: 0,
                requests: { min: 1, max: 1 },
                responseSize: { min: 100, max: 1000 },
              },
            );
            const flows = tcpFlows(flowsOf(readFrames(f), VIPS));
            const k = flows.filter((fl) => fl.frames.some((x) => x.d.flags & TCP.RST)).length;
            within(k, n, rst, 'RST-ended flows');
          },
        ),
        { numRuns: 5, seed: 3 },
      );
    });
  });

  describe('ipvs-sim gen (command line)', () => {
    it('writes the capture and reports on stderr; bad options exit with status 2', async () => {
      const f = path.join(dir, 'cli.pcap');
      const err: string[] = [];
      const orig = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((s: string) => {
        err.push(String(s));
        return true;
      }) as typeof process.stderr.write;
      let ok: number;
      let bad: number;
      let noOut: number;
      try {
        ok = await main([
          'gen',
          '--setup',
          DR,
          '-o',
          f,
          '--flows',
          '20',
          '--client-dist',
          'zipf',
          '--rtt',
          '2-10',
        ]);
        bad = await main(['gen', '--setup', DR, '-o', f, '--udp', '2']);
        noOut = await main(['gen', '--setup', DR]);
      } finally {
        process.stderr.write = orig;
        process.exitCode = undefined;
      }
      expect(ok).to.equal(0);
      expect(readFrames(f).length).to.be.above(20);
      expect(err.join(''))
        .to.match(/frames: \d+/)
        .and.to.match(/flows: 20 /);
      expect(bad).to.equal(2);
      expect(err.join('')).to.match(/--udp must be between 0 and 1/);
      expect(noOut).to.equal(2);
    });
  });
});
