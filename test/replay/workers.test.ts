/**
 * `replay --workers N`: a replay sharded over worker threads by client
 * address (src/replay/workers.ts, src/replay/shard.ts) against the same
 * replay in one thread. With hash schedulers (sh, dh, mh) the outputs hold
 * the same frames, per interface, flow by flow in the same order; with
 * state-dependent schedulers every frame is still accounted for.
 */
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Replay, type ReplayInputSpec, type ReplaySummary } from '../../src/replay/engine.js';
import { ShardedReplay } from '../../src/replay/workers.js';
import { Sharder, NEIGHBOUR } from '../../src/replay/shard.js';
import { listState } from '../../src/replay/listing.js';
import { runIpvsadmListing } from '../../src/control/ipvsadm/index.js';
import { Generator } from '../../src/gen/generator.js';
import { createPcapWriter } from '../../src/capture/writer.js';
import { PacketInfo, parseFrame } from '../../src/wire/parse.js';
import {
  ArpRepr,
  EthernetRepr,
  IcmpRepr,
  Ipv4Repr,
  TcpRepr,
  buildFrame,
  type LayerRepr,
} from '../../src/wire/repr.js';
import { IpAddr } from '../../src/wire/addr.js';
import { SETUPS, readFrames, testOptions, type Frame } from '../gen/helpers.js';

const MIXED_DR = readFileSync(path.join(SETUPS, 'mixed-dr.setup'), 'utf8');
const MIXED_NAT = readFileSync(path.join(SETUPS, 'mixed-nat.setup'), 'utf8');

/** Every service of a set-up switched to scheduler `s`. */
const withSched = (text: string, s: string): string => text.replace(/ -s \w+/g, ` -s ${s}`);
/** DR real servers turned into TUN (ipip) ones. */
const asTun = (text: string): string => text.replace(/ -g( |$)/gm, ' -i$1');

let tmp: string;

function generate(setupText: string, name: string, o: Parameters<typeof testOptions>[0] = {}): string {
  const setupFile = path.join(tmp, `${name}.setup`);
  writeFileSync(setupFile, setupText);
  const file = path.join(tmp, `${name}.pcapng`);
  new Generator({ setupText, setupFile, options: testOptions(o), output: { file } }).run();
  return file;
}

interface RunResult {
  summary: ReplaySummary;
  /** Output frames per interface name. */
  out: Map<string, Frame[]>;
  listing: string;
}

async function replay(
  setupText: string,
  inputs: ReplayInputSpec[],
  workers: number,
  extra: { maxConns?: number; list?: string[] } = {},
): Promise<RunResult> {
  const outDir = mkdtempSync(path.join(tmp, `out-${workers}-`));
  const cfg = { setupText, setupFile: 'test.setup', inputs, outDir, maxConns: extra.maxConns ?? 0 };
  const list = extra.list ?? ['-L', '-n', '--stats'];
  let summary: ReplaySummary;
  let listing: string;
  if (workers === 1) {
    const r = new Replay(cfg);
    r.open();
    try {
      summary = await r.run();
    } finally {
      r.close();
    }
    listing = runIpvsadmListing(list, listState(r.director)).stdout;
  } else {
    const r = new ShardedReplay({ ...cfg, workers, listing: true });
    r.open();
    try {
      summary = await r.run();
    } finally {
      r.close();
    }
    listing = runIpvsadmListing(list, r.listState()).stdout;
  }
  const out = new Map<string, Frame[]>();
  for (const f of readdirSync(outDir).sort())
    out.set(f.replace(/\.pcap$/, ''), readFrames(path.join(outDir, f)));
  return { summary, out, listing };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const info = new PacketInfo();

/** A flow key of an output frame (its five-tuple, inner header for IPIP), or '' for a non-IP frame. */
function flowKey(b: Uint8Array): string {
  if (parseFrame(b, 0, b.length, b.length, info) !== 0 || (info.af !== 4 && info.af !== 6)) return '';
  let s = `${info.proto} ${[...info.saddr].join('.')} ${info.sport} ${[...info.daddr].join('.')} ${info.dport}`;
  if (info.proto === 4 || info.proto === 41) s += ` in ${hex(b.subarray(info.l4Off, info.l4Off + 40))}`;
  return s;
}

/**
 * An ICMPv4 message the director generates itself (e.g. fragmentation needed
 * for a TUN packet grown past the MTU) takes its IP ID from the worker's own
 * counter: the ID and the header checksum are masked out.
 */
function ownId(b: Uint8Array): Uint8Array {
  if (b.length < 34 || b[12] !== 0x08 || b[13] !== 0x00 || b[23] !== 1) return b;
  const c = b.slice();
  c[18] = c[19] = c[24] = c[25] = 0;
  return c;
}

/** The outputs hold the same frames per interface, and each flow's frames in the same order. */
function expectSameFrames(a: RunResult, b: RunResult): void {
  expect([...b.out.keys()]).to.deep.equal([...a.out.keys()]);
  for (const [iface, fa] of a.out) {
    const fb = b.out.get(iface) as Frame[];
    expect(fb.length, `${iface}: frames`).to.equal(fa.length);
    const bag = (fs: Frame[]): string[] => fs.map((f) => `${f.us} ${hex(ownId(f.bytes))}`).sort();
    expect(bag(fb), `${iface}: the same frames`).to.deep.equal(bag(fa));
    const perFlow = (fs: Frame[]): Map<string, string[]> => {
      const m = new Map<string, string[]>();
      for (const f of fs) {
        const k = flowKey(f.bytes);
        if (!m.has(k)) m.set(k, []);
        (m.get(k) as string[]).push(hex(ownId(f.bytes)));
      }
      return m;
    };
    const pa = perFlow(fa);
    const pb = perFlow(fb);
    for (const [k, v] of pa) expect(pb.get(k), `${iface}: order of flow ${k}`).to.deep.equal(v);
    // the merge keeps time order
    for (let i = 1; i < fb.length; i++) expect(fb[i].us).to.be.at.least(fb[i - 1].us);
  }
}

function fateSum(s: ReplaySummary): number {
  const f = s.fates;
  return f.forwarded + f.answered + f.local + f.dropped + f.held;
}

describe('replay --workers: a replay sharded over worker threads', function () {
  this.timeout(120_000);
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ipvs-workers-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  for (const [mode, text] of [
    ['DR', MIXED_DR],
    ['NAT', MIXED_NAT],
    ['TUN', asTun(MIXED_DR)],
  ] as const) {
    for (const sched of ['sh', 'mh', 'dh']) {
      it(`${mode}, ${sched}: 2 and 3 workers send exactly the frames one thread sends, flow by flow in order`, async () => {
        const setup = withSched(text, sched);
        const cap = generate(setup, `${mode}-${sched}`, { flows: 300, clients: 120, seed: 7 });
        const inputs = [{ path: cap, iface: null }];
        const one = await replay(setup, inputs, 1);
        expect(one.summary.framesOut).to.be.greaterThan(1000);
        for (const n of [2, 3]) {
          const many = await replay(setup, inputs, n);
          expect(many.summary.framesIn).to.equal(one.summary.framesIn);
          expect(many.summary.fates).to.deep.equal(one.summary.fates);
          expect(many.summary.reasons).to.deep.equal(one.summary.reasons);
          expect(many.summary.framesOutPerInterface).to.deep.equal(one.summary.framesOutPerInterface);
          expectSameFrames(one, many);
          // the counters of `ipvsadm -Ln --stats` are the sums of the workers'
          expect(many.listing).to.equal(one.listing);
        }
      });
    }
  }

  it('persistence (-p, -M /24): every client of a template lands on one worker, so the same real servers are picked', async () => {
    const setup = withSched(MIXED_NAT, 'rr').replace(
      /^(ipvsadm -A -t 172\.16\.1\.100:80 -s rr)$/m,
      '$1 -p 300 -M 255.255.255.0',
    );
    expect(setup).to.contain('-p 300 -M 255.255.255.0');
    const cap = generate(setup, 'persist', { flows: 200, clients: 60, seed: 11, ipv6Share: 0, udpShare: 0 });
    const inputs = [{ path: cap, iface: null }];
    const one = await replay(setup, inputs, 1);
    const two = await replay(setup, inputs, 2);
    // one /24 of clients: one template, one worker, rr's first pick for everyone
    expectSameFrames(one, two);
  });

  it('rr and wlc (state per worker): every frame is accounted for and the totals agree', async () => {
    const cap = generate(MIXED_NAT, 'rr', { flows: 300, clients: 150, seed: 5 });
    const inputs = [{ path: cap, iface: null }];
    const one = await replay(MIXED_NAT, inputs, 1);
    const two = await replay(MIXED_NAT, inputs, 2);
    expect(two.summary.framesIn).to.equal(one.summary.framesIn);
    expect(fateSum(two.summary)).to.equal(two.summary.framesIn);
    expect(two.summary.fates).to.deep.equal(one.summary.fates);
    expect(two.summary.framesOut).to.equal(one.summary.framesOut);
    const conns = (l: string): number => Number(/^TCP {2}172\.16\.1\.100:80 +(\d+)/m.exec(l)?.[1]);
    expect(conns(two.listing)).to.equal(conns(one.listing));
    expect(conns(one.listing)).to.be.greaterThan(0);
  });

  it("-Lnc after a sharded replay lists every worker's connections", async () => {
    const setup = withSched(MIXED_DR, 'sh');
    const cap = generate(setup, 'lnc', { flows: 100, clients: 50, seed: 9 });
    const inputs = [{ path: cap, iface: null }];
    const rows = (l: string): string[] => l.split('\n').slice(2).filter(Boolean).sort();
    const one = await replay(setup, inputs, 1, { list: ['-L', '-n', '-c'] });
    const two = await replay(setup, inputs, 2, { list: ['-L', '-n', '-c'] });
    expect(rows(one.listing).length).to.be.greaterThan(10);
    expect(rows(two.listing)).to.deep.equal(rows(one.listing));
  });

  describe('neighbour resolution: ARP is observed by every worker', () => {
    // the DR set-up without the real servers' neighbour entries: the director must ask for them
    const setup = withSched(MIXED_DR, 'sh').replace(/^ip neigh add 10\.1\.0\.\d .*\n/gm, '');
    const DIR_CLIENT_MAC = 0x020000000101;
    const DIR_SERVER_MAC = 0x020000000201;
    const ROUTER_MAC = 0x020000000e01;
    const rsMac = (i: number): number => 0x020000000d00 + i;

    const eth = (src: number, dst: number): EthernetRepr => new EthernetRepr({ src, dst });
    function syn(client: string, sport: number): Uint8Array {
      const layers: LayerRepr[] = [
        eth(ROUTER_MAC, DIR_CLIENT_MAC),
        new Ipv4Repr({ src: IpAddr.parse(client), dst: IpAddr.parse('172.16.1.100'), id: 1, df: true }),
        new TcpRepr({ sport, dport: 80, flags: 0x02, seq: 1000, ack: 0, window: 64240 }),
      ];
      return buildFrame(layers, undefined, { pad: true });
    }
    function arpReply(i: number): Uint8Array {
      return buildFrame(
        [
          eth(rsMac(i), DIR_SERVER_MAC),
          new ArpRepr({
            op: 2,
            sha: rsMac(i),
            spa: IpAddr.parse(`10.1.0.${i}`),
            tha: DIR_SERVER_MAC,
            tpa: IpAddr.parse('10.1.0.1'),
          }),
        ],
        undefined,
        { pad: true },
      );
    }

    it('packets held for a real server are released on every worker when its ARP reply arrives', async () => {
      const file = path.join(tmp, 'arp.pcap');
      const w = createPcapWriter(file);
      const put = (b: Uint8Array, ms: number): void =>
        w.write(0, b, 0, b.length, b.length, 1_700_000_000 + Math.floor(ms / 1000), (ms % 1000) * 1e6);
      for (let k = 0; k < 40; k++) put(syn(`198.51.100.${k + 1}`, 20000 + k), k);
      for (let i = 2; i <= 4; i++) put(arpReply(i), 100 + i);
      for (let k = 0; k < 40; k++) put(syn(`198.51.100.${k + 1}`, 30000 + k), 200 + k);
      w.close();
      const inputs = [{ path: file, iface: null }];
      const one = await replay(setup, inputs, 1);
      expect(one.summary.fates.forwarded).to.equal(80);
      expect(one.summary.reasons.dropped ?? {}).to.not.have.property('neighbour-unresolved');
      for (const n of [2, 3]) {
        const many = await replay(setup, inputs, n);
        // observed, not counted twice: one fate per input frame
        expect(many.summary.framesIn).to.equal(one.summary.framesIn);
        expect(many.summary.fates).to.deep.equal(one.summary.fates);
        // the forwarded frames are the same; each worker sent its own ARP requests
        const ip = (r: RunResult): string[] =>
          (r.out.get('server') as Frame[])
            .filter((f) => f.bytes[12] === 0x08 && f.bytes[13] === 0x00)
            .map((f) => hex(f.bytes))
            .sort();
        expect(ip(many)).to.deep.equal(ip(one));
        expect(ip(one)).to.have.length(80);
      }
    });
  });

  describe('Sharder: which worker a frame belongs to', () => {
    const natSetup = withSched(MIXED_NAT, 'sh');
    let sharder: Sharder;
    before(() => {
      const r = new Replay({ setupText: natSetup, setupFile: 'nat.setup', inputs: [] });
      sharder = new Sharder(r.director, 8);
    });
    const shard = (b: Uint8Array): number => sharder.shardOf(b, 0, b.length);
    const ip4 = (src: string, dst: string, proto?: number): Ipv4Repr =>
      new Ipv4Repr({
        src: IpAddr.parse(src),
        dst: IpAddr.parse(dst),
        id: 1,
        df: false,
        ...(proto ? { proto } : {}),
      });
    const tcp = (sport: number, dport: number): TcpRepr =>
      new TcpRepr({ sport, dport, flags: 0x10, seq: 1, ack: 1, window: 100 });
    const f = (layers: LayerRepr[], payload?: Uint8Array): Uint8Array =>
      buildFrame([new EthernetRepr({ src: 1, dst: 2 }), ...layers], payload, { pad: false });

    it('a NAT reply from a real server goes with its client, not with the real server', () => {
      const clients = ['198.51.100.7', '203.0.113.9', '192.0.2.200', '198.51.100.77'];
      for (const c of clients) {
        const toVip = shard(f([ip4(c, '172.16.1.100'), tcp(40000, 80)]));
        const reply = shard(f([ip4('10.1.0.3', c), tcp(8080, 40000)]));
        expect(reply, c).to.equal(toVip);
      }
      // different clients spread over the workers
      const seen = new Set<number>();
      for (let k = 1; k < 200; k++) seen.add(shard(f([ip4(`198.51.${k}.1`, '172.16.1.100'), tcp(1, 80)])));
      expect(seen.size).to.equal(8);
    });

    it('an ICMP error goes with the client of the packet it quotes', () => {
      const c = '198.51.100.42';
      const owner = shard(f([ip4(c, '172.16.1.100'), tcp(40000, 80)]));
      // a router near the client: port unreachable about a NAT reply the director sent to the client
      const quoted = (src: string, dst: string, sport: number, dport: number): Uint8Array =>
        f([ip4(src, dst), tcp(sport, dport)]).subarray(14);
      const quotedReply = quoted('172.16.1.100', c, 80, 40000);
      const err1 = f(
        [ip4('192.0.2.254', '172.16.1.100', 1), new IcmpRepr({ type: 3, code: 3 })],
        quotedReply,
      );
      expect(shard(err1)).to.equal(owner);
      // a real server: unreachable about a packet the director forwarded to it (from the client)
      const quotedFwd = quoted(c, '10.1.0.3', 40000, 8080);
      const err2 = f([ip4('10.1.0.3', c, 1), new IcmpRepr({ type: 3, code: 3 })], quotedFwd);
      expect(shard(err2)).to.equal(owner);
    });

    it('ARP is NEIGHBOUR (observed by all, owned by worker 0)', () => {
      const a = buildFrame(
        [
          new EthernetRepr({ src: 1, dst: 2 }),
          new ArpRepr({
            op: 2,
            sha: 1,
            spa: IpAddr.parse('10.1.0.2'),
            tha: 2,
            tpa: IpAddr.parse('10.1.0.1'),
          }),
        ],
        undefined,
        { pad: true },
      );
      expect(shard(a)).to.equal(NEIGHBOUR);
    });
  });
});
