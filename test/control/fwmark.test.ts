/**
 * Firewall marks: the `iptables -t mangle -A PREROUTING … -j MARK` lines of
 * a set-up and FwmarkRules.mark() per packet — matches, negation, ranges,
 * multiport, interfaces, IPv6, the MARK arithmetic and chain order — checked
 * against examples and, as a property, against a plain reference evaluator.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { IpAddr } from '../../src/wire/addr.js';
import { applySetup, parseSetup, SetupError, type SetupTarget } from '../../src/control/setup.js';
import { FwmarkRules, FwmarkRule, MarkVerdict } from '../../src/ipvs/fwmark.js';
import { makeTarget } from './helpers.js';

function rules(text: string): SetupTarget {
  const t = makeTarget();
  applySetup(parseSetup(text, { file: 'fw.setup' }), t);
  return t;
}

const words = (a: string) => {
  const w = new Uint32Array(4);
  IpAddr.parse(a).writeWords(w);
  return w;
};

/** mark() of a TCP/UDP packet described in text. */
function markOf(
  t: SetupTarget,
  p: { proto?: number; src: string; dst: string; sport?: number; dport: number; dev?: string },
) {
  const af = p.src.includes(':') ? 6 : 4;
  const link = p.dev ? t.host.link(p.dev).index : 0;
  return t.fwmarks.mark(af, p.proto ?? 6, words(p.src), words(p.dst), p.sport ?? 40000, p.dport, link);
}

describe('control: firewall marks (iptables MARK at PREROUTING)', () => {
  it('marks the packets of the classic LVS-HOWTO rule and nothing else', () => {
    const t = rules(
      'ip link set eth0 address 02:00:00:00:00:01\n' +
        'iptables -t mangle -A PREROUTING -d 192.168.1.110/32 -p tcp --dport 80 -j MARK --set-mark 1\n' +
        'iptables -t mangle -A PREROUTING -i eth0 -p tcp -d 192.168.1.110 -m multiport --dports 443,8000:8010 -j MARK --set-mark 0x2\n',
    );
    expect(markOf(t, { src: '10.0.0.1', dst: '192.168.1.110', dport: 80 })).to.equal(1);
    expect(markOf(t, { src: '10.0.0.1', dst: '192.168.1.110', dport: 81 })).to.equal(0);
    expect(markOf(t, { src: '10.0.0.1', dst: '192.168.1.111', dport: 80 })).to.equal(0);
    expect(markOf(t, { proto: 17, src: '10.0.0.1', dst: '192.168.1.110', dport: 80 })).to.equal(0);
    expect(markOf(t, { src: '10.0.0.1', dst: '192.168.1.110', dport: 443, dev: 'eth0' })).to.equal(2);
    expect(markOf(t, { src: '10.0.0.1', dst: '192.168.1.110', dport: 8005, dev: 'eth0' })).to.equal(2);
    expect(markOf(t, { src: '10.0.0.1', dst: '192.168.1.110', dport: 8011, dev: 'eth0' })).to.equal(0);
    expect(markOf(t, { src: '10.0.0.1', dst: '192.168.1.110', dport: 443, dev: 'eth1' })).to.equal(0);
  });

  it('applies every matching rule in order (MARK does not end the chain), until ACCEPT or RETURN', () => {
    const t = rules(
      [
        'iptables -t mangle -A PREROUTING -p tcp -j MARK --set-mark 1',
        'iptables -t mangle -A PREROUTING -p tcp --dport 80 -j MARK --set-mark 2',
        'iptables -t mangle -A PREROUTING -p tcp --sport 1000:1999 -j RETURN',
        'iptables -t mangle -A PREROUTING -p tcp -j MARK --or-mark 0x100',
      ].join('\n'),
    );
    expect(markOf(t, { src: '10.0.0.1', dst: '10.0.0.2', dport: 22 })).to.equal(0x101);
    expect(markOf(t, { src: '10.0.0.1', dst: '10.0.0.2', dport: 80 })).to.equal(0x102);
    expect(markOf(t, { src: '10.0.0.1', dst: '10.0.0.2', dport: 80, sport: 1500 })).to.equal(2);
  });

  it('reduces every MARK option to the kernel (value, mask) form', () => {
    const cases: [string, number, number][] = [
      ['--set-mark 5', 5, 0xffffffff],
      ['--set-mark 0x10/0xf0', 0x10, 0xf0],
      ['--set-xmark 0x10/0xf0', 0x10, 0xf0],
      ['--set-xmark 7', 7, 0xffffffff],
      ['--and-mark 0x0f', 0, 0xfffffff0],
      ['--or-mark 0x30', 0x30, 0x30],
      ['--xor-mark 0x30', 0x30, 0],
    ];
    for (const [opt, value, mask] of cases) {
      const r = rules(`iptables -t mangle -A PREROUTING -j MARK ${opt}`).fwmarks.list()[0];
      expect([r.markValue, r.markMask], opt).to.deep.equal([value >>> 0, mask >>> 0]);
    }
  });

  it('negates matches with !, takes prefixes and port ranges, and inserts with -I', () => {
    const t = rules(
      [
        'iptables -t mangle -A PREROUTING ! -s 10.1.0.0/16 -p udp --dport :1023 -j MARK --set-mark 3',
        'iptables -t mangle -I PREROUTING -s 10.1.2.0/255.255.255.0 -p udp ! --dport 53 -j ACCEPT',
        'iptables -t mangle -I PREROUTING 2 -p udp -d 10.9.0.0/16 -j RETURN',
      ].join('\n'),
    );
    expect(t.fwmarks.list().map((r) => r.verdict)).to.deep.equal([
      MarkVerdict.STOP,
      MarkVerdict.STOP,
      MarkVerdict.MARK,
    ]);
    expect(markOf(t, { proto: 17, src: '10.2.0.1', dst: '10.0.0.1', dport: 53 })).to.equal(3);
    expect(markOf(t, { proto: 17, src: '10.2.0.1', dst: '10.0.0.1', dport: 1024 })).to.equal(0);
    expect(markOf(t, { proto: 17, src: '10.1.0.1', dst: '10.0.0.1', dport: 53 })).to.equal(0);
    expect(markOf(t, { proto: 17, src: '10.2.0.1', dst: '10.9.0.1', dport: 53 })).to.equal(0);
  });

  it('keeps iptables and ip6tables rules to their own family', () => {
    const t = rules(
      'iptables -t mangle -A PREROUTING -p tcp --dport 80 -j MARK --set-mark 4\n' +
        'ip6tables -t mangle -A PREROUTING -d 2001:db8::/32 -p tcp --dport 80 -j MARK --set-mark 6\n',
    );
    expect(markOf(t, { src: '10.0.0.1', dst: '10.0.0.2', dport: 80 })).to.equal(4);
    expect(markOf(t, { src: '2001:db8::1', dst: '2001:db8::2', dport: 80 })).to.equal(6);
    expect(markOf(t, { src: '2001:db9::1', dst: '2001:db9::2', dport: 80 })).to.equal(0);
  });

  it('flushes with -F, and accepts listings and flushes of other tables as no-ops', () => {
    const t = rules(
      'iptables -t mangle -A PREROUTING -j MARK --set-mark 1\niptables -t mangle -F\niptables -F\niptables -t nat -F\niptables -L -n\n',
    );
    expect(t.fwmarks.size).to.equal(0);
  });

  it('feeds an ipvsadm -f service: the mark the rule sets names the service', () => {
    const t = rules(
      'iptables -t mangle -A PREROUTING -d 10.0.0.100 -p tcp -m tcp --dport 80 -j MARK --set-mark 1\n' +
        'ipvsadm -A -f 1 -s rr\nipvsadm -a -f 1 -r 10.0.1.1 -g\n',
    );
    const mark = markOf(t, { src: '198.51.100.1', dst: '10.0.0.100', dport: 80 });
    expect(t.ipvs.findService(4, 6, null, 0, mark)?.dests).to.have.length(1);
  });

  it('rejects rules outside the modelled subset, with the column', () => {
    const err = (line: string) => {
      try {
        parseSetup(line, { file: 'fw' });
      } catch (e) {
        if (e instanceof SetupError) return [e.column, e.reason] as const;
      }
      return null;
    };
    expect(err('iptables -A PREROUTING -j MARK --set-mark 1')).to.deep.equal([
      1,
      "only the mangle table is modelled (marks for -f services): add '-t mangle'",
    ]);
    expect(err('iptables -t mangle -A PREROUTING --dport 80 -j MARK --set-mark 1')?.[1]).to.match(
      /needs '-p tcp'/,
    );
    expect(err('iptables -t mangle -A PREROUTING -p tcp -j CONNMARK --set-mark 1')?.[0]).to.equal(44);
    expect(err('iptables -t mangle -A OUTPUT -j MARK --set-mark 1')?.[1]).to.match(/PREROUTING chain/);
    expect(err('iptables -t mangle -A PREROUTING -j MARK')?.[1]).to.match(/needs --set-mark/);
    expect(err('iptables -t mangle -A PREROUTING -p tcp --dport 99999 -j MARK --set-mark 1')?.[1]).to.match(
      /invalid port/,
    );
    expect(err('iptables -t mangle -A PREROUTING -s 10.0.0.0/33 -j MARK --set-mark 1')?.[1]).to.match(
      /invalid address/,
    );
    expect(err('iptables -t mangle -A PREROUTING -j MARK --set-mark 0x1ffffffff')?.[1]).to.match(/32 bits/);
    expect(
      parseSetup('iptables -t mangle -A PREROUTING -m conntrack -j MARK --set-mark 1', { lenient: true })
        .warnings,
    ).to.have.length(1);
  });

  describe('property: mark() equals a plain evaluation of the rules', () => {
    const range = fc
      .tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 200 }))
      .map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const);
    const ruleArb = fc.record({
      protocol: fc.constantFrom(0, 6, 17),
      protocolInvert: fc.boolean(),
      src: fc.option(fc.tuple(fc.nat(3), fc.integer({ min: 0, max: 32 })), { nil: undefined }),
      srcInvert: fc.boolean(),
      dports: fc.array(range, { maxLength: 3 }),
      dportsInvert: fc.boolean(),
      inLink: fc.constantFrom(-1, 0, 1),
      inInvert: fc.boolean(),
      stop: fc.boolean(),
      value: fc.nat(),
      mask: fc.nat(),
    });
    const packet = fc.record({
      proto: fc.constantFrom(6, 17, 132),
      src: fc.nat(3),
      dport: fc.integer({ min: 0, max: 200 }),
      link: fc.nat(2),
    });
    it('for random rule lists and packets', () => {
      fc.assert(
        fc.property(
          fc.array(ruleArb, { maxLength: 6 }),
          fc.array(packet, { minLength: 1, maxLength: 10 }),
          (rs, ps) => {
            const chain = new FwmarkRules();
            for (const r of rs) {
              const x = new FwmarkRule();
              x.protocol = r.protocol;
              x.protocolInvert = r.protocolInvert;
              if (r.src) {
                x.hasSource = true;
                x.source[0] = (0x0a000000 | r.src[0]) >>> 0;
                x.sourceMask[0] = r.src[1] === 0 ? 0 : (~0 << (32 - r.src[1])) >>> 0;
                x.sourceInvert = r.srcInvert;
              }
              x.destinationPorts = Uint16Array.from(r.dports.flat());
              x.destinationPortsInvert = r.dportsInvert;
              x.inLink = r.inLink;
              x.inLinkInvert = r.inInvert;
              x.verdict = r.stop ? MarkVerdict.STOP : MarkVerdict.MARK;
              x.markValue = r.value >>> 0;
              x.markMask = r.mask >>> 0;
              chain.add(x);
            }
            for (const p of ps) {
              let want = 0;
              for (const r of rs) {
                const protoOk = r.protocol === 0 || (p.proto === r.protocol) !== r.protocolInvert;
                const saddr = (0x0a000000 | p.src) >>> 0;
                const m = r.src ? (r.src[1] === 0 ? 0 : (~0 << (32 - r.src[1])) >>> 0) : 0;
                const srcOk =
                  !r.src ||
                  ((saddr & m) >>> 0 === (((0x0a000000 | r.src[0]) >>> 0) & m) >>> 0) !== r.srcInvert;
                const inPorts = r.dports.some(([lo, hi]) => p.dport >= lo && p.dport <= hi);
                const portOk = r.dports.length === 0 || inPorts !== r.dportsInvert;
                const linkOk = r.inLink === -1 || (p.link === r.inLink) !== r.inInvert;
                if (!(protoOk && srcOk && portOk && linkOk)) continue;
                if (r.stop) break;
                want = ((want & ~r.mask) ^ r.value) >>> 0;
              }
              const s = new Uint32Array([(0x0a000000 | p.src) >>> 0, 0, 0, 0]);
              const d = new Uint32Array([0x0a0000fe, 0, 0, 0]);
              expect(chain.mark(4, p.proto, s, d, 1234, p.dport, p.link)).to.equal(want);
            }
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});
