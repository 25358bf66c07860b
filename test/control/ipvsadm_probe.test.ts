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
import { makeTarget } from './helpers.js';

interface Probe {
  commands: { args: string[]; stdin: string | null; status: number; stdout: string; stderr: string }[];
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
  t.host.link('client');
  const state: ListState = { ipvs: t.ipvs, conns: [], host: t.host, serviceHashSalt: salt };
  p.commands.forEach((c, i) => {
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

  it('has the net.ipv4.vs.* keys and defaults the oracle kernel lists', async () => {
    const { Sysctls } = await import('../../src/ipvs/sysctl.js');
    const s = new Sysctls();
    const ours = s
      .entries()
      .filter(([k]) => k.startsWith('net.ipv4.vs.'))
      .map(([k, v]) => `${k} = ${v}`);
    expect(ours).to.deep.equal(probe.sysctl);
  });
});
