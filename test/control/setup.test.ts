/**
 * The set-up script: every accepted line kind applied to a director, the
 * timed lines, the no-op lines, and the errors (file, line, column, what is
 * wrong), including the ones only a dry run finds (validateSetup).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { IpAddr, parseMac } from '../../src/wire/addr.js';
import {
  applySetup,
  applySetupCommand,
  parseSetup,
  SetupError,
  validateSetup,
  type SetupTarget,
} from '../../src/control/setup.js';
import { runIpvsadm, saveText, setupRulesText } from '../../src/control/ipvsadm/index.js';
import { Fwd, SvcFlag, TunType } from '../../src/ipvs/service.js';
import { makeTarget, scenarios, STUB_SCHEDULER_NAMES } from './helpers.js';

function apply(text: string, opts: { lenient?: boolean } = {}): SetupTarget {
  const t = makeTarget();
  applySetup(parseSetup(text, { file: 'director.setup', ...opts }), t);
  return t;
}

/** The SetupError a set-up raises when parsed and applied (or dry-run with its timed lines). */
function errorOf(text: string): SetupError {
  try {
    validateSetup(parseSetup(text, { file: 'director.setup' }), makeTarget);
  } catch (e) {
    if (e instanceof SetupError) return e;
    throw e;
  }
  throw new Error('no SetupError');
}

const v4 = (s: string) => IpAddr.parse(s);

describe('control: set-up script', () => {
  describe('ip commands', () => {
    it('sets a link MAC and MTU, and names a link by any ip command', () => {
      const t = apply(
        [
          'ip link set client address 02:00:00:00:01:01',
          'ip link set dev server address 02:00:00:00:02:01 mtu 9000',
          'ip link set server up',
          'ip link set mtu 1400 dev third',
        ].join('\n'),
      );
      expect(t.host.links.map((l) => l.name)).to.deep.equal(['client', 'server', 'third']);
      expect(t.host.links[0].mac).to.equal(parseMac('02:00:00:00:01:01'));
      expect(t.host.links[1].mtu).to.equal(9000);
      expect(t.host.links[2].mtu).to.equal(1400);
    });

    it('adds addresses with every spelling guides use', () => {
      const t = apply(
        [
          'ip addr add 172.25.40.1/24 dev eth0',
          'ip address add 172.25.40.100/32 dev eth0 label eth0:0',
          'ip a a 10.0.0.1/8 brd + dev eth1',
          'ip -4 addr add 192.168.1.1/24 broadcast 192.168.1.255 dev eth2 scope global',
          'ip -6 addr add 2001:db8::1/64 dev eth0',
          'ip addr add 2001:db8:1::1/64 dev eth1',
        ].join('\n'),
      );
      for (const a of [
        '172.25.40.1',
        '172.25.40.100',
        '10.0.0.1',
        '192.168.1.1',
        '2001:db8::1',
        '2001:db8:1::1',
      ])
        expect(t.host.isLocal(IpAddr.parse(a)), a).to.equal(true);
      expect(t.host.lookupRoute(v4('10.9.9.9'))?.link.name).to.equal('eth1');
    });

    it('puts a VIP on lo as a local address without a link', () => {
      const t = apply('ip addr add 10.0.0.100/32 dev lo\nip -6 addr add 2001:db8::100/128 dev lo\n');
      expect(t.host.links).to.have.length(0);
      expect(t.host.isLocal(v4('10.0.0.100'))).to.equal(true);
      expect(t.host.isLocalV4(v4('10.0.0.100').w0)).to.equal(true);
      expect(t.host.isLocal(IpAddr.parse('2001:db8::100'))).to.equal(true);
      expect(t.host.isLocal(v4('10.0.0.101'))).to.equal(false);
    });

    it('makes a whole IPv4 prefix on lo local, as the kernel does', () => {
      const t = apply('ip addr add 10.9.0.1/24 dev lo\n');
      expect(t.host.isLocalV4(v4('10.9.0.77').w0)).to.equal(true);
      expect(t.host.isLocalV4(v4('10.9.1.77').w0)).to.equal(false);
    });

    it('adds neighbours and routes (default, via, dev, metric, IPv6)', () => {
      const t = apply(
        [
          'ip link set client address 02:00:00:00:01:01',
          'ip addr add 172.16.27.1/24 dev client',
          'ip -6 addr add 2001:db8:36::1/64 dev client',
          'ip neigh add 172.16.27.254 lladdr 02:00:00:00:0e:01 dev client nud permanent',
          'ip neighbour replace 2001:db8:36::fe lladdr 02:00:00:00:0e:02 dev client',
          'ip route add default via 172.16.27.254 dev client',
          'ip route add 198.51.100.0/24 via 172.16.27.254 metric 10',
          'ip -6 route add default via 2001:db8:36::fe dev client',
        ].join('\n'),
      );
      expect(t.host.neighbour(v4('172.16.27.254'))?.mac).to.equal(parseMac('02:00:00:00:0e:01'));
      expect(t.host.neighbour(IpAddr.parse('2001:db8:36::fe'))?.mac).to.equal(parseMac('02:00:00:00:0e:02'));
      expect(t.host.lookupRoute(v4('8.8.8.8'))?.via?.toString()).to.equal('172.16.27.254');
      expect(t.host.lookupRoute(v4('198.51.100.9'))?.metric).to.equal(10);
      expect(t.host.lookupRoute(IpAddr.parse('2001:db8:99::1'))?.via?.toString()).to.equal('2001:db8:36::fe');
    });

    it('accepts ip listings as no-ops', () => {
      const s = parseSetup('ip addr show\nip route\nip -s link\nip neigh show dev eth0\n');
      expect(s.commands.every((c) => c.kind === 'noop')).to.equal(true);
    });
  });

  describe('sysctls', () => {
    it('sets keys with sysctl -w, sysctl, several pairs, and echo > /proc/sys', () => {
      const t = apply(
        [
          'sysctl -w net.ipv4.ip_forward=1',
          'sysctl net.ipv4.vs.expire_nodest_conn=1 net.ipv4.vs.sloppy_tcp=1',
          'echo 1 > /proc/sys/net/ipv4/vs/expire_quiescent_template',
          'echo "3 40" > /proc/sys/net/ipv4/vs/sync_threshold',
          "sysctl -w net.ipv4.vs.conn_reuse_mode='0'",
          'sysctl -w net/ipv4/vs/pmtu_disc=0',
        ].join('\n'),
      );
      expect(t.sysctl.ipForward).to.equal(1);
      expect(t.sysctl.expireNodestConn).to.equal(1);
      expect(t.sysctl.sloppyTcp).to.equal(1);
      expect(t.sysctl.expireQuiescentTemplate).to.equal(1);
      expect(t.sysctl.get('net.ipv4.vs.sync_threshold')).to.equal('3\t40');
      expect(t.sysctl.connReuseMode).to.equal(0);
      expect(t.sysctl.pmtuDisc).to.equal(0);
    });

    it('rejects an unknown key and a value the kernel refuses, with the column', () => {
      const e1 = errorOf('sysctl -w net.ipv4.vs.no_such_key=1\n');
      expect([e1.line, e1.column]).to.deep.equal([1, 11]);
      expect(e1.reason).to.match(/unknown sysctl key 'net.ipv4.vs.no_such_key'/);
      const e2 = errorOf('# comment\necho 4 > /proc/sys/net/ipv4/vs/drop_entry\n');
      expect([e2.line, e2.column]).to.deep.equal([2, 6]);
      expect(e2.reason).to.match(/between 0 and 3/);
      expect(errorOf('sysctl -w net.ipv4.vs.sync_ports=3').reason).to.match(/power of two/);
      expect(errorOf('sysctl -w net.ipv4.vs.debug_level=1').reason).to.match(/unknown sysctl key/);
    });
  });

  describe('ipvsadm lines', () => {
    it('applies ipvsadm commands and bare ipvsadm-save -n lines with ipvsadm defaults', () => {
      const t = apply(
        [
          '-A -t 172.25.40.100:80',
          'ipvsadm -a -t 172.25.40.100:80 -r 172.25.40.2',
          '/sbin/ipvsadm -A -u 172.25.40.100:53 -s sh -b sh-port -p',
          'sudo ipvsadm -a -u 172.25.40.100:53 -r 172.25.40.3:53 -m -w 3 -x 10 -y 5',
          'ipvsadm -A -t 172.25.40.100:443 -s rr -p 60 -M 255.255.255.0',
          'ipvsadm -a -t 172.25.40.100:443 -r 10.1.1.1 -i --tun-type gue --tun-port 6080 --tun-csum',
          'ipvsadm --set 600 60 30',
        ].join('\n'),
      );
      const [http, dns, https] = t.ipvs.services;
      expect(http.schedName).to.equal('wlc');
      expect(http.dests[0].weight).to.equal(1);
      expect(http.dests[0].fwd).to.equal(Fwd.DROUTE);
      expect(http.dests[0].port).to.equal(80);
      expect(dns.timeout).to.equal(360);
      expect(dns.flags & SvcFlag.SCHED2).to.equal(SvcFlag.SCHED2);
      expect([dns.dests[0].weight, dns.dests[0].uThreshold, dns.dests[0].lThreshold]).to.deep.equal([
        3, 10, 5,
      ]);
      expect(https.netmask).to.equal(0xffffff00);
      expect([https.dests[0].tunType, https.dests[0].tunPort]).to.deep.equal([TunType.GUE, 6080]);
      expect(t.ipvs.timeouts.get()).to.deep.equal({ tcp: 600, tcpfin: 60, udp: 30 });
    });

    it('accepts listings, -Z, -S and sync-daemon commands as no-ops', () => {
      const t = apply(
        [
          '-A -t 10.0.0.1:80 -s rr',
          'ipvsadm -Ln',
          'ipvsadm',
          'ipvsadm -L -n --stats',
          'ipvsadm -Z',
          'ipvsadm -S -n',
          'ipvsadm-save -n',
          'ipvsadm --start-daemon master --mcast-interface eth9',
          'ipvsadm --stop-daemon master',
        ].join('\n'),
      );
      expect(t.ipvs.services).to.have.length(1);
      expect(t.ipvs.syncDaemons.master).to.equal(null);
    });

    it('names the line and column of an ipvsadm argument error', () => {
      const e = errorOf(
        'ip link set eth0 address 02:00:00:00:00:01\n  ipvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -w 2147483648\n',
      );
      expect([e.file, e.line, e.column]).to.deep.equal(['director.setup', 2, 44]);
      expect(e.message).to.equal('director.setup:2:44: ipvsadm: illegal weight specified');
    });

    it('lists the valid schedulers when -s names an unknown one', () => {
      const e = errorOf('ipvsadm -A -t 10.0.0.1:80 -s roundrobin\n');
      expect([e.line, e.column]).to.deep.equal([1, 1]);
      expect(e.reason).to.equal(
        `ipvsadm: Scheduler or persistence engine not found: no scheduler 'roundrobin' (valid: ${STUB_SCHEDULER_NAMES.join(', ')})`,
      );
    });

    it('reports a real server for a missing service with ipvsadm message', () => {
      const e = errorOf('-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.2:80 -r 10.0.0.9\n');
      expect([e.line, e.column]).to.deep.equal([2, 1]);
      expect(e.reason).to.equal('ipvsadm: Service not defined (TCP 10.0.0.2:80)');
    });

    it('reports a bad address at its column and an ipvsadm line without a command', () => {
      const e = errorOf('ipvsadm -A -t 10.0.0.300:80\n');
      expect([e.line, e.column, e.reason]).to.deep.equal([
        1,
        15,
        'ipvsadm: illegal virtual server address[:port] specified',
      ]);
      expect(errorOf('ipvsadm -t 10.0.0.1:80 -s rr').reason).to.match(/first option must be a command/);
      expect(errorOf('ipvsadm -R').reason).to.match(/standard input/);
    });
  });

  describe('timed commands', () => {
    it('keeps @SECONDS lines apart, sorted by time and stable for equal times', () => {
      const s = parseSetup(
        [
          '-A -t 10.0.0.1:80 -s rr',
          '@2.5 ipvsadm -a -t 10.0.0.1:80 -r 10.0.0.3',
          '@.5 ipvsadm -a -t 10.0.0.1:80 -r 10.0.0.2',
          '@2.5 ipvsadm -e -t 10.0.0.1:80 -r 10.0.0.3 -w 0',
          '@0 sysctl -w net.ipv4.vs.expire_nodest_conn=1',
        ].join('\n'),
      );
      expect(s.commands).to.have.length(1);
      expect(s.timed.map((c) => [c.atSeconds, c.line])).to.deep.equal([
        [0, 5],
        [0.5, 3],
        [2.5, 2],
        [2.5, 4],
      ]);
      const t = makeTarget();
      applySetup(s, t);
      expect(t.ipvs.services[0].dests).to.have.length(0);
      for (const c of s.timed) applySetupCommand(c, t);
      expect(t.ipvs.services[0].dests.map((d) => [d.addr.toString(), d.weight])).to.deep.equal([
        ['10.0.0.3', 0],
        ['10.0.0.2', 1],
      ]);
    });

    it('finds a timed line that cannot apply before the replay starts', () => {
      const e = errorOf('-A -t 10.0.0.1:80 -s rr\n@5 ipvsadm -d -t 10.0.0.1:80 -r 10.0.0.9\n');
      expect([e.line, e.column]).to.deep.equal([2, 4]);
      expect(e.reason).to.match(/No such destination/);
    });

    it('rejects a malformed time', () => {
      const e = errorOf('@2s ipvsadm -C\n');
      expect([e.line, e.column]).to.deep.equal([1, 1]);
      expect(e.reason).to.match(/invalid time '@2s'/);
    });
  });

  describe('comments, oracle settings, no-ops and unsupported lines', () => {
    it('ignores comments, #oracle: lines, blank lines and trailing comments', () => {
      const s = parseSetup(
        '# LVS-DR\n#oracle: settle_ms=80\n\n   \nipvsadm -A -t 10.0.0.1:80 -s rr # the web service\n',
      );
      expect(s.commands).to.have.length(1);
      expect(s.commands[0].line).to.equal(5);
    });

    it('joins a line continued with a backslash', () => {
      const t = apply('ipvsadm -A -t 10.0.0.1:80 \\\n  -s rr -p 30\n');
      expect([t.ipvs.services[0].schedName, t.ipvs.services[0].timeout]).to.deep.equal(['rr', 30]);
    });

    it('accepts modprobe of IPVS modules as a no-op', () => {
      const s = parseSetup('modprobe ip_vs\nmodprobe -a ip_vs_rr ip_vs_wrr nf_conntrack\n');
      expect(s.commands.map((c) => c.kind)).to.deep.equal(['noop', 'noop']);
    });

    it('rejects a command it does not model, naming line and column', () => {
      const e = errorOf('ip link set eth0 address 02:00:00:00:00:01\n\nyum install ipvsadm\n');
      expect([e.line, e.column]).to.deep.equal([3, 1]);
      expect(e.message).to.match(/^director\.setup:3:1: 'yum' is not a command the simulator models/);
      const typo = errorOf('ipvsdam -A -t 10.0.0.1:80\n');
      expect(typo.reason).to.match(/'ipvsdam' is not a command/);
      expect(errorOf('systemctl restart ipvsadm').reason).to.match(/'systemctl' is not a command/);
      expect(errorOf('ipvsadm -A -t 10.0.0.1:80 && echo ok').reason).to.match(/one command per line/);
    });

    it('skips unsupported commands with a warning when lenient, but not invalid arguments', () => {
      const s = parseSetup('yum install ipvsadm\nip link set eth0 down\nipvsadm -A -t 10.0.0.1:80\n', {
        file: 'f',
        lenient: true,
      });
      expect(s.commands).to.have.length(1);
      expect(s.warnings).to.deep.equal([
        "f:1:1: skipped: 'yum' is not a command the simulator models (ip, sysctl, echo > /proc/sys, ipvsadm, iptables -t mangle, modprobe)",
        "f:2:18: skipped: 'ip link set … down' (a link that is down) is not supported",
      ]);
      expect(() => parseSetup('ip addr add 10.0.0.300/24 dev eth0\n', { lenient: true })).to.throw(
        SetupError,
        /invalid address '10.0.0.300\/24'/,
      );
      expect(() => parseSetup('ipvsadm -A -t 10.0.0.1:80 -w 1\n', { lenient: true })).to.throw(
        SetupError,
        /Illegal 'weight' option/,
      );
    });

    it('reports bad ip arguments with their column', () => {
      const e = errorOf('ip neigh add 10.0.0.2 lladdr 02:00:00:00:00 dev eth0\n');
      expect([e.column, e.reason]).to.deep.equal([
        30,
        "invalid MAC address '02:00:00:00:00' (expected xx:xx:xx:xx:xx:xx)",
      ]);
      expect(errorOf('ip -6 addr add 10.0.0.1/24 dev eth0').reason).to.match(/not an IPv6 address/);
      expect(errorOf('ip addr add 10.0.0.1/24').reason).to.match(/needs 'dev DEVICE'/);
      const dup = errorOf('ip addr add 10.0.0.1/24 dev eth0\nip addr add 10.0.0.1/24 dev eth0\n');
      expect([dup.line, dup.column]).to.deep.equal([2, 13]);
      expect(dup.reason).to.match(/File exists/);
      const gw = errorOf('ip route add default via 10.9.9.9\n');
      expect(gw.reason).to.match(/not directly reachable/);
    });
  });

  describe('the oracle scenarios', () => {
    for (const sc of scenarios())
      it(`${sc.name}: parses and dry-runs its set-up, timed lines included`, () => {
        const s = parseSetup(sc.setup, { file: `${sc.name}/setup` });
        validateSetup(s, makeTarget);
        expect(s.commands.length).to.be.greaterThan(3);
      });
  });

  describe('property: the rules written back replay to the same director', () => {
    const addr = fc.tuple(
      fc.integer({ min: 1, max: 223 }),
      fc.nat(255),
      fc.nat(255),
      fc.integer({ min: 1, max: 254 }),
    );
    const dest = fc.record({
      a: addr,
      port: fc.integer({ min: 1, max: 65535 }),
      fwd: fc.constantFrom('-g', '-m', '-i'),
      w: fc.nat(100),
      x: fc.nat(50),
    });
    const svc = fc.record({
      proto: fc.constantFrom('-t', '-u'),
      a: addr,
      port: fc.integer({ min: 1, max: 65535 }),
      sched: fc.constantFrom('rr', 'wrr', 'wlc', 'sh', 'mh', 'lblc'),
      p: fc.option(fc.integer({ min: 1, max: 3600 }), { nil: undefined }),
      dests: fc.array(dest, { maxLength: 5 }),
    });
    it('-S -n of a random configuration, replayed, lists the same rules and kernel order', () => {
      fc.assert(
        fc.property(fc.array(svc, { maxLength: 6 }), (svcs) => {
          const lines: string[] = [];
          for (const s of svcs) {
            const vip = `${s.a.join('.')}:${s.port}`;
            lines.push(`-A ${s.proto} ${vip} -s ${s.sched}${s.p ? ` -p ${s.p}` : ''}`);
            for (const d of s.dests)
              lines.push(`-a ${s.proto} ${vip} -r ${d.a.join('.')}:${d.port} ${d.fwd} -w ${d.w} -x ${d.x}`);
          }
          const t1 = makeTarget();
          const st1 = { ipvs: t1.ipvs, conns: [] };
          for (const l of lines) runIpvsadm(l.split(' '), st1);
          const t2 = apply(setupRulesText(t1.ipvs).join('\n'));
          const st2 = { ipvs: t2.ipvs, conns: [] };
          expect(saveText(st2, true)).to.equal(saveText(st1, true));
          expect(runIpvsadm(['-Ln', '--thresholds'], st2).stdout).to.equal(
            runIpvsadm(['-Ln', '--thresholds'], st1).stdout,
          );
          // the kernel's destination order (newest first), which schedulers depend on, survives
          const order = (t: SetupTarget) =>
            t.ipvs.services.map((s) => s.dests.map((d) => `${d.addr}:${d.port}`));
          expect(order(t2)).to.deep.equal(order(t1));
        }),
        { numRuns: 60 },
      );
    });
  });
});
