/**
 * The rate estimator of ip_vs_est.c (Linux 6.1's timer version): every 2 s
 * of simulated time each service's and real server's counters are sampled
 * and folded into exponentially weighted averages — connections and packets
 * per second kept scaled by 2^10, bytes per second by 2^5, each step moving
 * a quarter of the way to the last 2-second rate — and read back rounded the
 * kernel's way. These are the numbers `ipvsadm -L --rate` prints.
 *
 * Values are doubles: exact for counters below 2^44 bytes (the kernel's are
 * 64-bit).
 */
import type { Stats } from './service.js';
import type { RateValues } from '../control/ipvsadm/list.js';

/** Estimator period (2*HZ). */
export const EST_PERIOD_MS = 2000;

/** Per-counter-set estimator state (struct ip_vs_estimator). */
export class Estimator {
  lastConns = 0;
  lastInpkts = 0;
  lastOutpkts = 0;
  lastInbytes = 0;
  lastOutbytes = 0;
  cps = 0;
  inpps = 0;
  outpps = 0;
  inbps = 0;
  outbps = 0;

  /** One estimation_timer step for `s`. */
  step(s: Stats): void {
    let rate = (s.conns - this.lastConns) * 512;
    this.lastConns = s.conns;
    this.cps += Math.floor((rate - this.cps) / 4);
    rate = (s.inpkts - this.lastInpkts) * 512;
    this.lastInpkts = s.inpkts;
    this.inpps += Math.floor((rate - this.inpps) / 4);
    rate = (s.outpkts - this.lastOutpkts) * 512;
    this.lastOutpkts = s.outpkts;
    this.outpps += Math.floor((rate - this.outpps) / 4);
    rate = (s.inbytes - this.lastInbytes) * 16;
    this.lastInbytes = s.inbytes;
    this.inbps += Math.floor((rate - this.inbps) / 4);
    rate = (s.outbytes - this.lastOutbytes) * 16;
    this.lastOutbytes = s.outbytes;
    this.outbps += Math.floor((rate - this.outbps) / 4);
  }

  /** True when every average is zero (further idle steps change nothing). */
  idle(): boolean {
    return this.cps === 0 && this.inpps === 0 && this.outpps === 0 && this.inbps === 0 && this.outbps === 0;
  }

  /** ip_vs_zero_estimator: restart from the current counters. */
  zero(s: Stats): void {
    this.lastConns = s.conns;
    this.lastInpkts = s.inpkts;
    this.lastOutpkts = s.outpkts;
    this.lastInbytes = s.inbytes;
    this.lastOutbytes = s.outbytes;
    this.cps = this.inpps = this.outpps = this.inbps = this.outbps = 0;
  }

  /** ip_vs_read_estimator. */
  read(): RateValues {
    return {
      cps: Math.floor((this.cps + 0x1ff) / 1024),
      inpps: Math.floor((this.inpps + 0x1ff) / 1024),
      outpps: Math.floor((this.outpps + 0x1ff) / 1024),
      inbps: Math.floor((this.inbps + 0xf) / 32),
      outbps: Math.floor((this.outbps + 0xf) / 32),
    };
  }
}
