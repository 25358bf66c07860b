import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LAB_FIXTURES, writeLabFixtures } from '../../fixtures/lab/make.js';
import { Replay } from '../../src/replay/engine.js';
import { LAB, REPO, TCP, flowsOf, readFrames, rmDir, tmpDir } from './helpers.js';

const VIPS: Record<string, string> = { dr: '172.25.40.100', nat: '192.168.1.100', tun: '172.25.84.100' };
const CLIENTS: Record<string, string> = { dr: '172.25.40.10', nat: '192.168.1.200', tun: '172.25.84.10' };

describe('fixtures/lab: the DR, NAT and TUN lab set-ups and captures', function () {
  this.timeout(120000);

  it('the committed captures are exactly what fixtures/lab/make.ts generates', () => {
    const dir = tmpDir('lab');
    try {
      const made = writeLabFixtures(dir);
      expect(made).to.have.length(4);
      for (const f of made) {
        const committed = path.join(LAB, path.basename(f));
        expect(existsSync(committed), committed).to.equal(true);
        expect(Buffer.compare(readFileSync(f), readFileSync(committed)), path.basename(f)).to.equal(0);
      }
    } finally {
      rmDir(dir);
    }
  });

  for (const [name, lab] of Object.entries(LAB_FIXTURES)) {
    it(`${name}: several complete client HTTP exchanges toward the VIP, every frame forwarded by the director`, async () => {
      const inputs = Object.entries(lab.captures).map(([iface, file]) => ({
        iface,
        path: path.join(LAB, file),
      }));
      const frames = inputs.flatMap((i) => readFrames(i.path));
      const flows = [...flowsOf(frames, new Set([VIPS[name]])).values()];
      expect(flows.length).to.be.at.least(3);
      for (const fl of flows) {
        expect(fl.client).to.equal(CLIENTS[name]);
        expect(fl.vip).to.equal(VIPS[name]);
        expect(fl.vport).to.equal(80);
        const c = fl.frames.filter((x) => x.dir === 0);
        expect(c[0].d.flags).to.equal(TCP.SYN);
        expect(c.filter((x) => x.d.flags & TCP.FIN)).to.have.length(1);
        expect(c[c.length - 1].d.flags).to.equal(TCP.ACK);
        const get = c.find((x) => x.d.payLen > 0);
        const bytes = frames.find((f) => f.us === get?.us)?.bytes as Uint8Array;
        const text = Buffer.from(bytes.subarray(bytes.length - (get?.d.payLen ?? 0))).toString('latin1');
        expect(text).to.match(/^GET \/ HTTP\/1\.1\r\nHost: .*\r\n\r\n$/s);
        if (name === 'nat') {
          const s = fl.frames.filter((x) => x.dir === 1);
          expect(s[0].d.flags).to.equal(TCP.SYN | TCP.ACK);
          expect(s.some((x) => x.d.payLen > 0)).to.equal(true);
          expect(s.filter((x) => x.d.flags & TCP.FIN)).to.have.length(1);
          expect(
            s.every((x) => x.iface === '' && ['192.168.2.210', '192.168.2.220'].includes(x.d.src)),
          ).to.equal(true);
        }
      }
      const out = tmpDir(`lab-${name}`);
      try {
        const setupFile = path.join(LAB, lab.setup);
        const r = new Replay({ setupText: readFileSync(setupFile, 'utf8'), setupFile, inputs, outDir: out });
        r.open();
        const s = await r.run();
        r.close();
        expect(s.framesIn).to.equal(frames.length);
        expect(s.fates.forwarded).to.equal(frames.length);
        expect(s.framesOut).to.equal(frames.length);
      } finally {
        rmDir(out);
      }
    });
  }

  it('`npm start` replays the DR lab through the director and prints the summary and the counters', function () {
    if (!existsSync(path.join(REPO, 'dist/src/cli/main.js'))) this.skip(); // needs `npm run build` (npm install runs it)
    mkdirSync(path.join(REPO, 'out'), { recursive: true });
    const r = spawnSync('npm', ['start', '--silent'], { cwd: REPO, encoding: 'utf8', timeout: 60000 });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/frames in: 24 {3}frames out: 24/);
    expect(r.stderr).to.match(/forwarded 24, answered 0, delivered locally 0, dropped 0/);
    expect(r.stdout).to.match(/TCP {2}172\.25\.40\.100:80 +4 +24 +0/);
    expect(r.stdout).to.match(/-> 172\.25\.40\.2:80 +2 +12/);
    expect(r.stdout).to.match(/-> 172\.25\.40\.3:80 +2 +12/);
  });
});
