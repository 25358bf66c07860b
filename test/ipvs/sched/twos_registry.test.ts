import { expect } from 'chai';
import { Errno } from '../../../src/ipvs/ctl.js';
import { IpAddr } from '../../../src/wire/addr.js';
import {
  createSchedulerRegistry,
  DEFAULT_SCHEDULER,
  isSchedulerName,
  SCHED_FLAG_NAMES,
  SCHEDULER_NAMES,
  unknownSchedulerMessage,
} from '../../../src/ipvs/sched/index.js';
import { SvcFlag, type Dest } from '../../../src/ipvs/service.js';
import type { SchedTrace } from '../../../src/ipvs/sched/scheduler.js';
import { Lab } from './helpers.js';

describe('sched/twos', () => {
  it('the same seed gives the same picks, another seed other picks', () => {
    const run = (seed: number) => {
      const l = new Lab({ seed });
      l.service('twos');
      [1, 2, 3, 4, 5].forEach((w, i) => l.add(`10.0.0.${11 + i}`, w));
      return l.sequence(40, true).join(' ');
    };
    expect(run(7)).to.equal(run(7));
    expect(run(7)).to.not.equal(run(8));
  });

  it('with equal loads the picks follow the weights (first draw wins ties)', () => {
    const l = new Lab({ seed: 99 });
    l.service('twos');
    l.add('10.0.0.11', 1);
    l.add('10.0.0.12', 3);
    const n = 20000;
    let heavy = 0;
    for (let i = 0; i < n; i++) if (l.pick() === '10.0.0.12') heavy++;
    // r in [0, 4]: .12 (first in list) for r <= 3, .11 for r = 4: 4/5 of the draws
    expect(heavy / n).to.be.closeTo(0.8, 0.015);
  });

  it('keeps the second choice only when it is strictly less loaded per weight', () => {
    const l = new Lab({ seed: 5 });
    l.service('twos');
    l.add('10.0.0.11', 1);
    l.add('10.0.0.12', 1);
    l.load(l.dest('10.0.0.12'), 100, 0);
    let toIdle = 0;
    for (let i = 0; i < 2000; i++) if (l.pick() === '10.0.0.11') toIdle++;
    // the idle server wins unless both draws land on the busy one (r = 0 or 1: 2/3 each)
    expect(toIdle / 2000).to.be.closeTo(1 - (2 / 3) * (2 / 3), 0.04);
  });

  it('never picks quiesced or overloaded servers and answers null when none is left', () => {
    const l = new Lab({ seed: 3 });
    l.service('twos');
    l.add('10.0.0.11', 0);
    l.add('10.0.0.12', 2, 1);
    l.add('10.0.0.13', 2);
    l.load(l.dest('10.0.0.12'), 1, 0);
    for (let i = 0; i < 100; i++) expect(l.pick()).to.equal('10.0.0.13');
    l.edit('10.0.0.13', 0);
    expect(l.pick()).to.equal(null);
  });
});

describe('sched/registry', () => {
  it('has the 14 schedulers of Linux 6.1 under their ipvsadm names', () => {
    const reg = createSchedulerRegistry();
    expect([...reg.keys()].sort()).to.deep.equal(
      ['dh', 'fo', 'lblc', 'lblcr', 'lc', 'mh', 'nq', 'ovf', 'rr', 'sed', 'sh', 'twos', 'wlc', 'wrr'].sort(),
    );
    expect([...SCHEDULER_NAMES].sort()).to.deep.equal([...reg.keys()].sort());
    for (const [name, s] of reg) expect(s.name).to.equal(name);
    expect(DEFAULT_SCHEDULER).to.equal('wlc');
  });

  it('an unknown -s NAME is refused by the control plane and the message lists the valid names', () => {
    const l = new Lab();
    const rc = l.ipvs.addService({
      af: 4,
      protocol: 6,
      addr: IpAddr.parse('10.0.0.1'),
      port: 80,
      fwmark: 0,
      schedName: 'wlcx',
      flags: 0,
      timeout: 0,
      netmask: 0xffffffff,
      peName: '',
    });
    expect(rc).to.equal(-Errno.ENOENT);
    expect(isSchedulerName('wlcx')).to.equal(false);
    expect(isSchedulerName('mh')).to.equal(true);
    const msg = unknownSchedulerMessage('wlcx');
    expect(msg).to.contain("'wlcx'");
    for (const n of SCHEDULER_NAMES) expect(msg).to.contain(n);
  });

  it('maps the -b flag words as ipvsadm does', () => {
    expect(SCHED_FLAG_NAMES.get('sh-fallback')).to.deep.equal({ flag: SvcFlag.SCHED1, scheduler: 'sh' });
    expect(SCHED_FLAG_NAMES.get('sh-port')).to.deep.equal({ flag: SvcFlag.SCHED2, scheduler: 'sh' });
    expect(SCHED_FLAG_NAMES.get('mh-fallback')).to.deep.equal({ flag: SvcFlag.SCHED1, scheduler: 'mh' });
    expect(SCHED_FLAG_NAMES.get('mh-port')).to.deep.equal({ flag: SvcFlag.SCHED2, scheduler: 'mh' });
    expect(SCHED_FLAG_NAMES.get('flag-3')).to.deep.equal({ flag: SvcFlag.SCHED3, scheduler: null });
  });

  it('changing a service scheduler with -E re-initialises it over the current servers', () => {
    const l = new Lab();
    l.service('rr');
    l.add('10.0.0.11', 1);
    l.add('10.0.0.12', 1);
    l.load(l.dest('10.0.0.12'), 3, 0);
    const s = l.svc;
    l.ipvs.editService(s, {
      af: 4,
      protocol: 6,
      addr: s.addr,
      port: 80,
      fwmark: 0,
      schedName: 'lc',
      flags: 0,
      timeout: 0,
      netmask: 0xffffffff,
      peName: '',
    });
    expect(l.pick()).to.equal('10.0.0.11');
    l.load(l.dest('10.0.0.11'), 4, 0);
    expect(l.pick()).to.equal('10.0.0.12');
  });
});

describe('sched/explain', () => {
  class Rec implements SchedTrace {
    lines: string[] = [];
    consider(d: Dest, detail: string): void {
      this.lines.push(`${d.addr}: ${detail}`);
    }
    note(text: string): void {
      this.lines.push(text);
    }
  }

  it('every scheduler makes the same pick with a trace and reports the numbers it compared', () => {
    for (const name of SCHEDULER_NAMES) {
      const a = new Lab({ seed: 11 });
      const b = new Lab({ seed: 11 });
      for (const l of [a, b]) {
        l.service(name);
        l.add('10.0.0.11', 2);
        l.add('10.0.0.12', 3);
        l.load(l.dest('10.0.0.12'), 1, 2);
      }
      const rec = new Rec();
      const f = b.flow;
      a.pickDest('192.0.2.9:1234');
      const plain = a.pickDest('192.0.2.9:1234');
      b.pickDest('192.0.2.9:1234');
      const traced = b.svc.sched?.schedule(b.svc, f, rec) ?? null;
      expect(traced?.addr.toString(), name).to.equal(plain?.addr.toString());
      expect(rec.lines.length, name).to.be.greaterThan(0);
    }
  });

  it('wlc explains each candidate with overhead and weight', () => {
    const l = new Lab();
    l.service('wlc');
    l.add('10.0.0.11', 2);
    l.load(l.dest('10.0.0.11'), 1, 2);
    const rec = new Rec();
    l.pickDest();
    l.svc.sched?.schedule(l.svc, l.flow, rec);
    expect(rec.lines.join('\n')).to.contain('10.0.0.11: overhead 259 / weight 2');
  });
});
