/**
 * A minimal host stack (neighbour output and plain forwarding only), used by
 * the lead to exercise IPVS while the full host stack (src/ipvs/stack/) is
 * being written. Temporary: removed when src/ipvs/stack/stack.ts lands.
 */
import type { DirectorEnv } from './env.js';
import type { FibResult } from './fib.js';
import { Hook, Verdict, type HostStackApi } from './hooks.js';
import { Fate, Reason } from './verdict.js';
import { writeMac } from '../wire/addr.js';
import { wr16 } from '../wire/bytes.js';
import { ipv4DecTtl } from '../wire/checksum.js';

export class HostStack implements HostStackApi {
  private readonly env: DirectorEnv;

  constructor(env: DirectorEnv) {
    this.env = env;
  }

  icmpSend(): boolean {
    return false;
  }

  output(route: FibResult, hdr: Uint8Array, hdrOff: number, hdrLen: number): void {
    const env = this.env;
    const skb = env.skb;
    const af = skb.af;
    const mac = env.fib.neighbour(af, route.nextHop, 0, route.link);
    if (mac < 0) return;
    const h = hdrLen === 0 ? env.hdr : hdr;
    const eo = hdrLen === 0 ? 0 : hdrOff - 14;
    writeMac(h, eo, mac);
    writeMac(h, eo + 6, env.fib.linkMac[route.link]);
    const outerAf = hdrLen === 0 ? af : h[hdrOff] >> 4;
    wr16(h, eo + 12, outerAf === 4 ? 0x0800 : 0x86dd);
    env.emit(route.link, h, eo, 14 + hdrLen, skb.buf, skb.l3, skb.cap, 14 + hdrLen + skb.len);
  }

  localDeliver(): void {
    this.env.setFate(Fate.LOCAL, Reason.LOCAL_OTHER);
  }

  forward(): void {
    const env = this.env;
    const skb = env.skb;
    const r = env.route;
    if (!env.fib.lookup(skb.af, env.info.daddr, 0, r)) {
      env.drop(Reason.NO_ROUTE);
      return;
    }
    if (skb.af === 4) {
      if (skb.buf[skb.l3 + 8] <= 1) return env.drop(Reason.TTL_EXCEEDED);
      ipv4DecTtl(skb.buf, skb.l3);
    } else {
      if (skb.buf[skb.l3 + 7] <= 1) return env.drop(Reason.TTL_EXCEEDED);
      skb.buf[skb.l3 + 7]--;
    }
    let v = env.hooks.forwardIcmp(Hook.FORWARD);
    if (v === Verdict.ACCEPT) v = env.hooks.outHook(Hook.FORWARD);
    if (v !== Verdict.ACCEPT) return;
    this.output(r, env.hdr, 0, 0);
    env.forwarded();
  }

  arpRcv(): void {
    this.env.setFate(Fate.LOCAL, Reason.LOCAL_ARP);
  }

  gatherFrags(): boolean {
    this.env.drop(Reason.FRAG_BAD);
    return false;
  }

  defrag6(): boolean {
    this.env.drop(Reason.FRAG_BAD);
    return false;
  }

  pathMtu(_af: number, _a: Uint32Array, _i: number, route: FibResult): number {
    return route.mtu;
  }

  updatePmtu(): void {}

  tick(): void {}
}
