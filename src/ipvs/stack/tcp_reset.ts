/**
 * The reset a host with no listening socket answers a TCP segment with:
 * tcp_v4_send_reset() + ip_send_unicast_reply(), tcp_v6_send_reset() +
 * tcp_v6_send_response().
 *
 * - Never for a RST. A segment with ACK gets `seq = its ack` and no ACK flag;
 *   otherwise `seq 0`, ACK with `ack = seq + SYN + FIN + data length`.
 * - 20-byte header, window 0, no options.
 * - IPv4: TOS = the segment's TOS without the ECN bits, TTL ip_default_ttl,
 *   DF set and so IP ID 0 (the control socket has no peer), the received
 *   IP options echoed. IPv6: traffic class = the segment's without ECN,
 *   hop limit 64, automatic flow label (as the ICMPv6 messages).
 * - Source = the segment's destination; sent through the LOCAL_OUT hooks.
 */
import type { DirectorEnv } from '../env.js';
import type { HostStack } from './stack.js';
import { Gen, flowHash6 } from './icmp.js';
import { IpOptions, compileReceived, echoOptions, buildOptions } from './options.js';
import { rd32, rd32i, wr16, wr32 } from '../../wire/bytes.js';
import { sum16, finish, pseudo4, pseudo6Words, ipv4HeaderChecksum } from '../../wire/checksum.js';

export class TcpReset {
  private readonly env: DirectorEnv;
  private readonly stack: HostStack;
  private readonly buf = new Uint8Array(128);
  private readonly sopt = new IpOptions();
  private readonly ropt = new IpOptions();
  private readonly s6 = new Uint32Array(4);
  private readonly d6 = new Uint32Array(4);
  private readonly isLocal4 = (a: number): boolean => this.env.fib.isLocal4(a);
  /** Resets sent (statistics, tests). */
  sent = 0;

  constructor(env: DirectorEnv, stack: HostStack) {
    this.env = env;
    this.stack = stack;
  }

  /** Sends the reset for the TCP segment in flight (header present, not a RST). Returns a Gen code. */
  send(): number {
    const env = this.env;
    const skb = env.skb;
    const info = env.info;
    const b = skb.buf;
    const t = info.l4Off;
    const flags = info.tcpFlags;
    let seq = 0;
    let ack = 0;
    let outFlags = 0x04;
    if (flags & 0x10) {
      seq = info.tcpAck | 0;
    } else {
      outFlags |= 0x10;
      const doff = (b[t + 12] >>> 4) * 4;
      const syn = flags & 0x02 ? 1 : 0;
      const fin = flags & 0x01 ? 1 : 0;
      ack = (info.tcpSeq + syn + fin + info.l4Len - doff) | 0;
    }
    const m = this.buf;
    let th: number;
    let total: number;
    if (skb.af === 4) {
      const l3 = skb.l3;
      const ihl = (b[l3] & 15) * 4;
      // words kept signed (| 0), unsigned (>>> 0) only for the IP options code:
      // V8 boxes an unsigned value >= 2^31 that is passed to a call it does not
      // inline, a heap allocation per reset
      const saddr = rd32i(b, l3 + 12);
      const daddr = rd32i(b, l3 + 16);
      let optlen = 0;
      this.ropt.clear();
      if (ihl > 20 && compileReceived(b, l3, ihl, this.sopt, daddr >>> 0, this.isLocal4, env.nowMs)) {
        if (!echoOptions(this.sopt, this.ropt, saddr >>> 0, this.isLocal4)) return Gen.REFUSED;
        optlen = this.ropt.optlen;
      }
      const fdst = this.ropt.srr ? this.ropt.faddr | 0 : saddr;
      const hl = 20 + optlen;
      th = hl;
      total = hl + 20;
      m[0] = 0x40 | (hl >>> 2);
      m[1] = b[l3 + 1] & ~3;
      wr16(m, 2, total);
      wr16(m, 4, 0);
      wr16(m, 6, 0x4000);
      m[8] = this.stack.cfg.defaultTtl;
      m[9] = 6;
      wr16(m, 10, 0);
      wr32(m, 12, daddr);
      wr32(m, 16, fdst);
      if (optlen) buildOptions(m, 0, this.ropt, saddr >>> 0, daddr >>> 0, env.nowMs);
      wr16(m, 10, ipv4HeaderChecksum(m, 0));
      this.tcpHeader(m, th, info.dport, info.sport, seq, ack, outFlags);
      wr16(m, th + 16, finish(sum16(m, th, 20, pseudo4(daddr, saddr, 6, 20))));
    } else {
      const l3 = skb.l3;
      const s = this.s6;
      const d = this.d6;
      for (let i = 0; i < 4; i++) {
        s[i] = rd32i(b, l3 + 24 + 4 * i); // our source: the segment's destination
        d[i] = rd32i(b, l3 + 8 + 4 * i);
      }
      const tclass = (rd32(b, l3) >>> 20) & 0xff & ~3;
      wr32(m, 0, (0x60000000 | (tclass << 20) | flowHash6(s, d, 6)) >>> 0);
      wr16(m, 4, 20);
      m[6] = 6;
      m[7] = this.stack.cfg.hopLimit;
      for (let i = 0; i < 4; i++) {
        wr32(m, 8 + 4 * i, s[i]);
        wr32(m, 24 + 4 * i, d[i]);
      }
      th = 40;
      total = 60;
      this.tcpHeader(m, th, info.dport, info.sport, seq, ack, outFlags);
      wr16(m, th + 16, finish(sum16(m, th, 20, pseudo6Words(s, 0, d, 0, 6, 20))));
    }
    const r = this.stack.sendLocal(m, 0, total, skb.af);
    if (r === Gen.SENT) this.sent++;
    return r;
  }

  private tcpHeader(
    m: Uint8Array,
    o: number,
    sport: number,
    dport: number,
    seq: number,
    ack: number,
    flags: number,
  ): void {
    wr16(m, o, sport);
    wr16(m, o + 2, dport);
    wr32(m, o + 4, seq);
    wr32(m, o + 8, ack);
    m[o + 12] = 0x50;
    m[o + 13] = flags;
    wr16(m, o + 14, 0);
    wr16(m, o + 16, 0);
    wr16(m, o + 18, 0);
  }
}
