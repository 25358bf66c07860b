/**
 * The --html page rendered by a real browser: Debian's Chromium
 * (/usr/bin/chromium, which .ci/run installs), driven headless by
 * playwright-core (no browser download). The charts must render with the
 * report's numbers, the page must not touch the network, and the screenshot
 * must show the charts. Skipped, with a message, where Chromium is missing.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { schedReport } from '../../src/report/sched_report.js';
import { formatHtml } from '../../src/report/html.js';
import { pct } from '../../src/report/text.js';
import type { SchedReport } from '../../src/report/types.js';
import { clientAddr, connect, labSetup, script, TempDir, VIP, writeCapture } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('sched-report HTML page in headless Chromium', function () {
  this.timeout(180000);
  let tmp: TempDir;
  let profile = '';
  let ctx: BrowserContext | null = null;
  let page: Page;
  let report: SchedReport;
  let htmlFile = '';
  const requests: string[] = [];

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.log(
        `    skipped: ${CHROMIUM} is missing (apt-get install chromium); CI installs it and runs this test`,
      );
      this.skip();
    }
    tmp = new TempDir();
    // two services: port 80 (rr, weights 1, 1, 2) and a persistent port 443 (two servers)
    const setup = labSetup({
      weights: [1, 1, 2],
      extra: [
        `ipvsadm -A -t ${VIP}:443 -s wlc -p 60`,
        `ipvsadm -a -t ${VIP}:443 -r 172.25.40.11:443 -g -w 1`,
        `ipvsadm -a -t ${VIP}:443 -r 172.25.40.12:443 -g -w 3`,
      ],
    });
    const s = script();
    for (let round = 0; round < 4; round++) {
      for (let k = 0; k < 60; k++) {
        connect(s, `${clientAddr(k)}:${20000 + round * 100 + k}`);
        if (k % 3 === 0) connect(s, `${clientAddr(k)}:${30000 + round * 100 + k}`, 443);
      }
      s.wait(1.5);
    }
    const cap = writeCapture(tmp, 'traffic.pcap', s);
    report = await schedReport({
      setupText: setup,
      setupFile: 'lab.setup',
      inputs: [{ iface: null, path: cap }],
    });
    htmlFile = tmp.file('report.html');
    writeFileSync(htmlFile, formatHtml(report));
    profile = mkdtempSync(path.join(os.tmpdir(), 'ipvs-sim-chromium-'));
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1280, height: 900 },
    });
    ctx.on('request', (r) => requests.push(r.url()));
    // nothing but the page itself may load
    await ctx.route('**/*', (route) =>
      route.request().url().startsWith('file:') ? route.continue() : route.abort(),
    );
    page = await ctx.newPage();
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load' });
  });

  after(async () => {
    await ctx?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    tmp?.remove();
  });

  it('loads nothing but the page itself (no network, no external file)', () => {
    expect(requests).to.deep.equal([pathToFileURL(htmlFile).href]);
  });

  it('embeds the report as JSON, equal to what --json prints', async () => {
    const text = await page.$eval('#sched-report-data', (e) => e.textContent ?? '');
    expect(JSON.parse(text)).to.deep.equal(JSON.parse(JSON.stringify(report)));
  });

  it('draws a share bar per scheduler and real server, as high as its share, with the numbers', async () => {
    for (let si = 0; si < report.services.length; si++) {
      const bars = await page.$$eval(`#share-${si} rect.bar.share`, (rs) =>
        rs.map((r) => ({
          scheduler: r.getAttribute('data-scheduler'),
          server: r.getAttribute('data-server'),
          share: Number(r.getAttribute('data-share')),
          target: Number(r.getAttribute('data-target')),
          connections: Number(r.getAttribute('data-connections')),
          height: r.getBoundingClientRect().height,
          title: r.querySelector('title')?.textContent ?? '',
        })),
      );
      const expected = report.schedulers.flatMap((s) =>
        s.services[si].servers.map((v) => ({ scheduler: s.scheduler, ...v })),
      );
      expect(bars).to.have.length(expected.length);
      expect(expected.length).to.equal(14 * (si === 0 ? 3 : 2));
      let pxPerShare = 0;
      bars.forEach((b, i) => {
        const e = expected[i];
        expect([b.scheduler, b.server], `bar ${i}`).to.deep.equal([e.scheduler, e.server]);
        expect(b.share).to.equal(e.share);
        expect(b.target).to.equal(e.targetShare);
        expect(b.connections).to.equal(e.connections);
        expect(b.title).to.contain(`${e.connections} connections, ${pct(e.share)}`);
        if (e.share > 0) {
          if (!pxPerShare) pxPerShare = b.height / e.share;
          expect(b.height, `${b.scheduler} ${b.server}`).to.be.closeTo(e.share * pxPerShare, 0.6);
        } else expect(b.height).to.equal(0);
      });
      expect(pxPerShare).to.be.above(100);
    }
  });

  it('draws one imbalance line per scheduler through its samples, with peak and mean', async () => {
    const lines = await page.$$eval('#imbalance-0 path.series', (ps) =>
      ps.map((p) => ({
        scheduler: p.getAttribute('data-scheduler'),
        peak: p.getAttribute('data-peak'),
        mean: p.getAttribute('data-mean'),
        samples: JSON.parse(p.getAttribute('data-samples') ?? '[]') as unknown,
        length: (p as unknown as { getTotalLength(): number }).getTotalLength(),
      })),
    );
    expect(lines.map((l) => l.scheduler)).to.deep.equal(report.schedulers.map((s) => s.scheduler));
    lines.forEach((l, i) => {
      const im = report.schedulers[i].services[0].imbalance;
      expect(l.peak).to.equal(im.peak === null ? '' : String(im.peak));
      expect(l.mean).to.equal(im.mean === null ? '' : String(im.mean));
      expect(l.samples).to.deep.equal(im.samples);
      if (im.samples.filter(([, v]) => v !== null).length >= 2) expect(l.length).to.be.above(100);
    });
  });

  it('draws the disruption per scheduler with its percentage', async () => {
    const bars = await page.$$eval('#disruption-0 rect.bar.disruption', (rs) =>
      rs.map((r) => ({
        scheduler: r.getAttribute('data-scheduler'),
        fraction: r.getAttribute('data-fraction'),
        moved: Number(r.getAttribute('data-moved')),
        compared: Number(r.getAttribute('data-compared')),
        height: r.getBoundingClientRect().height,
      })),
    );
    const labels = await page.$$eval('#disruption-0 text.value', (ts) => ts.map((t) => t.textContent));
    expect(bars).to.have.length(14);
    let px = 0;
    bars.forEach((b, i) => {
      const d = report.schedulers[i].services[0].disruption!;
      expect(b.scheduler).to.equal(report.schedulers[i].scheduler);
      expect(b.fraction).to.equal(d.fraction === null ? '' : String(d.fraction));
      expect([b.moved, b.compared]).to.deep.equal([d.moved, d.compared]);
      expect(labels[i]).to.equal(d.fraction === null ? 'n/a' : pct(d.fraction));
      if (d.fraction) {
        if (!px) px = b.height / d.fraction;
        expect(b.height).to.be.closeTo(d.fraction * px, 0.6);
      }
    });
    // rr moves flows when a server leaves: there is something to see
    expect(report.schedulers[0].services[0].disruption!.fraction).to.be.above(0.2);
  });

  it('draws the persistence hit rate of the persistent service', async () => {
    expect(await page.$$('#persistence-0')).to.have.length(0);
    const rates = await page.$$eval('#persistence-1 rect.bar.persistence', (rs) =>
      rs.map((r) => r.getAttribute('data-fraction')),
    );
    expect(rates).to.deep.equal(report.schedulers.map((s) => String(s.services[1].persistence!.hitRate)));
    // each client of port 443 comes back four times: three of its four connections hit the template
    expect(report.schedulers[0].services[1].persistence!.hitRate).to.equal(0.75);
  });

  it('renders to a screenshot with the charts in it', async () => {
    const shot = tmp.file('report.png');
    const png = await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).to.be.above(20000);
    // decode the screenshot in the browser and look at its pixels
    // (a string: the test is compiled without the DOM library)
    const stats = (await page.evaluate(`(async (b64) => {
      const img = new Image();
      img.src = 'data:image/png;base64,' + b64;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      const colours = new Set();
      let ink = 0;
      let barBlue = 0;
      for (let i = 0; i < d.length; i += 4) {
        colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        if (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240) ink++;
        // #4e79a7: the first real server's bars
        if (d[i] === 0x4e && d[i + 1] === 0x79 && d[i + 2] === 0xa7) barBlue++;
      }
      return { width: c.width, height: c.height, colours: colours.size, ink: ink / (d.length / 4), barBlue };
    })(${JSON.stringify(png.toString('base64'))})`)) as {
      width: number;
      height: number;
      colours: number;
      ink: number;
      barBlue: number;
    };
    expect(stats.width).to.equal(1280);
    expect(stats.height).to.be.above(1500);
    expect(stats.colours).to.be.above(50);
    expect(stats.ink).to.be.above(0.05);
    expect(stats.barBlue).to.be.above(1000);
  });
});
