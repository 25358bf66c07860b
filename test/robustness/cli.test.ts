/**
 * `ipvs-sim replay` under adversity: interrupted by SIGINT / SIGTERM, outputs
 * that cannot be written, bad set-ups, bad inputs, the progress bar. Every
 * error is one plain line naming what is wrong, with the exit status of
 * docs/cli.md, and no stack trace unless --debug.
 */
import { expect } from 'chai';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCapture } from '../../src/capture/reader.js';
import { finished, hasStack, ROOT, runChild, runCli, spawnCli } from './cli-run.js';
import { DR_SETUP, NAT_SETUP } from './setups.js';
import { writeSteadyTraffic, writeSynFlood } from './traffic.js';
import { CORPUS_DIR } from './corpus.js';

/** Frames in a capture, read to the end (throws when it is not a valid capture). */
function countFrames(file: string): number {
  const r = openCapture(file);
  let n = 0;
  try {
    while (r.next()) n++;
  } finally {
    r.close();
  }
  return n;
}

function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

describe('robustness: the replay command under adversity', function () {
  this.timeout(180_000);
  let dir: string;
  let setup: string;
  let natSetup: string;
  let small: string;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ipvs-robust-cli-'));
    setup = path.join(dir, 'dr.setup');
    natSetup = path.join(dir, 'nat.setup');
    writeFileSync(setup, DR_SETUP);
    writeFileSync(natSetup, NAT_SETUP);
    small = path.join(dir, 'small.pcap');
    writeSynFlood(small, { frames: 2000, perSecond: 1000 });
  });

  after(() => {
    try {
      chmodSync(path.join(dir, 'ro'), 0o755);
    } catch {
      // not made
    }
    rmSync(dir, { recursive: true, force: true });
  });

  describe('interruption', () => {
    let big: string;
    before(() => {
      big = path.join(dir, 'big.pcap');
      // ~300 MB: several seconds of replay, so the signal lands in the middle
      writeSteadyTraffic(big, { bytes: 300e6, flows: 2000, perSecond: 200_000 });
    });

    for (const [sig, status] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      it(`${sig} stops the replay cleanly: valid outputs holding every frame sent, summary printed, exit ${status}`, async () => {
        const out = path.join(dir, `out-${sig}`);
        const child = spawnCli(['replay', '--setup', setup, big, '--out-dir', out, '--json']);
        const done = finished(child);
        // wait until the replay is under way (its first output batch is on disk), then interrupt it
        const server = path.join(out, 'server.pcap');
        for (let i = 0; i < 3000; i++) {
          if (existsSync(server) && statSync(server).size > 2 << 20) break;
          await sleep(10);
        }
        child.kill(sig);
        const r = await done;
        expect(r.signal, r.stderr).to.equal(null);
        expect(r.status, r.stderr).to.equal(status);
        expect(hasStack(r.stderr)).to.equal(false);
        expect(r.stderr).to.match(new RegExp(`interrupted by ${sig}`));
        expect(r.stderr).to.match(/frames in: \d+/);
        const s = JSON.parse(r.stdout);
        expect(s.interruptedBy).to.equal(sig);
        expect(s.framesIn).to.be.greaterThan(0);
        expect(s.framesIn, 'stopped before the end').to.be.lessThan(countFrames(big));
        const f = s.fates;
        expect(f.forwarded + f.answered + f.local + f.dropped + f.held).to.equal(s.framesIn);
        const files = readdirSync(out).sort();
        expect(files).to.deep.equal(['client.pcap', 'server.pcap']);
        let total = 0;
        for (const name of files) {
          const n = countFrames(path.join(out, name));
          expect(n, name).to.equal(s.framesOutPerInterface[name.replace(/\.pcap$/, '')]);
          total += n;
        }
        expect(total).to.equal(s.framesOut);
      });
    }

    it('SIGINT stops a sharded replay (--workers 2) cleanly: merged outputs valid, nothing else written, exit 130', async () => {
      const out = path.join(dir, 'out-workers');
      mkdirSync(out);
      const child = spawnCli(['replay', '--setup', setup, big, '--out-dir', out, '--json', '--workers', '2']);
      const done = finished(child);
      // wait until the workers are under way (the merged output has grown), then interrupt
      const server = path.join(out, 'server.pcap');
      for (let i = 0; i < 3000; i++) {
        if (existsSync(server) && statSync(server).size > 2 << 20) break;
        await sleep(10);
      }
      child.kill('SIGINT');
      const r = await done;
      expect(r.signal, r.stderr).to.equal(null);
      expect(r.status, r.stderr).to.equal(130);
      expect(hasStack(r.stderr)).to.equal(false);
      expect(r.stderr).to.match(/interrupted by SIGINT/);
      const s = JSON.parse(r.stdout);
      expect(s.interruptedBy).to.equal('SIGINT');
      expect(s.framesIn).to.be.greaterThan(0);
      expect(s.framesIn, 'stopped before the end').to.be.lessThan(countFrames(big));
      const f = s.fates;
      expect(f.forwarded + f.answered + f.local + f.dropped + f.held).to.equal(s.framesIn);
      expect(readdirSync(out).sort(), 'only the outputs').to.deep.equal(['client.pcap', 'server.pcap']);
      let total = 0;
      for (const name of ['client.pcap', 'server.pcap']) {
        const n = countFrames(path.join(out, name));
        expect(n, name).to.equal(s.framesOutPerInterface[name.replace(/\.pcap$/, '')]);
        total += n;
      }
      expect(total).to.equal(s.framesOut);
    });
  });

  describe('outputs that cannot be written', () => {
    it('a full disk (/dev/full) is one line and exit 5, after the summary', async () => {
      const r = await runCli(['replay', '--setup', setup, small, '-o', '/dev/full']);
      expect(r.status).to.equal(5);
      expect(r.stderr).to.match(
        /^ipvs-sim: cannot write capture \/dev\/full: no space left on device \(ENOSPC\)$/m,
      );
      expect(r.stderr).to.match(/frames in: 2000/);
      expect(hasStack(r.stderr)).to.equal(false);
    });

    it('a full disk under --workers 2 is the same one line and exit 5: the workers stop, the summary is printed', async () => {
      const big = path.join(dir, 'mid-workers.pcap');
      // large enough that the workers are still reading when the first write fails
      writeSteadyTraffic(big, { bytes: 80e6, flows: 100, perSecond: 10_000 });
      const r = await runCli([
        'replay',
        '--setup',
        setup,
        big,
        '-o',
        '/dev/full',
        '--workers',
        '2',
        '--json',
      ]);
      expect(r.status, r.stderr).to.equal(5);
      expect(r.stderr).to.match(
        /^ipvs-sim: cannot write capture \/dev\/full: no space left on device \(ENOSPC\)$/m,
      );
      expect(hasStack(r.stderr)).to.equal(false);
      const s = JSON.parse(r.stdout);
      expect(s.outputError.code).to.equal('ENOSPC');
      expect(s.interruptedBy).to.equal(null);
      const f = s.fates;
      expect(f.forwarded + f.answered + f.local + f.dropped + f.held).to.equal(s.framesIn);
      expect(s.framesIn, 'the workers stopped early').to.be.lessThan(countFrames(big));
    });

    it('a full disk in the middle of a large output stops the replay there (exit 5), the other outputs valid', async () => {
      const big = path.join(dir, 'mid.pcap');
      writeSteadyTraffic(big, { bytes: 8e6, flows: 100, perSecond: 10_000 });
      const out = path.join(dir, 'out-full');
      mkdirSync(out);
      // server.pcap is /dev/full: its first 1 MiB batch fails
      const { symlinkSync } = await import('node:fs');
      symlinkSync('/dev/full', path.join(out, 'server.pcap'));
      const r = await runCli(['replay', '--setup', setup, big, '--out-dir', out, '--json']);
      expect(r.status, r.stderr).to.equal(5);
      expect(r.stderr).to.match(/cannot write capture .*server\.pcap: no space left on device \(ENOSPC\)/);
      expect(hasStack(r.stderr)).to.equal(false);
      const s = JSON.parse(r.stdout);
      expect(s.outputError.code).to.equal('ENOSPC');
      expect(s.framesIn).to.be.lessThan(countFrames(big));
      const f = s.fates;
      expect(f.forwarded + f.answered + f.local + f.dropped + f.held).to.equal(s.framesIn);
      expect(countFrames(path.join(out, 'client.pcap'))).to.equal(s.framesOutPerInterface.client);
    });

    it('a missing directory for -o is exit 5 naming the file and the cause', async () => {
      const r = await runCli([
        'replay',
        '--setup',
        setup,
        small,
        '-o',
        path.join(dir, 'no/such/dir/out.pcapng'),
      ]);
      expect(r.status).to.equal(5);
      expect(r.stderr.trim()).to.match(
        /^ipvs-sim: cannot write capture .*out\.pcapng: no such file or directory \(ENOENT\)$/,
      );
    });

    it('--out-dir below a regular file is exit 5', async () => {
      const f = path.join(dir, 'a-file');
      writeFileSync(f, 'x');
      const r = await runCli(['replay', '--setup', setup, small, '--out-dir', path.join(f, 'sub')]);
      expect(r.status).to.equal(5);
      expect(r.stderr.trim()).to.match(
        /^ipvs-sim: cannot create output directory .*a-file\/sub: a component of the path is not a directory \(ENOTDIR\)$/,
      );
    });

    it('permission denied is exit 5 naming the cause', async () => {
      let target: string;
      if (process.getuid && process.getuid() === 0) {
        // root writes anywhere on a normal file system; sysfs still refuses new files
        target = '/sys/ipvs-sim-robustness-test.pcap';
      } else {
        const ro = path.join(dir, 'ro');
        mkdirSync(ro);
        chmodSync(ro, 0o555);
        target = path.join(ro, 'out.pcap');
      }
      const r = await runCli(['replay', '--setup', setup, small, '-o', target]);
      expect(r.status).to.equal(5);
      expect(r.stderr.trim()).to.match(/^ipvs-sim: cannot write capture .*: permission denied \(EACCES\)$/);
    });
  });

  describe('bad set-ups', () => {
    // each: a broken line (after a valid start), the line and column named, and words saying what is expected
    const cases: { text: string; line: number; column: number; expect: RegExp }[] = [
      {
        text: 'yum install ipvsadm',
        line: 3,
        column: 1,
        expect: /'yum' is not a command the simulator models \(ip, sysctl/,
      },
      {
        text: 'ipvsadm -A -t 10.0.0.100:80 -s nosuch',
        line: 3,
        column: 1,
        expect: /no scheduler 'nosuch' \(valid: rr, wrr/,
      },
      {
        text: 'ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.2:80 -g',
        line: 3,
        column: 1,
        expect: /Service not defined/,
      },
      {
        text: 'ipvsadm -A -t 10.0.0.300:80',
        line: 3,
        column: 15,
        expect: /illegal virtual server address\[:port\]/,
      },
      {
        text: 'ipvsadm -A -t 10.0.0.100:80 -p abc',
        line: 3,
        column: 32,
        expect: /invalid timeout value `abc'/,
      },
      { text: 'ipvsadm -A -t 10.0.0.100:80 --bogus', line: 3, column: 29, expect: /--bogus: unknown option/ },
      {
        text: 'ip addr add 10.0.0.500/24 dev eth0',
        line: 3,
        column: 13,
        expect: /expected ADDRESS\[\/PREFIXLEN\]/,
      },
      {
        text: 'ip link set eth0 address zz:00:00:00:00:01',
        line: 3,
        column: 26,
        expect: /expected xx:xx:xx:xx:xx:xx/,
      },
      { text: 'ip route add 10.9.0.0/16 via', line: 3, column: 26, expect: /'via' needs an argument/ },
      {
        text: 'sysctl -w net.ipv4.vs.drop_entry=7',
        line: 3,
        column: 11,
        expect: /must be between 0 and 3, got 7/,
      },
      {
        text: 'sysctl -w net.ipv4.vs.expire_nodest_conn=yes',
        line: 3,
        column: 11,
        expect: /takes an integer, got 'yes'/,
      },
      { text: 'sysctl -w net.ipv4.vs.nosuch=1', line: 3, column: 11, expect: /unknown sysctl key/ },
      { text: '@abc ipvsadm -C', line: 3, column: 1, expect: /expected @SECONDS, e\.g\. @2\.5/ },
      {
        text: 'ipvsadm -A -t 10.0.0.100:80 "unterminated',
        line: 3,
        column: 29,
        expect: /unterminated quote/,
      },
      {
        text: 'iptables -t mangle -A PREROUTING -j MARK --set-mark x',
        line: 3,
        column: 53,
        expect: /expected a number/,
      },
      {
        text: '\n\nipvsadm -A -t 10.0.0.100:80\nipvsadm -A -t 10.0.0.100:80',
        line: 6,
        column: 1,
        expect: /Service already exists/,
      },
    ];
    const head = 'ip link set eth0 address 02:00:00:00:00:01\nip addr add 10.0.0.1/24 dev eth0\n';

    it('each error names the file, line and column and what is expected; exit 3, one line, no stack', async () => {
      for (const c of cases) {
        const f = path.join(dir, 'bad.setup');
        writeFileSync(f, head + c.text + '\n');
        const r = await runCli(['replay', '--setup', f, small, '-o', path.join(dir, 'x.pcap')]);
        expect(r.status, c.text).to.equal(3);
        const lines = r.stderr.trimEnd().split('\n');
        expect(lines, c.text).to.have.length(1);
        expect(lines[0], c.text).to.match(
          new RegExp(`^ipvs-sim: ${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${c.line}:${c.column}: `),
        );
        expect(lines[0], c.text).to.match(c.expect);
        expect(hasStack(r.stderr)).to.equal(false);
      }
    });

    it('--debug adds the stack trace', async () => {
      const f = path.join(dir, 'bad.setup');
      writeFileSync(f, head + 'frobnicate\n');
      const r = await runCli(['--debug', 'replay', '--setup', f, small, '-o', path.join(dir, 'x.pcap')]);
      expect(r.status).to.equal(3);
      expect(hasStack(r.stderr)).to.equal(true);
    });

    it('a set-up file that cannot be read is exit 3', async () => {
      const r = await runCli([
        'replay',
        '--setup',
        path.join(dir, 'none.setup'),
        small,
        '-o',
        path.join(dir, 'x.pcap'),
      ]);
      expect(r.status).to.equal(3);
      expect(r.stderr.trim()).to.match(/^ipvs-sim: cannot read the set-up .*none\.setup: ENOENT$/);
    });
  });

  describe('bad inputs', () => {
    it('an unsupported link type is exit 4 with the clear error, no stack', async () => {
      // a pcapng interface of LINUX_SLL (error at its first frame), a raw-IP pcap (error at open)
      const sll = path.join(CORPUS_DIR, 'bgp-orf.pcapng');
      const raw = path.join(ROOT, 'fixtures/capture/raw-ip.pcap');
      for (const file of [sll, raw]) {
        const r = await runCli(['replay', '--setup', setup, file, '-o', path.join(dir, 'x.pcap')]);
        expect(r.status, file).to.equal(4);
        expect(r.stderr).to.match(/link type \d+.*not supported: ipvs-sim reads Ethernet/);
        expect(hasStack(r.stderr)).to.equal(false);
      }
    });

    it('a capture cut in the middle: everything before it written, exit 4 naming the byte offset', async () => {
      const { readFileSync } = await import('node:fs');
      const whole = readFileSync(small);
      const cut = path.join(dir, 'cut.pcap');
      writeFileSync(cut, whole.subarray(0, 24 + 100 * 76 + 30));
      const out = path.join(dir, 'cut-out.pcap');
      const r = await runCli(['replay', '--setup', setup, cut, '-o', out, '--json']);
      expect(r.status).to.equal(4);
      expect(r.stderr).to.match(/stopped at a malformed capture: .*cut\.pcap: byte offset 7624, frame 101/);
      const s = JSON.parse(r.stdout);
      expect(s.framesIn).to.equal(100);
      expect(countFrames(out)).to.equal(s.framesOut);
    });

    it('--in naming an interface the set-up does not have is a usage error (exit 2)', async () => {
      const r = await runCli([
        'replay',
        '--setup',
        setup,
        '--in',
        `eth9=${small}`,
        '-o',
        path.join(dir, 'x.pcap'),
      ]);
      expect(r.status).to.equal(2);
      expect(r.stderr.trim()).to.match(
        /^ipvs-sim: --in eth9=.*: the set-up has no interface 'eth9' \(it has client, server\)$/,
      );
    });

    it('an output that is one of the inputs is refused before anything is overwritten (exit 2)', async () => {
      const { copyFileSync, readFileSync } = await import('node:fs');
      const copy = path.join(dir, 'self.pcap');
      copyFileSync(small, copy);
      const r = await runCli(['replay', '--setup', setup, copy, '-o', copy]);
      expect(r.status).to.equal(2);
      expect(r.stderr.trim()).to.match(
        /^ipvs-sim: output .*self\.pcap is the input .*self\.pcap: it would be overwritten$/,
      );
      expect(readFileSync(copy).equals(readFileSync(small))).to.equal(true);
      const out = path.join(dir, 'self-dir');
      mkdirSync(out);
      copyFileSync(small, path.join(out, 'server.pcap'));
      const r2 = await runCli(['replay', '--setup', setup, path.join(out, 'server.pcap'), '--out-dir', out]);
      expect(r2.status).to.equal(2);
    });

    it('a missing input is exit 4', async () => {
      const r = await runCli([
        'replay',
        '--setup',
        setup,
        path.join(dir, 'nope.pcap'),
        '-o',
        path.join(dir, 'x.pcap'),
      ]);
      expect(r.status).to.equal(4);
      expect(r.stderr.trim()).to.match(
        /^ipvs-sim: cannot read capture .*nope\.pcap: no such file or directory \(ENOENT\)$/,
      );
    });
  });

  describe('every subcommand: one-line errors with the documented status, no stack', () => {
    it('gen, explain, lab and ipvsadm', async () => {
      const bad = path.join(dir, 'frob.setup');
      writeFileSync(bad, 'frob\n');
      const cut = path.join(dir, 'cut-explain.pcap');
      const { readFileSync } = await import('node:fs');
      writeFileSync(cut, readFileSync(small).subarray(0, 24 + 10 * 76 + 20));
      const x = (n: string): string => path.join(dir, n);
      const cases: [string[], number, RegExp][] = [
        [['gen', '--setup', setup], 2, /give an output/],
        [['gen', '--setup', setup, '-o', x('g.pcap'), '--flows', 'abc'], 2, /--flows takes a whole number/],
        [['gen', '--setup', bad, '-o', x('g.pcap')], 3, /frob\.setup:1:1: 'frob' is not a command/],
        [
          ['gen', '--setup', setup, '-o', '/dev/full', '--flows', '50'],
          5,
          /no space left on device \(ENOSPC\)/,
        ],
        [
          ['gen', '--setup', setup, '--out-dir', path.join(small, 'x'), '--flows', '50'],
          5,
          /cannot create output directory/,
        ],
        [['explain', '--setup', setup], 2, /no input capture/],
        [['explain', '--setup', setup, '--in', `eth9=${small}`], 2, /has no interface 'eth9'/],
        [['explain', '--setup', bad, small], 3, /frob\.setup:1:1:/],
        [['explain', '--setup', setup, x('none.pcap')], 4, /no such file or directory \(ENOENT\)/],
        [
          ['explain', '--setup', setup, path.join(ROOT, 'fixtures/capture/raw-ip.pcap')],
          4,
          /link type 101 \(RAW\) is not supported/,
        ],
        [['explain', '--setup', setup, cut], 4, /stopped at a malformed capture: .*frame 11/],
        [['lab', 'xyz'], 2, /lab takes dr, nat or tun/],
        [['lab', 'dr', '--setup', bad], 3, /frob\.setup:1:1:/],
        [['lab', 'dr', '--pcap-dir', path.join(small, 'x')], 5, /cannot create output directory/],
        [['ipvsadm', '--setup', bad, '-L', '-n'], 3, /frob\.setup:1:1:/],
        [
          ['ipvsadm', '--setup', x('ipvsadm.setup'), '-A', '-t', '10.0.0.300:80'],
          2,
          /illegal virtual server address/,
        ],
      ];
      for (const [args, status, message] of cases) {
        const r = await runCli(args);
        const what = args.join(' ');
        expect(r.status, `${what}\n${r.stderr}`).to.equal(status);
        expect(r.stderr, what).to.match(message);
        expect(hasStack(r.stderr), what).to.equal(false);
      }
    });
  });

  describe('progress', () => {
    it('--progress shows frames, frames/s, bytes and ETA on stderr even when it is not a terminal; stdout stays clean', async () => {
      const r = await runChild([
        'replay',
        '--setup',
        natSetup,
        small,
        '-o',
        path.join(dir, 'p.pcap'),
        '--json',
        '--progress',
      ]);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stderr).to.match(/\d+% \| [\d.]+\/0\.2 MB \| \d+ frames, \d+ frames\/s \| ETA/);
      expect(r.stderr).to.match(/100% \| 0\.2\/0\.2 MB \| 2000 frames, \d+ frames\/s/);
      expect(() => JSON.parse(r.stdout)).to.not.throw();
    });

    it('--no-progress (and a non-terminal stderr by default) shows none', async () => {
      for (const flag of ['--no-progress', null]) {
        const args = ['replay', '--setup', setup, small, '-o', path.join(dir, 'p.pcap')];
        if (flag) args.push(flag);
        const r = await runCli(args);
        expect(r.status).to.equal(0);
        expect(r.stderr).to.not.match(/frames\/s/);
      }
    });
  });
});
