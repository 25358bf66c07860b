import { expect } from 'chai';
import { Lab } from './helpers.js';

/** A service with servers .11 .12 ... added in that order (list: newest first). */
function lab(sched: string, weights: number[]): Lab {
  const l = new Lab();
  l.service(sched);
  weights.forEach((w, i) => l.add(`10.0.0.${11 + i}`, w));
  return l;
}

describe('sched/lc', () => {
  it('picks the least overhead; ties go to the first in list order, i.e. the newest server', () => {
    const l = lab('lc', [1, 5, 2]);
    expect(l.pick()).to.equal('10.0.0.13');
    l.load(l.dest('10.0.0.13'), 1, 0);
    expect(l.pick()).to.equal('10.0.0.12');
  });

  it('ignores weights except 0 and compares active*256 + total', () => {
    const l = lab('lc', [1, 100, 0]);
    l.load(l.dest('10.0.0.11'), 0, 300); // 300
    l.load(l.dest('10.0.0.12'), 1, 0); // 257
    expect(l.pick()).to.equal('10.0.0.12'); // .13 has weight 0
    l.load(l.dest('10.0.0.12'), 1, 43); // 256 + 44 = 300: tie, .12 is first
    expect(l.pick()).to.equal('10.0.0.12');
    l.load(l.dest('10.0.0.12'), 1, 44);
    expect(l.pick()).to.equal('10.0.0.11');
  });
});

describe('sched/wlc', () => {
  it('picks the least overhead per weight, first in list order on ties', () => {
    const l = lab('wlc', [1, 2, 3, 5]);
    l.load(l.dest('10.0.0.11'), 1, 0); // 257/1
    l.load(l.dest('10.0.0.12'), 2, 0); // 514/2 = 257
    l.load(l.dest('10.0.0.13'), 3, 0); // 771/3 = 257
    l.load(l.dest('10.0.0.14'), 5, 0); // 1285/5 = 257
    expect(l.pick()).to.equal('10.0.0.14');
    l.load(l.dest('10.0.0.14'), 5, 1);
    expect(l.pick()).to.equal('10.0.0.13');
  });

  it('skips overloaded and weight-0 servers, null when none is left', () => {
    const l = lab('wlc', [1, 0]);
    l.edit('10.0.0.11', 1, 1);
    l.load(l.dest('10.0.0.11'), 1, 0);
    expect(l.dest('10.0.0.11').overloaded).to.equal(true);
    expect(l.pick()).to.equal(null);
  });

  it('compares the 64-bit products exactly where doubles would round them equal', () => {
    // (2^31-1) * (2^31-3) is one less than (2^31-2)^2; as doubles they are equal
    const l = new Lab();
    l.service('wlc');
    const a = l.add('10.0.0.11', 2 ** 31 - 2);
    const b = l.add('10.0.0.12', 2 ** 31 - 3); // first in the list
    l.load(a, 0, 2 ** 31 - 1);
    l.load(b, 0, 2 ** 31 - 2);
    expect((2 ** 31 - 1) * (2 ** 31 - 3)).to.equal((2 ** 31 - 2) * (2 ** 31 - 2));
    // .11 is strictly less loaded per weight by one unit in 2^62
    expect(l.pick()).to.equal('10.0.0.11');
  });
});

describe('sched/sed', () => {
  it('uses (active + 1) / weight and ignores inactive connections', () => {
    const l = lab('sed', [1, 3]);
    l.load(l.dest('10.0.0.11'), 0, 50); // (0+1)/1 = 1
    l.load(l.dest('10.0.0.12'), 2, 0); // (2+1)/3 = 1: tie, .12 first
    expect(l.pick()).to.equal('10.0.0.12');
    l.load(l.dest('10.0.0.12'), 3, 0); // 4/3 > 1
    expect(l.pick()).to.equal('10.0.0.11');
  });
});

describe('sched/nq', () => {
  it('takes the first idle server even when a busy one has a better expected delay', () => {
    const l = lab('nq', [1, 100]);
    l.load(l.dest('10.0.0.12'), 1, 0); // (1+1)/100 is small, but busy
    expect(l.pick()).to.equal('10.0.0.11');
  });

  it('falls back to the sed rule when no server is idle', () => {
    const l = lab('nq', [1, 100, 3]);
    l.load(l.dest('10.0.0.11'), 1, 0); // 2/1
    l.load(l.dest('10.0.0.12'), 50, 0); // 51/100
    l.load(l.dest('10.0.0.13'), 1, 0); // 2/3
    expect(l.pick()).to.equal('10.0.0.12');
    l.edit('10.0.0.12', 0);
    expect(l.pick()).to.equal('10.0.0.13');
  });
});

describe('sched/fo', () => {
  it('sends everything to the highest weight, first in list order on ties, until it is overloaded', () => {
    const l = new Lab();
    l.service('fo');
    l.add('10.25.0.151', 10);
    l.add('10.25.0.152', 30, 4);
    l.add('10.25.0.153', 20);
    l.add('10.25.0.154', 30);
    expect(l.pick()).to.equal('10.25.0.154');
    l.edit('10.25.0.154', 5);
    const seq = l.sequence(5, true).join(' ');
    expect(seq).to.equal('.152 .152 .152 .152 .153');
  });
});

describe('sched/ovf', () => {
  it('fills the heaviest server until its active connections exceed its weight, then overflows', () => {
    const l = lab('ovf', [3, 2, 4]);
    expect(l.sequence(8, true).join(' ')).to.equal('.13 .13 .13 .13 .13 .11 .11 .11');
    expect(l.sequence(4, true).join(' ')).to.equal('.11 .12 .12 .12');
    expect(l.pick()).to.equal(null);
  });

  it('inactive connections do not count', () => {
    const l = lab('ovf', [1]);
    l.load(l.dest('10.0.0.11'), 1, 1000);
    expect(l.pick()).to.equal('10.0.0.11');
    l.load(l.dest('10.0.0.11'), 2, 0);
    expect(l.pick()).to.equal(null);
  });
});
