/**
 * ipvsadm 1.31 (Debian 12's build) run on the oracle's Linux 6.1 kernel:
 * fixtures/ipvsadm-probe.json holds, for a sequence of ~140 ipvsadm
 * invocations (adds, edits, deletes, every error path we could think of,
 * every listing format, -S, -R with odd input), the exact stdout, stderr
 * and exit status the real program produced (fixtures/ipvsadm-probe.py made
 * the oracle set-up and parsed its setup.log; /etc/services was Debian's).
 * The emulation replays the same sequence on one simulated director and
 * must produce the same bytes and statuses, command by command.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runIpvsadm, type ListState } from '../../src/control/ipvsadm/index.js';
import { applySetup, parseSetup } from '../../src/control/setup.js';
import { Sysctls } from '../../src/ipvs/sysctl.js';
import { makeTarget } from './helpers.js';

interface ProbeCommand {
  args: string[];
  stdin: string | null;
  status: number;
  stdout: string;
  stderr: string;
}
interface SysctlWrite {
  /** `KEY=VALUE` written with `echo VALUE > /proc/sys/net/ipv4/vs/KEY`. */
  sysctlWrite: string;
  /** 0 when the kernel took it, 1 when the write failed. */
  status: number;
  /** The value read back afterwards. */
  stdout: string;
}
interface Probe {
  commands: (ProbeCommand | SysctlWrite)[];
  sysctl: string[];
}

const here = fileURLToPath(new URL('.', import.meta.url));
const load = (name: string) => JSON.parse(readFileSync(join(here, 'fixtures', name), 'utf8')) as Probe;
const probe = load('ipvsadm-probe.json');

/**
 * Replays a probe on one director (each command sees the state the previous
 * ones left). `salt` is the per-boot byte of the kernel's service hash that
 * run had (it decides the --nosort service order), found from its output.
 */
function replay(p: Probe, salt: number): void {
  const t = makeTarget();
  // the probes' director: one interface, 10.0.0.1/24 (so 10.0.0.255 is a broadcast address)
  applySetup(
    parseSetup('ip link set client address 02:00:00:00:01:01\nip addr add 10.0.0.1/24 dev client\n'),
    t,
  );
  const state: ListState = { ipvs: t.ipvs, conns: [], host: t.host, serviceHashSalt: salt };
  p.commands.forEach((c, i) => {
    if ('sysctlWrite' in c) return;
    const label = `#${i} ipvsadm ${c.args.join(' ')}${c.stdin === null ? '' : ' < input'}`;
    it(`${label} -> exit ${c.status}`, () => {
      const r = runIpvsadm(c.args, state, { stdin: c.stdin ?? '' });
      expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).to.deep.equal({
        status: c.status,
        stdout: c.stdout,
        stderr: c.stderr,
      });
    });
  });
}

describe('control: ipvsadm against the real ipvsadm 1.31 on Linux 6.1', () => {
  describe('probe 1: commands, errors, listings, -S, -R', () => replay(probe, 0xe0));
  describe('probe 2: address forms, option spellings, FWM, tunnels, daemons, help', () =>
    replay(load('ipvsadm-probe2.json'), 0x10));
  const probe3 = load('ipvsadm-probe3.json');
  describe('probe 3: real-server address checks, thresholds, sched none, daemon errors', () =>
    replay(probe3, 0));

  describe('probe 3: sysctl writes the kernel takes or refuses', () => {
    for (const c of probe3.commands) {
      if (!('sysctlWrite' in c)) continue;
      const [key, value] = c.sysctlWrite.split('=');
      it(`echo '${value}' > …/vs/${key} ${c.status === 0 ? 'is taken' : 'is refused'}`, () => {
        const s = new Sysctls();
        let ok = true;
        try {
          s.set(`net.ipv4.vs.${key}`, value);
        } catch {
          ok = false;
        }
        expect(ok).to.equal(c.status === 0);
        expect(String(s.get(`net.ipv4.vs.${key}`))).to.equal(
          ok ? c.stdout.trim() : String(new Sysctls().get(`net.ipv4.vs.${key}`)),
        );
      });
    }
  });

  it('has the net.ipv4.vs.* keys and defaults the oracle kernel lists', () => {
    const s = new Sysctls();
    const ours = s
      .entries()
      .filter(([k]) => k.startsWith('net.ipv4.vs.'))
      .map(([k, v]) => `${k} = ${v}`);
    expect(ours).to.deep.equal(probe.sysctl);
  });
});
