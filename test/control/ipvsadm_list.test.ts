/**
 * ipvsadm's listing formats in the cases the oracle cannot produce without
 * heavy traffic: K/M/G/T scaling of large counters and --exact, --rate with
 * estimator values, connection entries (templates, IPv6, a firewall-mark
 * template, long expiry times, persistence-engine data), and the 33/28
 * column truncation of long names. Widths follow ipvsadm.c's printf formats.
 */
import { expect } from 'chai';
import { IpAddr } from '../../src/wire/addr.js';
import {
  connListText,
  largeNum,
  runIpvsadm,
  runIpvsadmListing,
  Fmt,
  type ConnListEntry,
  type ListState,
  type RateValues,
} from '../../src/control/ipvsadm/index.js';
import type { Dest, Service } from '../../src/ipvs/service.js';
import { applySetup, parseSetup } from '../../src/control/setup.js';
import { makeTarget } from './helpers.js';

/** printf("%-Ns") and printf("%Ns"), to spell out ipvsadm.c's formats in the expectations. */
const L = (s: string | number, n: number) => String(s).padEnd(n);
const R = (s: string | number, n: number) => String(s).padStart(n);
/** print_service_entry()'s `%-33s` then print_largenum() per column. */
const statsLine = (name: string, ...cols: string[]) => L(name, 33) + cols.join('');
/** The plain real-server line: "  -> %-28s %-7s %-6d %-10u %-10u". */
const destLine = (name: string, fwd: string, w: number) =>
  `  -> ${L(name, 28)} ${L(fwd, 7)} ${L(w, 6)} ${L(0, 10)} ${L(0, 10)}`;

function state(setup: string): ListState {
  const t = makeTarget();
  applySetup(parseSetup(setup), t);
  return { ipvs: t.ipvs, conns: [] };
}

function conn(over: Partial<ConnListEntry>): ConnListEntry {
  return {
    protocol: 6,
    af: 4,
    template: false,
    stateName: 'ESTABLISHED',
    expiresMs: 899_500,
    caddr: IpAddr.parse('203.0.113.7'),
    cport: 40000,
    vaddr: IpAddr.parse('10.0.0.100'),
    vport: 80,
    daddr: IpAddr.parse('10.0.1.1'),
    dport: 80,
    fwmark: 0,
    peName: '',
    peData: '',
    ...over,
  };
}

describe('control: ipvsadm listing formats', () => {
  describe('print_largenum', () => {
    const cases: [number, string][] = [
      [0, '        0'],
      [99_999_999, ' 99999999'],
      [100_000_000, '  100000K'],
      [999_999_999, '  999999K'],
      [1_000_000_000, '    1000M'],
      [99_999_999_999, '   99999M'],
      [100_000_000_000, '     100G'],
      [99_999_999_999_999, '   99999G'],
      [100_000_000_000_000, '     100T'],
    ];
    for (const [n, text] of cases)
      it(`prints ${n} as '${text}' (9 columns, K/M/G/T above 10^8)`, () =>
        expect(largeNum(n, 0)).to.equal(text));
    it('prints exact values with --exact: 9 columns, wider numbers get one leading space', () => {
      expect(largeNum(12_345, Fmt.EXACT)).to.equal('    12345');
      expect(largeNum(123_456_789, Fmt.EXACT)).to.equal(' 123456789');
      expect(largeNum(123_456_789_012, Fmt.EXACT)).to.equal(' 123456789012');
    });
  });

  it('scales large counters in --stats and expands them with --exact', () => {
    const s = state('-A -t 10.0.0.100:80 -s rr\n-a -t 10.0.0.100:80 -r 10.0.1.1:80 -g\n');
    const svc = s.ipvs.services[0];
    svc.stats.conns = 123_456_789;
    svc.stats.inpkts = 4_000_000_000;
    svc.stats.outpkts = 0;
    svc.stats.inbytes = 5_000_000_000_000;
    svc.stats.outbytes = 7_000_000_000_000_000;
    svc.dests[0].stats.conns = 99_999_999;
    expect(runIpvsadmListing(['-Ln', '--stats'], s).stdout).to.equal(
      'IP Virtual Server version 1.2.1 (size=4096)\n' +
        'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n' +
        '  -> RemoteAddress:Port\n' +
        statsLine('TCP  10.0.0.100:80', '  123456K', '    4000M', R(0, 9), '    5000G', '    7000T') +
        '\n' +
        statsLine('  -> 10.0.1.1:80', R(99999999, 9), R(0, 9), R(0, 9), R(0, 9), R(0, 9)) +
        '\n',
    );
    expect(runIpvsadmListing(['-Ln', '--stats', '--exact'], s).stdout.split('\n')[3]).to.equal(
      statsLine(
        'TCP  10.0.0.100:80',
        ' 123456789',
        ' 4000000000',
        R(0, 9),
        ' 5000000000000',
        ' 7000000000000000',
      ),
    );
  });

  it('lists --rate from the estimator values given (real servers: CPS/PPS unscaled, BPS scaled)', () => {
    const s = state('-A -u 10.0.0.53:53 -s rr\n-a -u 10.0.0.53:53 -r 10.0.1.1:53 -m\n');
    const svc = s.ipvs.services[0];
    const d = svc.dests[0];
    s.rates = new Map<Service | Dest, RateValues>([
      [svc, { cps: 12, inpps: 345, outpps: 6, inbps: 250_000_000, outbps: 78 }],
      [d, { cps: 123_456_789, inpps: 1, outpps: 2, inbps: 3, outbps: 100_000_000 }],
    ]);
    expect(runIpvsadmListing(['-Ln', '--rate'], s).stdout).to.equal(
      'IP Virtual Server version 1.2.1 (size=4096)\n' +
        'Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n' +
        '  -> RemoteAddress:Port\n' +
        statsLine('UDP  10.0.0.53:53', R(12, 9), R(345, 9), R(6, 9), '  250000K', R(78, 9)) +
        '\n' +
        // "  -> %-28s %8llu %8llu %8llu" then print_largenum() twice
        `  -> ${L('10.0.1.1:53', 28)} ${R(123456789, 8)} ${R(1, 8)} ${R(2, 8)}${R(3, 9)}  100000K\n`,
    );
  });

  it('lists connection entries and templates as /proc/net/ip_vs_conn gives them to ipvsadm -c', () => {
    const conns = [
      conn({ stateName: 'SYN_RECV', expiresMs: 59_999 }),
      conn({ template: true, stateName: 'ASSURED', cport: 0, expiresMs: 360_000 }),
      // a firewall-mark template: protocol IP, the mark as the virtual address, port 0
      conn({
        protocol: 0,
        template: true,
        stateName: 'NONE',
        cport: 0,
        vaddr: new IpAddr(4, 7),
        vport: 0,
        dport: 0,
      }),
      conn({
        protocol: 17,
        af: 6,
        stateName: 'UDP',
        expiresMs: 7_200_000,
        caddr: IpAddr.parse('2001:db8::7'),
        cport: 5353,
        vaddr: IpAddr.parse('2001:db8::53'),
        vport: 53,
        daddr: IpAddr.parse('2001:db8:1::1'),
        dport: 53,
      }),
      conn({ expiresMs: -5 }),
    ];
    expect(connListText(Fmt.NUMERIC, conns)).to.equal(
      'IPVS connection entries\n' +
        'pro expire state       source             virtual            destination\n' +
        'TCP 00:59  SYN_RECV    203.0.113.7:40000  10.0.0.100:80      10.0.1.1:80\n' +
        'TCP 06:00  ASSURED     203.0.113.7:0      10.0.0.100:80      10.0.1.1:80\n' +
        'IP  14:59  NONE        203.0.113.7:0      0.0.0.7:0          10.0.1.1:0\n' +
        'UDP 120:00 UDP         [2001:db8::7]:5353 [2001:db8::53]:53  [2001:db8:1::1]:53\n' +
        'TCP 00:00  ESTABLISHED 203.0.113.7:40000  10.0.0.100:80      10.0.1.1:80\n',
    );
    // without -n: port names for TCP/UDP/SCTP, numbers for the IP template
    expect(connListText(0, conns).split('\n').slice(2, 5)).to.deep.equal([
      'TCP 00:59  SYN_RECV    203.0.113.7:40000  10.0.0.100:http    10.0.1.1:http',
      'TCP 06:00  ASSURED     203.0.113.7:0      10.0.0.100:http    10.0.1.1:http',
      'IP  14:59  NONE        203.0.113.7:0      0.0.0.7:0          10.0.1.1:0',
    ]);
  });

  it('adds the persistence-engine columns with --persistent-conn when an entry has them', () => {
    const conns = [
      conn({ protocol: 17, stateName: 'UDP', peName: 'sip', peData: 'a84b4c76e66710' }),
      conn({}),
    ];
    expect(connListText(Fmt.NUMERIC | Fmt.PERSISTENTCONN, conns)).to.equal(
      'IPVS connection entries\n' +
        'pro expire state       source             virtual            destination        pe name          pe_data\n' +
        'UDP 14:59  UDP         203.0.113.7:40000  10.0.0.100:80      10.0.1.1:80      sip                a84b4c76e66710\n' +
        'TCP 14:59  ESTABLISHED 203.0.113.7:40000  10.0.0.100:80      10.0.1.1:80\n',
    );
  });

  it('cuts IPv4 service names at 33 columns and real-server names at 28, but never IPv6 ones', () => {
    const s = state(
      '-A -u 223.255.255.254:751 -s rr\n-a -u 223.255.255.254:751 -r 223.255.255.253:751 -m\n' +
        '-A -t [2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:80 -s rr\n' +
        '-a -t [2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:80 -r [2001:db8:aaaa:bbbb:cccc:dddd:eeee:1]:80\n',
    );
    const lines = runIpvsadm(['-L'], s).stdout.split('\n');
    // 'UDP  223.255.255.254:kerberos-master' is cut to 33 columns, '223.255.255.253:kerberos-master' to 28
    expect(lines[3]).to.equal('UDP  223.255.255.254:kerberos-mas rr');
    expect(lines[4]).to.equal(destLine('223.255.255.253:kerberos-mas', 'Masq', 1));
    expect(lines[5]).to.equal('TCP  [2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:http rr');
    expect(lines[6]).to.equal(destLine('[2001:db8:aaaa:bbbb:cccc:dddd:eeee:1]:http', 'Route', 1));
  });

  it('sorts services by mark, family, protocol, address, port and real servers by address, port', () => {
    const s = state(
      [
        '-A -f 5 -s rr',
        '-A -u 10.0.0.1:53 -s rr',
        '-A -t [::1]:80 -s rr',
        '-A -t 10.0.0.1:80 -s rr',
        '-A -t 9.0.0.1:443 -s rr',
        '-A -t 9.0.0.1:22 -s rr',
        '-a -t 9.0.0.1:22 -r 10.0.0.9:22',
        '-a -t 9.0.0.1:22 -r 10.0.0.10:22',
        '-a -t 9.0.0.1:22 -r 10.0.0.9:21 -m',
      ].join('\n'),
    );
    expect(runIpvsadm(['-Ln'], s).stdout.split('\n').slice(3, -1)).to.deep.equal([
      'TCP  9.0.0.1:22 rr',
      destLine('10.0.0.9:21', 'Masq', 1),
      destLine('10.0.0.9:22', 'Route', 1),
      destLine('10.0.0.10:22', 'Route', 1),
      'TCP  9.0.0.1:443 rr',
      'TCP  10.0.0.1:80 rr',
      'UDP  10.0.0.1:53 rr',
      'TCP  [::1]:80 rr',
      'FWM  5 rr',
    ]);
  });

  it('compares addresses as ipvsadm does, with a wrapping subtraction (1.0.0.0 after 200.0.0.0)', () => {
    const s = state('-A -t 1.0.0.1:80 -s rr\n-A -t 200.0.0.1:80 -s rr\n');
    expect(runIpvsadm(['-Ln'], s).stdout.split('\n').slice(3, -1)).to.deep.equal([
      'TCP  200.0.0.1:80 rr',
      'TCP  1.0.0.1:80 rr',
    ]);
  });

  it('refuses a configuring command given as a listing (replay --list)', () => {
    const s = state('');
    const r = runIpvsadmListing(['-A', '-t', '10.0.0.1:80'], s);
    expect(r.status).to.equal(2);
    expect(s.ipvs.services).to.have.length(0);
  });

  it('puts -L in front of listing options that lack a command', () => {
    const s = state('-A -t 10.0.0.1:80 -s rr\n');
    expect(runIpvsadmListing(['-n', '--stats'], s).stdout).to.equal(
      runIpvsadmListing(['-Ln', '--stats'], s).stdout,
    );
    expect(runIpvsadmListing(['-c'], s).stdout).to.match(/^IPVS connection entries\n/);
    expect(runIpvsadmListing(['-S', '-n'], s).stdout).to.equal('-A -t 10.0.0.1:80 -s rr\n');
  });
});
