import { expect } from 'chai';
import { Lab } from './helpers.js';

describe('sched/rr', () => {
  it('starts at the list head (the newest server) and walks the list, skipping weight 0', () => {
    const lab = new Lab();
    lab.service('rr');
    lab.add('10.0.0.11', 1);
    lab.add('10.0.0.12', 2);
    lab.add('10.0.0.13', 0);
    lab.add('10.0.0.14', 3);
    // list order: .14 .13 .12 .11
    expect(lab.sequence(6)).to.deep.equal(['.14', '.12', '.11', '.14', '.12', '.11']);
  });

  it('skips overloaded servers and returns null when every server is quiesced or overloaded', () => {
    const lab = new Lab();
    lab.service('rr');
    lab.add('10.0.0.11', 1, 2);
    lab.add('10.0.0.12', 1);
    const a = lab.dest('10.0.0.11');
    lab.load(a, 2, 0); // reaches -x 2: overloaded
    expect(a.overloaded).to.equal(true);
    expect(lab.sequence(3)).to.deep.equal(['.12', '.12', '.12']);
    lab.edit('10.0.0.12', 0);
    expect(lab.pick()).to.equal(null);
  });

  it('a new server goes to the head: it is reached after the walk wraps', () => {
    const lab = new Lab();
    lab.service('rr');
    lab.add('10.0.0.11', 1);
    lab.add('10.0.0.12', 1);
    expect(lab.sequence(1)).to.deep.equal(['.12']);
    lab.add('10.0.0.13', 1);
    expect(lab.sequence(4)).to.deep.equal(['.11', '.13', '.12', '.11']);
  });

  it('deleting the server picked last continues from the server before it (ip_vs_rr_del_dest)', () => {
    const lab = new Lab();
    lab.service('rr');
    for (const h of [11, 12, 13, 14]) lab.add(`10.0.0.${h}`, 1);
    // list .14 .13 .12 .11
    expect(lab.sequence(2)).to.deep.equal(['.14', '.13']);
    lab.del('10.0.0.13');
    expect(lab.sequence(3)).to.deep.equal(['.12', '.11', '.14']);
    lab.del('10.0.0.14'); // the position was .14, the head: back to the list head
    expect(lab.sequence(2)).to.deep.equal(['.12', '.11']);
  });

  it('keeps its position across many additions that force the slots to be laid out again', () => {
    const lab = new Lab();
    lab.service('rr');
    lab.add('10.0.1.1', 1);
    lab.add('10.0.1.2', 1);
    expect(lab.sequence(1)).to.deep.equal(['.2']);
    for (let i = 3; i < 60; i++) lab.add(`10.0.1.${i}`, 1);
    // after .2 comes .1, then the head (.59), .58, ...
    expect(lab.sequence(3)).to.deep.equal(['.1', '.59', '.58']);
  });
});

describe('sched/wrr', () => {
  it('weights 4,3,2,1,0 added in that order: .24 .23 .22 .21, then .21 / .22 .21 / .23 .22 .21 / ...', () => {
    const lab = new Lab();
    lab.service('wrr');
    [4, 3, 2, 1, 0].forEach((w, i) => lab.add(`10.12.0.${21 + i}`, w));
    expect(lab.sequence(14)).to.deep.equal([
      '.24',
      '.23',
      '.22',
      '.21', // first pass: cw is 1 after the first -a (mw = 1)
      '.21',
      '.22',
      '.21',
      '.23',
      '.22',
      '.21',
      '.24',
      '.23',
      '.22',
      '.21',
    ]);
  });

  it('with a gcd above 1 the passes step by the gcd (weights 4, 6, 2: 6 gets 3, 4 gets 2, 2 gets 1 per cycle)', () => {
    const lab = new Lab();
    lab.service('rr');
    lab.add('10.0.0.11', 4);
    lab.add('10.0.0.12', 6);
    lab.add('10.0.0.13', 2);
    // switching the scheduler runs init_service with all three servers: cw = mw = 6 - 1 = 5
    lab.ipvs.editService(lab.svc, { ...specOf(lab), schedName: 'wrr' });
    expect(lab.sequence(12)).to.deep.equal(
      ['.12', '.12', '.11', '.13', '.12', '.11'].concat(['.12', '.12', '.11', '.13', '.12', '.11']),
    );
  });

  it('an edit restarts the walk at the head and rounds cw to the gcd grid (ip_vs_wrr_dest_changed)', () => {
    const lab = new Lab();
    lab.service('wrr');
    lab.add('10.0.0.11', 4);
    lab.add('10.0.0.12', 6);
    lab.add('10.0.0.13', 2);
    // after the adds cw = 1 (first add made mw 1): one weight >= 1 pass, then cw 5, 3, 1
    expect(lab.sequence(4)).to.deep.equal(['.13', '.12', '.11', '.12']);
    lab.edit('10.0.0.13', 8); // di 2, mw 7, cw 5 -> 5/2*2+1 = 5, walk from the head
    expect(lab.sequence(3)).to.deep.equal(['.13', '.12', '.13']);
  });

  it('never picks weight 0 and returns null when every weight is 0', () => {
    const lab = new Lab();
    lab.service('wrr');
    lab.add('10.0.0.11', 0);
    lab.add('10.0.0.12', 0);
    expect(lab.pick()).to.equal(null);
    lab.edit('10.0.0.11', 3);
    expect(lab.sequence(4)).to.deep.equal(['.11', '.11', '.11', '.11']);
  });

  it('when every server with weight is overloaded it answers null after a fruitless walk', () => {
    const lab = new Lab();
    lab.service('wrr');
    lab.add('10.0.0.11', 2, 1);
    lab.add('10.0.0.12', 3, 1);
    lab.load(lab.dest('10.0.0.11'), 1, 0);
    lab.load(lab.dest('10.0.0.12'), 1, 0);
    expect(lab.pick()).to.equal(null);
    lab.load(lab.dest('10.0.0.11'), 0, 0);
    expect(lab.dest('10.0.0.11').overloaded).to.equal(false);
    expect(lab.pick()).to.equal('10.0.0.11');
  });
});

function specOf(lab: Lab) {
  const s = lab.svc;
  return {
    af: s.af,
    protocol: s.protocol,
    addr: s.addr,
    port: s.port,
    fwmark: 0,
    schedName: s.schedName,
    flags: s.flags,
    timeout: s.timeout,
    netmask: s.netmask,
    peName: '',
  };
}
