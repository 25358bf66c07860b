/**
 * The oracle's ipvsadm listings, reproduced byte for byte: for every
 * scenario, the services and real servers come from its set-up (parsed and
 * applied by the set-up parser, timed commands included), the counters and
 * connection entries are copied from the expected files, and `-Ln`,
 * `-Ln --stats` and `-Lnc` must print exactly what ipvsadm 1.31 printed on
 * the oracle's kernel.
 */
import { expect } from 'chai';
import { IpAddr } from '../../src/wire/addr.js';
import { applySetup, applySetupCommand, parseSetup } from '../../src/control/setup.js';
import { runIpvsadmListing } from '../../src/control/ipvsadm/index.js';
import type { ConnListEntry, ListState } from '../../src/control/ipvsadm/list.js';
import type { Dest, Service } from '../../src/ipvs/service.js';
import type { Ipvs } from '../../src/ipvs/ctl.js';
import { makeTarget, scenarios } from './helpers.js';

function parseAddrPort(text: string): { addr: IpAddr; port: number } {
  const m = /^\[(.+)\]:(\d+)$/.exec(text) ?? /^(.+):(\d+)$/.exec(text);
  if (!m) throw new Error(`bad address:port '${text}'`);
  return { addr: IpAddr.parse(m[1]), port: Number(m[2]) };
}

const PROTO: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132 };

/** Walks a listing: calls `onService` / `onDest` with the whitespace-split fields of each line. */
function walk(
  ipvs: Ipvs,
  text: string,
  onService: (svc: Service, f: string[]) => void,
  onDest: (d: Dest, f: string[]) => void,
): void {
  let svc: Service | undefined;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (PROTO[f[0]] !== undefined) {
      const { addr, port } = parseAddrPort(f[1]);
      svc = ipvs.findService(addr.af, PROTO[f[0]], addr, port, 0);
      if (!svc) throw new Error(`no service for '${line}'`);
      onService(svc, f);
    } else if (f[0] === '->' && f[1] !== 'RemoteAddress:Port') {
      const { addr, port } = parseAddrPort(f[1]);
      const d = svc && ipvs.lookupDest(svc, addr.af, addr, port);
      if (!d) throw new Error(`no real server for '${line}'`);
      onDest(d, f);
    }
  }
}

function conns(text: string): ConnListEntry[] {
  return text
    .split('\n')
    .slice(2)
    .filter((l) => l)
    .map((line) => {
      const [proto, expire, state, src, virt, dst] = line.trim().split(/\s+/);
      const [mm, ss] = expire.split(':').map(Number);
      const c = parseAddrPort(src);
      const v = parseAddrPort(virt);
      const d = parseAddrPort(dst);
      return {
        protocol: PROTO[proto],
        af: c.addr.af,
        template: c.port === 0,
        stateName: state,
        expiresMs: (mm * 60 + ss) * 1000 + 999,
        caddr: c.addr,
        cport: c.port,
        vaddr: v.addr,
        vport: v.port,
        daddr: d.addr,
        dport: d.port,
        fwmark: 0,
        peName: '',
        peData: '',
      };
    });
}

/** The director of a scenario at the end of its replay, with the oracle's counters. */
function endState(sc: ReturnType<typeof scenarios>[number]): ListState {
  const t = makeTarget();
  const script = parseSetup(sc.setup, { file: `${sc.name}/setup` });
  applySetup(script, t);
  for (const c of script.timed) applySetupCommand(c, t);
  walk(
    t.ipvs,
    sc.dests,
    () => undefined,
    (d, f) => {
      d.activeConns = Number(f[4]);
      d.totalConns = Number(f[4]) + Number(f[5]);
    },
  );
  const setStats = (s: Service['stats'], f: string[]) => {
    s.conns = Number(f[2]);
    s.inpkts = Number(f[3]);
    s.outpkts = Number(f[4]);
    s.inbytes = Number(f[5]);
    s.outbytes = Number(f[6]);
  };
  walk(
    t.ipvs,
    sc.stats,
    (s, f) => setStats(s.stats, f),
    (d, f) => setStats(d.stats, f.slice(0)),
  );
  return { ipvs: t.ipvs, conns: conns(sc.conns) };
}

describe('control: oracle ipvsadm listings', () => {
  for (const sc of scenarios()) {
    describe(sc.name, () => {
      it('ipvsadm -Ln equals expected/ipvs-dests.txt', () => {
        const r = runIpvsadmListing(['-Ln'], endState(sc));
        expect(r.stderr).to.equal('');
        expect(r.stdout).to.equal(sc.dests);
      });
      it('ipvsadm -Ln --stats equals expected/ipvs-stats.txt', () => {
        const r = runIpvsadmListing(['-Ln', '--stats'], endState(sc));
        expect(r.stdout).to.equal(sc.stats);
      });
      it('ipvsadm -Lnc equals expected/ipvs-conns.txt (expire column aside)', () => {
        const r = runIpvsadmListing(['-Lnc'], endState(sc));
        const cut = (s: string) => s.split('\n').map((l) => l.slice(0, 4) + l.slice(10));
        expect(cut(r.stdout)).to.deep.equal(cut(sc.conns));
        // with the expire times copied too, the whole text matches
        expect(r.stdout).to.equal(sc.conns);
      });
    });
  }
});
