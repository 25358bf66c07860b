/**
 * `ipvs-sim ipvsadm …`: ipvsadm's arguments against a set-up file — the
 * file is created, edited (rules rewritten in the save format at the place of
 * the first rule, every other line kept), left alone on errors; listings,
 * -S, -R, -Z, daemons; ipvsadm's messages and exit statuses; and the
 * classic LVS guides' command sequences giving the listings they show.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runIpvsadmCli } from '../../src/cli/cmd_ipvsadm.js';
import { main } from '../../src/cli/main.js';
import { Exit } from '../../src/cli/errors.js';

let dir = '';
let file = '';
const run = (args: string[], stdin = '') =>
  runIpvsadmCli(['--setup', file, ...args], { readStdin: () => stdin });
const ok = (args: string[], stdin = '') => {
  const r = run(args, stdin);
  expect(r.stderr, args.join(' ')).to.equal('');
  expect(r.status, args.join(' ')).to.equal(0);
  return r.stdout;
};

/** The plain real-server line: "  -> %-28s %-7s %-6d %-10u %-10u". */
const dest = (name: string, fwd: string, w: number) =>
  `  -> ${name.padEnd(28)} ${fwd.padEnd(7)} ${String(w).padEnd(6)} ${'0'.padEnd(10)} ${'0'.padEnd(10)}\n`;
const HEAD =
  'IP Virtual Server version 1.2.1 (size=4096)\n' +
  'Prot LocalAddress:Port Scheduler Flags\n' +
  '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';

describe('control: ipvs-sim ipvsadm', () => {
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ipvs-sim-ipvsadm-'));
    file = join(dir, 'director.setup');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('the classic LVS guides, typed with ipvs-sim in front', () => {
    it('LVS-DR: two real servers with -g, listed with port names and numerically', () => {
      ok(['-A', '-t', '172.25.40.100:80', '-s', 'rr']);
      ok(['-a', '-t', '172.25.40.100:80', '-r', '172.25.40.2:80', '-g']);
      ok(['-a', '-t', '172.25.40.100:80', '-r', '172.25.40.3:80', '-g']);
      expect(ok(['-L'])).to.equal(
        HEAD +
          'TCP  172.25.40.100:http rr\n' +
          dest('172.25.40.2:http', 'Route', 1) +
          dest('172.25.40.3:http', 'Route', 1),
      );
      expect(ok(['-Ln'])).to.equal(
        HEAD +
          'TCP  172.25.40.100:80 rr\n' +
          dest('172.25.40.2:80', 'Route', 1) +
          dest('172.25.40.3:80', 'Route', 1),
      );
      expect(readFileSync(file, 'utf8')).to.equal(
        '-A -t 172.25.40.100:80 -s rr\n' +
          '-a -t 172.25.40.100:80 -r 172.25.40.2:80 -g -w 1\n' +
          '-a -t 172.25.40.100:80 -r 172.25.40.3:80 -g -w 1\n',
      );
    });

    it('LVS-NAT: two real servers with -m', () => {
      ok(['-A', '-t', '192.168.1.100:80', '-s', 'rr']);
      ok(['-a', '-t', '192.168.1.100:80', '-r', '192.168.2.210:80', '-m']);
      ok(['-a', '-t', '192.168.1.100:80', '-r', '192.168.2.220:80', '-m']);
      expect(ok(['-L'])).to.equal(
        HEAD +
          'TCP  192.168.1.100:http rr\n' +
          dest('192.168.2.210:http', 'Masq', 1) +
          dest('192.168.2.220:http', 'Masq', 1),
      );
    });

    it('LVS-TUN: -C, a service, two -i real servers, then -L and -Ln', () => {
      ok(['-C']);
      ok(['-A', '-t', '172.25.84.100:80', '-s', 'rr']);
      ok(['-a', '-t', '172.25.84.100:80', '-r', '172.25.84.2', '-i']);
      ok(['-a', '-t', '172.25.84.100:80', '-r', '172.25.84.3', '-i']);
      expect(ok(['-L'])).to.equal(
        HEAD +
          'TCP  172.25.84.100:http rr\n' +
          dest('172.25.84.2:http', 'Tunnel', 1) +
          dest('172.25.84.3:http', 'Tunnel', 1),
      );
      expect(ok(['-L', '-n'])).to.equal(
        HEAD +
          'TCP  172.25.84.100:80 rr\n' +
          dest('172.25.84.2:80', 'Tunnel', 1) +
          dest('172.25.84.3:80', 'Tunnel', 1),
      );
      expect(ok(['-S', '-n'])).to.equal(
        '-A -t 172.25.84.100:80 -s rr\n' +
          '-a -t 172.25.84.100:80 -r 172.25.84.2:80 -i -w 1 --tun-type ipip\n' +
          '-a -t 172.25.84.100:80 -r 172.25.84.3:80 -i -w 1 --tun-type ipip\n',
      );
      expect(ok(['-S'])).to.match(/^-A -t 172\.25\.84\.100:http -s rr\n/);
    });
  });

  it('creates the set-up file on the first rule and removes a service with -D', () => {
    expect(existsSync(file)).to.equal(false);
    expect(ok(['-Ln'])).to.equal(HEAD);
    expect(existsSync(file)).to.equal(false);
    ok(['-A', '-u', '10.0.0.53:53', '-s', 'lc']);
    expect(readFileSync(file, 'utf8')).to.equal('-A -u 10.0.0.53:53 -s lc\n');
    ok(['-D', '-u', '10.0.0.53:53']);
    expect(readFileSync(file, 'utf8')).to.equal('');
  });

  it('keeps every other line, rewriting the rules where the first one was', () => {
    writeFileSync(
      file,
      [
        '# DR director',
        'ip link set eth0 address 02:00:00:00:00:01',
        'ip addr add 10.0.0.1/24 dev eth0',
        'ipvsadm -A -t 10.0.0.100:80 -s rr',
        'ip neigh add 10.0.0.2 lladdr 02:00:00:00:00:02 dev eth0',
        'ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.2 -g -x 10',
        'ipvsadm -Ln',
        'sysctl -w net.ipv4.vs.expire_nodest_conn=1',
        '@2.5 ipvsadm -e -t 10.0.0.100:80 -r 10.0.0.2 -w 0',
        '',
      ].join('\n'),
    );
    ok(['-a', '-t', '10.0.0.100:80', '-r', '10.0.0.3', '-g', '-w', '3']);
    ok(['--set', '600', '0', '0']);
    expect(readFileSync(file, 'utf8')).to.equal(
      [
        '# DR director',
        'ip link set eth0 address 02:00:00:00:00:01',
        'ip addr add 10.0.0.1/24 dev eth0',
        'ipvsadm --set 600 120 300',
        '-A -t 10.0.0.100:80 -s rr',
        '-a -t 10.0.0.100:80 -r 10.0.0.2:80 -g -w 1 -x 10',
        '-a -t 10.0.0.100:80 -r 10.0.0.3:80 -g -w 3',
        'ip neigh add 10.0.0.2 lladdr 02:00:00:00:00:02 dev eth0',
        'ipvsadm -Ln',
        'sysctl -w net.ipv4.vs.expire_nodest_conn=1',
        '@2.5 ipvsadm -e -t 10.0.0.100:80 -r 10.0.0.2 -w 0',
        '',
      ].join('\n'),
    );
  });

  it("prints ipvsadm's messages and statuses and leaves the file alone on errors", () => {
    ok(['-A', '-t', '10.0.0.100:80', '-s', 'rr']);
    const before = readFileSync(file, 'utf8');
    const cases: [string[], number, string][] = [
      [['-A', '-t', '10.0.0.100:80', '-s', 'rr'], 255, 'Service already exists\n'],
      [['-A', '-t', '10.0.0.101:80', '-s', 'foo'], 255, 'Scheduler or persistence engine not found\n'],
      [
        ['-a', '-t', '10.0.0.100:80'],
        2,
        "You need to supply the 'real-server' option for the 'add-server' command\n",
      ],
      [['-a', '-t', '10.0.0.199:80', '-r', '10.0.0.2'], 255, 'Service not defined\n'],
      [['-d', '-t', '10.0.0.100:80', '-r', '10.0.0.9'], 255, 'No such destination\n'],
      [['-a', '-t', '10.0.0.100:80', '-r', '10.0.0.2', '-w', 'x'], 2, 'illegal weight specified\n'],
      [['-t', '10.0.0.100:80'], 255, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n"],
      [['-L', '--foo'], 255, '--foo: unknown option\n'],
      [['-L', '-n', '-t', '10.0.0.100:81'], 1, 'No such service\n'],
      [['-Z', '-t', '10.0.0.100:81'], 255, 'No such service\n'],
    ];
    for (const [args, status, stderr] of cases) {
      const r = run(args);
      expect([r.status, r.stderr, r.stdout], args.join(' ')).to.deep.equal([status, stderr, '']);
    }
    expect(readFileSync(file, 'utf8')).to.equal(before);
  });

  it('restores rules from standard input (save format and ipvsadm lines)', () => {
    const r = run(['-R'], '-A -t 10.0.0.100:80 -s wrr\nipvsadm -a -t 10.0.0.100:80 -r 10.0.0.2 -m -w 2\n');
    expect([r.status, r.stderr]).to.deep.equal([0, '']);
    expect(readFileSync(file, 'utf8')).to.equal(
      '-A -t 10.0.0.100:80 -s wrr\n-a -t 10.0.0.100:80 -r 10.0.0.2:80 -m -w 2\n',
    );
    const bad = run(['-R'], '-A -t 10.0.0.101:80\n-a -t 10.0.0.101:80\n');
    expect([bad.status, bad.stderr]).to.deep.equal([
      2,
      "You need to supply the 'real-server' option for the 'add-server' command\n",
    ]);
    // as on a kernel, the lines before the bad one took effect
    expect(readFileSync(file, 'utf8')).to.contain('-A -t 10.0.0.101:80 -s wlc\n');
  });

  it('accepts -Z and sync-daemon commands without changing the file', () => {
    ok(['-A', '-t', '10.0.0.100:80', '-s', 'rr']);
    const before = readFileSync(file, 'utf8');
    ok(['-Z']);
    const d = run(['--start-daemon', 'master', '--mcast-interface', 'eth0']);
    expect(d.status).to.equal(0);
    expect(d.stderr).to.match(/synchronisation daemon is not simulated/);
    expect(readFileSync(file, 'utf8')).to.equal(before);
  });

  it('prints ipvsadm -h and -v', () => {
    expect(ok(['-h'])).to.match(
      /^ipvsadm v1\.31 2019\/12\/24 \(compiled with popt and IPVS v1\.2\.1\)\nUsage:\n/,
    );
    expect(ok(['-v'])).to.equal('ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n');
  });

  it('stops with Exit.SETUP naming the line of a broken set-up file, unless --lenient skips it', () => {
    writeFileSync(file, 'ip link set eth0 address 02:00:00:00:00:01\nyum install ipvsadm\n');
    const r = run(['-Ln']);
    expect(r.status).to.equal(Exit.SETUP);
    expect(r.stderr).to.equal(
      `ipvs-sim: ${file}:2:1: 'yum' is not a command the simulator models (ip, sysctl, echo > /proc/sys, ipvsadm, iptables -t mangle, modprobe)\n`,
    );
    const l = runIpvsadmCli(['--lenient', '--setup', file, '-A', '-t', '10.0.0.1:80'], {
      readStdin: () => '',
    });
    expect(l.status).to.equal(0);
    expect(l.stderr).to.match(/warning: .*:2:1: skipped/);
    expect(readFileSync(file, 'utf8')).to.equal(
      'ip link set eth0 address 02:00:00:00:00:01\nyum install ipvsadm\n-A -t 10.0.0.1:80 -s wlc\n',
    );
  });

  it('warns when a timed line no longer applies after an edit', () => {
    writeFileSync(
      file,
      '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2\n@5 ipvsadm -d -t 10.0.0.1:80 -r 10.0.0.2\n',
    );
    const r = run(['-d', '-t', '10.0.0.1:80', '-r', '10.0.0.2']);
    expect(r.status).to.equal(0);
    expect(r.stderr).to.match(/warning: .*:2:4: ipvsadm: No such destination/);
  });

  it('is registered as a subcommand that passes ipvsadm options through', async () => {
    writeFileSync(file, '-A -t 10.0.0.1:80 -s rr\n');
    const out: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((s: string) => {
      out.push(s);
      return true;
    }) as typeof process.stdout.write;
    try {
      expect(await main(['ipvsadm', '--setup', file, '-Ln', '--stats'])).to.equal(0);
    } finally {
      process.stdout.write = write;
      process.exitCode = undefined;
    }
    expect(out.join('')).to.match(
      /^IP Virtual Server version 1\.2\.1 \(size=4096\)\nProt LocalAddress:Port {15}Conns/,
    );
  });
});
