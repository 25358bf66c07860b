/**
 * Scheduling decisions against the real kernel: every scenario below is
 * replayed through the schedulers with a small connection model
 * (oracle_replay.ts) and each new connection's real server is compared with
 * the one the 6.1 kernel chose in the scenario's expected output.
 */
import { expect } from 'chai';
import path from 'node:path';
import { Dest } from '../../../src/ipvs/service.js';
import { readFileSync } from 'node:fs';
import { hostOf, readPcap, replayScenario, SCHED_SCENARIO_DIR, type Decision } from './oracle_replay.js';
import { SPECS } from './scenarios/generate.js';

function mismatches(ds: Decision[]): string[] {
  return ds
    .filter((d) => hostOf(d.picked) !== d.kernel)
    .map(
      (d) => `input ${d.input} from ${d.client}: picked ${d.picked ?? 'none'}, kernel ${d.kernel ?? 'none'}`,
    );
}

/** Scenarios of the shared oracle set whose decisions need nothing beyond the replay model. */
const SHARED: Record<string, string> = {
  'sched-rr': 'NAT rr with weights 1,2,0,3, replies, port reuse of CLOSE/TIME_WAIT/SYN_RECV entries',
  'sched-wrr': 'DR wrr 4,3,2,1,0 (weight 0 at the head)',
  'sched-lc': 'DR lc with established, closed and reset connections, port reuse',
  'sched-wlc': 'NAT wlc 1,2,3,5 with full replies',
  'sched-sed': 'DR sed',
  'sched-nq': 'TUN nq',
  'sched-lblc': 'DR lblc, cache entry moves',
  'sched-lblcr': 'DR lblcr, set grows',
  'sched-dh': 'DR dh, 5 VIPs',
  'sched-sh': 'DR sh, weight-0 buckets give no destination',
  'sched-sh-port': 'DR sh -b sh-port',
  'sched-sh-fallback': 'DR sh -b sh-fallback',
  'sched-mh': 'DR mh, weight-0 server',
  'sched-mh-port': 'TUN mh -b mh-port',
  'sched-fo': 'DR fo, tie, -x overload, timed weight changes',
  'sched-ovf': 'DR ovf',
  thresholds: 'DR wlc with -x/-y, expiry of CLOSE entries clears overload',
  'quiesce-delete': 'DR wlc, weight 0 then deletion with expire_nodest_conn',
  'dr-rr': 'DR rr',
  'nat-wrr': 'NAT wrr',
  'nat-portmap': 'NAT lc 80 -> 8080',
  'nat-v6': 'IPv6 NAT wrr',
  'tun-v6': 'IPv6 TUN rr',
  'tun-sh': 'TUN sh',
  'tun-gre': 'TUN GRE',
  'tun-gue': 'TUN GUE',
  'udp-dr': 'UDP DR lc next to a TCP service',
  'udp-nat': 'UDP NAT wrr',
};

const GENERATED: Record<string, string> = {
  'sched-wlc-overhead': 'wlc: the overhead formula (active*256 + active+inactive)',
  'sched-wrr-changes': 'wrr after weight edits (gcd change), deletion and addition',
  'sched-rr-changes': 'rr after deleting the current server, adding and quiescing',
  'sched-mh-fallback': 'mh -b mh-fallback with a quiesced, a deleted and a re-added server',
  'sched-hash-changes': 'sh after a weight edit and deletion; dh after addition and deletion',
  'sched-lblc-changes': 'lblc with the cached server deleted, re-added and quiesced',
  'sched-lblcr-expire': 'lblcr set shrinking after lblcr_expiration',
};

describe('sched/oracle: decisions replayed against the 6.1 kernel', () => {
  for (const [name, what] of Object.entries(SHARED)) {
    it(`${name}: every connection lands where the kernel put it (${what})`, () => {
      const { decisions } = replayScenario(name);
      expect(decisions.length).to.be.greaterThan(4);
      expect(mismatches(decisions)).to.deep.equal([]);
    });
  }

  for (const [name, what] of Object.entries(GENERATED)) {
    it(`${name}: every connection lands where the kernel put it (${what})`, () => {
      const { decisions } = replayScenario(name, null, path.join(SCHED_SCENARIO_DIR, name));
      expect(decisions.length).to.be.greaterThan(10);
      expect(mismatches(decisions)).to.deep.equal([]);
    });
  }

  it('the scheduler scenarios are what scenarios/generate.ts makes (inputs reproducible from code)', () => {
    for (const make of SPECS) {
      const sp = make();
      const dir = path.join(SCHED_SCENARIO_DIR, sp.name);
      expect(readFileSync(path.join(dir, 'setup'), 'utf8'), sp.name).to.equal(sp.setup.join('\n') + '\n');
      const frames = readPcap(path.join(dir, 'client.pcap'));
      expect(frames.map((f) => Buffer.from(f.data).toString('hex'))).to.deep.equal(
        sp.script.frames.map((f) => Buffer.from(f.data).toString('hex')),
      );
    }
  });

  it('sched-sh: the 12 connections the kernel refused (weight-0 buckets) are refused here too', () => {
    const { decisions } = replayScenario('sched-sh');
    const none = decisions.filter((d) => d.kernel === null);
    expect(none.length).to.equal(12);
    expect(none.every((d) => d.picked === null)).to.equal(true);
  });

  it('sched-wlc-overhead does not replay with overhead = active*256 + inactive (the formula is settled by data)', () => {
    const desc = Object.getOwnPropertyDescriptor(Dest.prototype, 'overhead') as PropertyDescriptor;
    Object.defineProperty(Dest.prototype, 'overhead', {
      configurable: true,
      get(this: Dest) {
        return this.activeConns * 256 + this.inactConns;
      },
    });
    try {
      const name = 'sched-wlc-overhead';
      const { decisions } = replayScenario(name, null, path.join(SCHED_SCENARIO_DIR, name));
      expect(mismatches(decisions).length).to.be.greaterThan(0);
    } finally {
      Object.defineProperty(Dest.prototype, 'overhead', desc);
    }
  });
});
