/**
 * sched-report's four measures on small crafted captures whose answer is
 * known: shares (rr alternates exactly, wrr deals its weights exactly, a
 * timed weight change moves the target share), imbalance (load per weight
 * sampled every second), disruption (mh moves few flows, rr and the
 * kernel's sh many), persistence hit rate.
 */
import { expect } from 'chai';
import { replayWith, schedReport, type SchedReportConfig } from '../../src/report/sched_report.js';
import { parseChange } from '../../src/report/change.js';
import { clientAddr, connect, labSetup, rip, script, tick, TempDir, writeCapture, VIP } from './helpers.js';

describe('sched-report measures', () => {
  let tmp: TempDir;
  before(() => {
    tmp = new TempDir();
  });
  after(() => tmp.remove());

  function cfg(
    setupText: string,
    capture: string,
    extra: Partial<SchedReportConfig> = {},
  ): SchedReportConfig {
    return { setupText, setupFile: 'test.setup', inputs: [{ iface: null, path: capture }], ...extra };
  }

  /** n clients, one connection each, 10 ms apart. */
  function clients(name: string, n: number): string {
    const s = script();
    for (let k = 0; k < n; k++) connect(s, `${clientAddr(k)}:${20000 + k}`).wait(0.008);
    return writeCapture(tmp, name, s);
  }

  describe('connections per real server', () => {
    it('rr alternates exactly over three equal servers: 10 connections each, share = target = 1/3', async () => {
      const cap = clients('rr.pcap', 30);
      const c = cfg(labSetup({ weights: [1, 1, 1] }), cap, { schedulers: ['rr'], disruption: false });
      const run = await replayWith(c, 'rr', [], false);
      expect(run.n).to.equal(30);
      const firstThree = new Set([run.server[0], run.server[1], run.server[2]]);
      expect(firstThree.size).to.equal(3);
      for (let i = 3; i < run.n; i++) expect(run.server[i], `connection ${i}`).to.equal(run.server[i - 3]);
      const r = await schedReport(c);
      const v = r.schedulers[0].services[0];
      expect(v.connections).to.equal(30);
      expect(v.servers.map((s) => s.server)).to.deep.equal([rip(0), rip(1), rip(2)]);
      for (const s of v.servers) {
        expect(s.connections).to.equal(10);
        expect(s.share).to.be.closeTo(1 / 3, 1e-12);
        expect(s.targetShare).to.be.closeTo(1 / 3, 1e-12);
        expect(s.deviation).to.be.closeTo(0, 1e-12);
      }
      expect(v.maxDeviation).to.be.closeTo(0, 1e-12);
    });

    it('wrr deals weights 1, 2, 3 exactly (10, 20, 30 of 60) while rr ignores them (20 each: 1/6 off)', async () => {
      const cap = clients('wrr.pcap', 60);
      const r = await schedReport(
        cfg(labSetup({ weights: [1, 2, 3] }), cap, { schedulers: ['wrr', 'rr'], disruption: false }),
      );
      const [wrr, rr] = r.schedulers.map((s) => s.services[0]);
      expect(wrr.servers.map((s) => s.connections)).to.deep.equal([10, 20, 30]);
      expect(wrr.servers.map((s) => s.targetShare)).to.deep.equal([1 / 6, 2 / 6, 3 / 6]);
      expect(wrr.maxDeviation).to.be.closeTo(0, 1e-12);
      expect(rr.servers.map((s) => s.connections)).to.deep.equal([20, 20, 20]);
      expect(rr.servers[0].deviation).to.be.closeTo(1 / 3 - 1 / 6, 1e-12);
      expect(rr.servers[2].deviation).to.be.closeTo(1 / 3 - 1 / 2, 1e-12);
      expect(rr.maxDeviation).to.be.closeTo(1 / 6, 1e-12);
    });

    it('the target share follows a timed weight change: 20 connections at 1:1, then 20 at 1:3', async () => {
      const s = script();
      for (let k = 0; k < 20; k++) connect(s, `${clientAddr(k)}:${20000 + k}`);
      s.wait(5);
      for (let k = 20; k < 40; k++) connect(s, `${clientAddr(k)}:${20000 + k}`);
      const cap = writeCapture(tmp, 'weights.pcap', s);
      const setup = labSetup({
        weights: [1, 1],
        extra: [`@3 ipvsadm -e -t ${VIP}:80 -r ${rip(1)} -g -w 3`],
      });
      const r = await schedReport(cfg(setup, cap, { schedulers: ['wrr'], disruption: false }));
      const v = r.schedulers[0].services[0];
      expect(v.servers.map((x) => x.connections)).to.deep.equal([15, 25]);
      expect(v.servers[0].targetShare).to.be.closeTo((20 * 0.5 + 20 * 0.25) / 40, 1e-12);
      expect(v.servers[1].targetShare).to.be.closeTo((20 * 0.5 + 20 * 0.75) / 40, 1e-12);
      expect(v.maxDeviation).to.be.closeTo(0, 1e-12);
      // the weight listed is the configured one
      expect(v.servers.map((x) => x.weight)).to.deep.equal([1, 1]);
    });

    it('counts every connection when a timed ipvsadm -Z zeroes the counters mid-run', async () => {
      const s = script();
      for (let k = 0; k < 12; k++) connect(s, `${clientAddr(k)}:${20000 + k}`).wait(0.5);
      const cap = writeCapture(tmp, 'zero.pcap', s);
      const setup = labSetup({ weights: [1, 1, 1], extra: ['@2 ipvsadm -Z'] });
      const r = await schedReport(cfg(setup, cap, { schedulers: ['rr'], disruption: false }));
      expect(r.schedulers[0].newConnections).to.equal(12);
      expect(r.schedulers[0].services[0].servers.map((x) => x.connections)).to.deep.equal([4, 4, 4]);
    });
  });

  describe('imbalance', () => {
    // 12 established connections per second; a frame that makes no connection marks each whole second
    function steady(name: string, seconds: number): string {
      const s = script();
      tick(s); // time 0
      let k = 0;
      for (let sec = 0; sec < seconds; sec++) {
        s.wait(0.2);
        for (let i = 0; i < 12; i++, k++) connect(s, `${clientAddr(k)}:${20000 + (k % 40000)}`);
        s.wait(0.78); // the tick lands just after the whole second
        tick(s);
      }
      return writeCapture(tmp, name, s);
    }

    it('is max/mean of overhead per weight each second: rr on weights 1,1,2 gives 1.2, wrr 1.0', async () => {
      const cap = steady('steady.pcap', 5);
      const r = await schedReport(
        cfg(labSetup({ weights: [1, 1, 2] }), cap, { schedulers: ['rr', 'wrr'], disruption: false }),
      );
      const [rr, wrr] = r.schedulers.map((s) => s.services[0].imbalance);
      expect(rr.samples.map(([t]) => t)).to.deep.equal([1, 2, 3, 4, 5]);
      for (const [, v] of rr.samples) expect(v).to.be.closeTo(1.2, 1e-12);
      expect(rr.peak).to.be.closeTo(1.2, 1e-12);
      expect(rr.mean).to.be.closeTo(1.2, 1e-12);
      for (const [, v] of wrr.samples) expect(v).to.be.closeTo(1, 1e-12);
      expect(wrr.peak).to.be.closeTo(1, 1e-12);
    });

    it('samples at the chosen interval, and a sample without load is null (left out of peak and mean)', async () => {
      const s = script();
      tick(s);
      s.wait(2.5);
      connect(s, `${clientAddr(1)}:2000`);
      s.wait(1);
      tick(s);
      const cap = writeCapture(tmp, 'idle.pcap', s);
      const r = await schedReport(
        cfg(labSetup({ weights: [1, 1] }), cap, {
          schedulers: ['rr'],
          disruption: false,
          sampleSeconds: 0.5,
        }),
      );
      const im = r.schedulers[0].services[0].imbalance;
      // frames at 0, 2.5 (the connection), 3.502: samples at 2.5 and 3.5 (none before: no frame)
      expect(im.samples).to.deep.equal([
        [2.5, 2],
        [3.5, 2],
      ]);
      // no connection at all: the sample at 1 s has no load
      const q = script();
      tick(q).wait(1.5);
      tick(q);
      const quiet = writeCapture(tmp, 'quiet.pcap', q);
      const r2 = await schedReport(
        cfg(labSetup({ weights: [1, 1] }), quiet, { schedulers: ['rr'], disruption: false }),
      );
      const im2 = r2.schedulers[0].services[0].imbalance;
      expect(im2.samples).to.deep.equal([[1, null]]);
      expect(im2.peak).to.equal(null);
      expect(im2.mean).to.equal(null);
    });
  });

  describe('disruption', () => {
    let cap: string;
    before(() => {
      // 400 clients connect once before the change (at 5 s) and once after it
      const s = script();
      for (let k = 0; k < 400; k++) connect(s, `${clientAddr(k)}:${20000 + k}`);
      s.wait(6);
      for (let k = 0; k < 400; k++) connect(s, `${clientAddr(k)}:${30000 + k}`);
      cap = writeCapture(tmp, 'disrupt.pcap', s);
    });

    it('removing one of four servers: mh moves almost none of the other flows, rr two thirds', async () => {
      const r = await schedReport(
        cfg(labSetup({ weights: [1, 1, 1, 1] }), cap, {
          schedulers: ['mh', 'rr'],
          changes: [parseChange('remove', `${rip(3)}@5`)],
        }),
      );
      expect(r.change?.commands).to.deep.equal([`@5 ipvsadm -d -t ${VIP}:80 -r ${rip(3)}`]);
      expect(r.change?.removed).to.deep.equal([`TCP ${VIP}:80 -> ${rip(3)}`]);
      const [mh, rr] = r.schedulers.map((s) => s.services[0].disruption!);
      // every flow existed before the change: each connection after it is compared or excluded
      for (const d of [mh, rr]) expect(d.compared + d.excluded + d.unmatched).to.equal(400);
      expect(mh.excluded).to.be.within(60, 140); // the removed server's clients (about a quarter)
      expect(mh.fraction!).to.be.below(0.03);
      expect(rr.excluded).to.equal(100);
      expect(rr.fraction!).to.be.closeTo(2 / 3, 0.02);
      // one connection per flow after the change: flows and connections agree
      expect(mh.flowFraction).to.equal(mh.fraction);
    });

    it("the kernel's sh re-deals all 256 buckets: about (n-2)/(n-1) of the other flows move", async () => {
      const r = await schedReport(
        cfg(labSetup({ weights: [1, 1, 1, 1] }), cap, {
          schedulers: ['sh'],
          changes: [parseChange('remove', `${rip(3)}@5`)],
        }),
      );
      const d = r.schedulers[0].services[0].disruption!;
      expect(d.fraction!).to.be.closeTo(2 / 3, 0.08);
    });

    it('adding a fifth server: mh moves about 1/5 of the flows (to the new server), rr most', async () => {
      const r = await schedReport(
        cfg(
          labSetup({
            weights: [1, 1, 1, 1],
            extra: ['ip neigh add 172.25.40.20 lladdr 52:54:00:00:40:20 dev eth0'],
          }),
          cap,
          {
            schedulers: ['mh', 'rr'],
            changes: [parseChange('add', `ipvsadm -a -t ${VIP}:80 -r 172.25.40.20:80 -g -w 1@5`)],
          },
        ),
      );
      expect(r.change?.added).to.deep.equal([`TCP ${VIP}:80 -> 172.25.40.20:80`]);
      const [mh, rr] = r.schedulers.map((s) => s.services[0].disruption!);
      expect(mh.excluded).to.equal(0);
      expect(mh.compared).to.equal(400);
      expect(mh.fraction!).to.be.closeTo(0.2, 0.06);
      expect(rr.fraction!).to.be.above(0.6);
    });

    it('flows that appear only after the change are not compared', async () => {
      const s = script();
      for (let k = 0; k < 40; k++) connect(s, `${clientAddr(k)}:${20000 + k}`);
      s.wait(6);
      for (let k = 0; k < 80; k++) connect(s, `${clientAddr(k)}:${30000 + k}`);
      const c = writeCapture(tmp, 'new-flows.pcap', s);
      const r = await schedReport(
        cfg(labSetup({ weights: [1, 1] }), c, {
          schedulers: ['rr'],
          changes: [parseChange('remove', `${rip(1)}@5`)],
        }),
      );
      const d = r.schedulers[0].services[0].disruption!;
      expect(d.compared + d.excluded + d.unmatched).to.equal(40);
      // rr alternated: the removed server had half of them
      expect(d.excluded).to.equal(20);
    });

    it("by default removes each service's last added real server at the middle of the capture", async () => {
      const r = await schedReport(cfg(labSetup({ weights: [1, 2, 3] }), cap, { schedulers: ['mh'] }));
      const mid = Math.round((r.simulatedSeconds / 2) * 1e6) / 1e6;
      expect(r.change?.isDefault).to.equal(true);
      expect(r.change?.atSeconds).to.equal(mid);
      expect(r.change?.commands).to.have.length(1);
      expect(r.change?.commands[0]).to.match(new RegExp(`^@[0-9.]+ ipvsadm -d -t ${VIP}:80 -r ${rip(2)}$`));
      expect(Number(r.change?.commands[0].slice(1).split(' ')[0])).to.equal(mid);
    });
  });

  describe('persistence', () => {
    it('hit rate = connections that followed a template / new connections (client A 5, B 3, C 1: 6 of 9)', async () => {
      const s = script();
      const a = clientAddr(1);
      const b = clientAddr(2);
      const c = clientAddr(3);
      for (let i = 0; i < 5; i++) connect(s, `${a}:${1000 + i}`);
      for (let i = 0; i < 3; i++) connect(s, `${b}:${1000 + i}`);
      connect(s, `${c}:1000`);
      const cap = writeCapture(tmp, 'persist.pcap', s);
      const setup = labSetup({ weights: [1, 1, 1], persistent: 300 });
      const r = await schedReport(cfg(setup, cap, { schedulers: ['rr', 'wlc'], disruption: false }));
      expect(r.services[0].persistent).to.equal(true);
      for (const sr of r.schedulers) {
        const p = sr.services[0].persistence!;
        expect(p, sr.scheduler).to.deep.equal({ newConnections: 9, templateHits: 6, hitRate: 6 / 9 });
        // each client stuck to one server: rr dealt the three clients to the three servers
        expect(sr.services[0].servers.map((x) => x.connections).sort()).to.deep.equal([1, 3, 5]);
      }
      const run = await replayWith(cfg(setup, cap), 'rr', [], false);
      expect(new Set(Array.from(run.server.subarray(0, 5))).size).to.equal(1);
    });

    it('is null for a service that is not persistent', async () => {
      const cap = clients('np.pcap', 3);
      const r = await schedReport(
        cfg(labSetup({ weights: [1] }), cap, { schedulers: ['rr'], disruption: false }),
      );
      expect(r.schedulers[0].services[0].persistence).to.equal(null);
    });
  });
});
