/**
 * `ipvs-sim sched-report` as a command: the JSON document follows the schema
 * in docs/sched-report.md, the same seed gives the same report, the text
 * and HTML outputs, and the usage errors.
 */
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { schemaFromDoc, validate } from '../explain/schema.js';
import { schedReport, replayWith } from '../../src/report/sched_report.js';
import { formatText, table } from '../../src/report/text.js';
import type { SchedReport } from '../../src/report/types.js';
import { clientAddr, connect, labSetup, rip, runCli, script, TempDir, VIP, writeCapture } from './helpers.js';

const DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/sched-report.md');

describe('sched-report command', () => {
  let tmp: TempDir;
  let setupFile: string;
  let cap: string;
  let persistSetup: string;

  before(() => {
    tmp = new TempDir();
    setupFile = tmp.file('lab.setup');
    writeFileSync(setupFile, labSetup({ weights: [1, 2, 3] }));
    persistSetup = tmp.file('persist.setup');
    writeFileSync(persistSetup, labSetup({ weights: [1, 1], persistent: 60 }));
    const s = script();
    for (let round = 0; round < 3; round++) {
      for (let k = 0; k < 50; k++) connect(s, `${clientAddr(k)}:${10000 + round * 1000 + k}`);
      s.wait(2);
    }
    cap = writeCapture(tmp, 'traffic.pcap', s);
  });
  after(() => tmp.remove());

  describe('--json', () => {
    let report: SchedReport;
    before(async () => {
      const r = await runCli(['sched-report', '--setup', setupFile, cap, '--json']);
      expect(r.code, r.stderr).to.equal(0);
      report = JSON.parse(r.stdout) as SchedReport;
    });

    it('prints one document following the schema in docs/sched-report.md', () => {
      const schema = schemaFromDoc(DOC, 'sched-report');
      expect(validate(report, schema)).to.deep.equal([]);
      expect(report.schedulers.map((s) => s.scheduler)).to.deep.equal([
        'rr',
        'wrr',
        'lc',
        'wlc',
        'lblc',
        'lblcr',
        'dh',
        'sh',
        'sed',
        'nq',
        'fo',
        'ovf',
        'mh',
        'twos',
      ]);
      expect(report.inputs).to.deep.equal([cap]);
      expect(report.framesIn).to.equal(300);
    });

    it('the schema check can fail', () => {
      const schema = schemaFromDoc(DOC, 'sched-report');
      const bad = JSON.parse(JSON.stringify(report)) as Record<string, unknown>;
      (bad.schedulers as { scheduler: string; extra?: number }[])[0].scheduler = 'nope';
      bad.surprise = 1;
      delete bad.seed;
      const errs = validate(bad, schema);
      expect(errs).to.include('$: missing seed');
      expect(errs).to.include('$: unexpected property surprise');
      expect(errs.some((e) => e.startsWith('$.schedulers[0].scheduler'))).to.equal(true);
    });

    it('is what the library builds for the same options', async () => {
      const direct = await schedReport({
        setupText: readFileSync(setupFile, 'utf8'),
        setupFile,
        inputs: [{ iface: null, path: cap }],
      });
      expect(JSON.parse(JSON.stringify(direct))).to.deep.equal(report);
    });
  });

  it('the same seed gives the same report; twos draws differently with another seed', async () => {
    const run = (seed: string) =>
      runCli([
        'sched-report',
        '--setup',
        setupFile,
        cap,
        '--schedulers',
        'twos,rr',
        '--seed',
        seed,
        '--json',
      ]);
    const a = await run('7');
    const b = await run('7');
    expect(a.code).to.equal(0);
    expect(a.stdout).to.equal(b.stdout);
    const text1 = await runCli(['sched-report', '--setup', setupFile, cap, '--seed', '7']);
    const text2 = await runCli(['sched-report', '--setup', setupFile, cap, '--seed', '7']);
    expect(text1.stdout).to.equal(text2.stdout);
    const cfg = (seed: number) => ({
      setupText: readFileSync(setupFile, 'utf8'),
      setupFile,
      inputs: [{ iface: null, path: cap }],
      seed,
    });
    const seq = async (seed: number) => Array.from((await replayWith(cfg(seed), 'twos', [], false)).server);
    expect(await seq(7)).to.deep.equal(await seq(7));
    expect(await seq(7)).to.not.deep.equal(await seq(8));
  });

  it('prints a text table per service with one row per scheduler and the shares per real server', async () => {
    const r = await runCli([
      'sched-report',
      '--setup',
      setupFile,
      '--in',
      `eth0=${cap}`,
      '--schedulers',
      'wrr, rr',
      '--remove',
      `${rip(2)}@3`,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).to.equal(
      `sched-report: set-up ${setupFile}, input eth0=${cap}: 300 frames over 4.299 s, seed 1`,
    );
    expect(r.stdout).to.contain(`change at 3.000 s:\n  @3 ipvsadm -d -t ${VIP}:80 -r ${rip(2)}\n`);
    expect(r.stdout).to.contain(`\nTCP ${VIP}:80 (set up with rr)\n`);
    const head = lines.findIndex((l) => l.startsWith('scheduler  '));
    expect(lines[head + 1]).to.match(/^wrr +150 +0 +0\.0 pp /);
    expect(lines[head + 2]).to.match(/^rr +150 +0 +16\.7 pp /);
    expect(r.stdout).to.contain('target share');
    const wrrShares = lines.filter((l) => l.startsWith('wrr '))[1];
    expect(wrrShares.trim().split(/\s{2,}/)).to.deep.equal([
      'wrr',
      '16.7% (0.0)',
      '33.3% (0.0)',
      '50.0% (0.0)',
    ]);
  });

  it('reports the persistence hit rate of a persistent service', async () => {
    const r = await runCli(['sched-report', '--setup', persistSetup, cap, '--schedulers', 'rr', '--json']);
    const rep = JSON.parse(r.stdout) as SchedReport;
    // 50 clients, three connections each: the first of each schedules, the others follow the template
    expect(rep.schedulers[0].services[0].persistence).to.deep.equal({
      newConnections: 150,
      templateHits: 100,
      hitRate: 100 / 150,
    });
    const text = await runCli(['sched-report', '--setup', persistSetup, cap, '--schedulers', 'rr']);
    expect(text.stdout).to.contain('persistence hits');
    expect(text.stdout).to.contain('66.7% (100/150)');
  });

  it('--no-disruption makes no change; --html writes the page', async () => {
    const html = tmp.file('r.html');
    const r = await runCli([
      'sched-report',
      '--setup',
      setupFile,
      cap,
      '--schedulers',
      'mh',
      '--no-disruption',
      '--json',
      '--html',
      html,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const rep = JSON.parse(r.stdout) as SchedReport;
    expect(rep.change).to.equal(null);
    expect(rep.schedulers[0].services[0].disruption).to.equal(null);
    const page = readFileSync(html, 'utf8');
    expect(page.startsWith('<!DOCTYPE html>')).to.equal(true);
    expect(page).to.not.match(/<(link|img|iframe)\b|\bsrc=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(page).to.contain('id="sched-report-data"');
  });

  it('--add runs an ipvsadm -a command at its time', async () => {
    const r = await runCli([
      'sched-report',
      '--setup',
      setupFile,
      cap,
      '--schedulers',
      'mh',
      '--add',
      `ipvsadm -a -t ${VIP}:80 -r 172.25.40.30:80 -g -w 2@2.5`,
      '--json',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const rep = JSON.parse(r.stdout) as SchedReport;
    expect(rep.change).to.deep.equal({
      atSeconds: 2.5,
      isDefault: false,
      commands: [`@2.5 ipvsadm -a -t ${VIP}:80 -r 172.25.40.30:80 -g -w 2`],
      removed: [],
      added: [`TCP ${VIP}:80 -> 172.25.40.30:80`],
    });
    expect(rep.schedulers[0].services[0].disruption!.compared).to.equal(50); // the third round
  });

  it('--gen replays generated traffic: the same report as the capture ipvs-sim gen writes', async () => {
    const gen = await runCli([
      'sched-report',
      '--setup',
      setupFile,
      '--gen',
      '--flows 150 --duration 3 --seed 5',
      '--schedulers',
      'wlc,mh',
      '--json',
    ]);
    expect(gen.code, gen.stderr).to.equal(0);
    const fromGen = JSON.parse(gen.stdout) as SchedReport;
    expect(fromGen.generated).to.equal('--flows 150 --duration 3 --seed 5');
    expect(fromGen.inputs).to.deep.equal([]);
    const dir = tmp.file('gen');
    const w = await runCli([
      'gen',
      '--setup',
      setupFile,
      '--flows',
      '150',
      '--duration',
      '3',
      '--seed',
      '5',
      '--out-dir',
      dir,
    ]);
    expect(w.code, w.stderr).to.equal(0);
    const file = await runCli([
      'sched-report',
      '--setup',
      setupFile,
      '--in',
      `eth0=${dir}/eth0.pcap`,
      '--schedulers',
      'wlc,mh',
      '--json',
    ]);
    const fromFile = JSON.parse(file.stdout) as SchedReport;
    expect(fromGen.framesIn).to.be.above(1000);
    expect(fromGen.framesIn).to.equal(fromFile.framesIn);
    expect(fromGen.schedulers).to.deep.equal(fromFile.schedulers);
    expect(fromGen.change).to.deep.equal(fromFile.change);
  });

  describe('usage errors (exit status 2) and set-up errors (3)', () => {
    // [what, arguments, status, message, with the capture (default true)]
    const cases: [string, string[], number, string, boolean?][] = [
      ['an unknown scheduler', ['--schedulers', 'rr,fastest'], 2, "unknown scheduler 'fastest'"],
      ['a --remove without a time', ['--remove', '172.25.40.11:80'], 2, 'expected RIP:PORT@SECONDS'],
      ['a --remove of no real server', ['--remove', '10.9.9.9:80@1'], 2, 'has real server 10.9.9.9:80'],
      ['a --remove that is not an address', ['--remove', 'server-a:80@1'], 2, 'is not RIP:PORT'],
      [
        'an --add that is not ipvsadm -a',
        ['--add', `ipvsadm -d -t ${VIP}:80 -r ${rip(0)}@1`],
        2,
        "expected an 'ipvsadm -a",
      ],
      [
        'an --add that cannot apply',
        ['--add', `ipvsadm -a -t ${VIP}:81 -r 10.0.0.9:80@1`],
        2,
        'Service not defined',
      ],
      [
        '--no-disruption with --remove',
        ['--no-disruption', '--remove', `${rip(0)}@1`],
        2,
        'mutually exclusive',
      ],
      ['a bad interval', ['--interval', '0'], 2, '--interval'],
      ['a bad --gen option', ['--gen', '--flows many'], 2, '--gen: --flows takes a whole number', false],
      [
        'an unknown --gen option',
        ['--gen', '--frobnicate'],
        2,
        "--gen: unknown option '--frobnicate'",
        false,
      ],
      ['--gen with an output of its own', ['--gen', '-o x.pcap'], 2, '--gen: leave out -o', false],
      ['--gen with captures', ['--gen', '--flows 10'], 2, 'give captures or --gen, not both'],
    ];
    for (const [what, args, status, message, withCapture] of cases)
      it(what, async () => {
        const input = withCapture === false ? [] : [cap];
        const r = await runCli(['sched-report', '--setup', setupFile, ...input, ...args]);
        expect(r.code).to.equal(status);
        expect(r.stderr).to.contain(message);
      });

    it('no input', async () => {
      const r = await runCli(['sched-report', '--setup', setupFile]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.contain('no input');
    });

    it('a set-up error names the line', async () => {
      const bad = tmp.file('bad.setup');
      writeFileSync(bad, 'ipvsadm -A -t 10.0.0.1:80 -s nope\n');
      const r = await runCli(['sched-report', '--setup', bad, cap]);
      expect(r.code).to.equal(3);
      expect(r.stderr).to.contain(`${bad}:1:`);
    });
  });

  it('lays out text columns: first left-aligned, the others right-aligned', () => {
    expect(
      table([
        ['a', 'bb', 'c'],
        ['dddd', 'e', 'ffff'],
      ]),
    ).to.deep.equal(['a     bb     c', 'dddd   e  ffff']);
    expect(formatText).to.be.a('function');
  });
});
