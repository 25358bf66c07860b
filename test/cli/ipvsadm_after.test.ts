import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runIpvsadmAfter, splitAfterOptions } from '../../src/cli/cmd_ipvsadm.js';

const scen = (n: string): string => path.join('test/oracle/scenarios', n);

describe('ipvs-sim ipvsadm --after (state at the end of a replay)', () => {
  it('lists the counters the kernel listed after the same frames', async () => {
    const r = await runIpvsadmAfter([
      '--setup',
      path.join(scen('dr-rr'), 'setup'),
      '-Ln',
      '--stats',
      '--after',
      `client=${path.join(scen('dr-rr'), 'client.pcap')}`,
    ]);
    expect(r.stderr).to.equal('');
    expect(r.stdout).to.equal(readFileSync(path.join(scen('dr-rr'), 'expected/ipvs-stats.txt'), 'utf8'));
  });

  it('refuses a configuring command with --after', async () => {
    const r = await runIpvsadmAfter([
      '--setup',
      path.join(scen('dr-rr'), 'setup'),
      '-A',
      '-t',
      '1.2.3.4:80',
      '--after',
      path.join(scen('dr-rr'), 'client.pcap'),
    ]);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.match(/use it with a listing/);
  });

  it('parses --after lists, --in, --seed and --max-conns', () => {
    const o = splitAfterOptions([
      '-Ln',
      '--after',
      'a.pcap',
      'eth1=b.pcap',
      '--seed',
      '7',
      '--in',
      'x=c.pcap',
    ]);
    expect(o).to.deep.equal({
      inputs: [
        { iface: null, path: 'a.pcap' },
        { iface: 'eth1', path: 'b.pcap' },
        { iface: 'x', path: 'c.pcap' },
      ],
      seed: 7,
      maxConns: 0,
      rest: ['-Ln'],
    });
    expect(splitAfterOptions(['--after'])).to.be.a('string');
  });
});
