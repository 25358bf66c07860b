import { expect } from 'chai';
import { Stats } from '../../src/ipvs/service.js';

describe('rate estimator (ip_vs_est.c)', () => {
  it('converges to the 2-second rate a quarter of the way per step, read back rounded as the kernel does', () => {
    const s = new Stats();
    const rates: number[] = [];
    for (let i = 0; i < 40; i++) {
      s.conns += 20; // 10 connections per second
      s.inpkts += 200;
      s.inbytes += 200_000;
      s.est.step(s);
      rates.push(s.est.read().cps);
    }
    // EWMA toward 10/s: 2.5, 4.375, ... reaching 10 after enough steps
    expect(rates[0]).to.equal(2); // ((20 << 9) >> 2 = 2560, + 0x1ff) >> 10 = 2
    expect(rates[5]).to.be.within(7, 9);
    expect(rates[39]).to.equal(10);
    const r = s.est.read();
    expect(r.inpps).to.equal(100);
    expect(r.inbps).to.be.within(99_000, 100_000);
  });

  it('decays to zero when the counters stop moving, and zero() restarts from the current counters', () => {
    const s = new Stats();
    s.inpkts = 1000;
    s.est.step(s);
    expect(s.est.read().inpps).to.be.greaterThan(0);
    for (let i = 0; i < 80; i++) s.est.step(s);
    expect(s.est.idle()).to.equal(true);
    s.inpkts += 500;
    s.zero();
    expect(s.inpkts).to.equal(0);
    s.est.step(s);
    expect(s.est.read().inpps).to.equal(0);
  });
});
