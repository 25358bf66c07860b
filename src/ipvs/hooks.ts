/**
 * The contract between the director's host stack (src/ipvs/stack/: neighbour
 * output, forwarding, local delivery, ICMP/RST generation, fragments, ARP/ND)
 * and IPVS proper (src/ipvs/core.ts: the netfilter hooks of ip_vs_core.c, and
 * the transmitters of ip_vs_xmit.c in xmit.ts), both driven by the receive
 * path in director.ts.
 *
 * Both sides work on the one packet in flight (`DirectorEnv.skb`, described by
 * `DirectorEnv.info` — whoever changes the packet's layout re-parses it) and
 * report what became of the input frame through `DirectorEnv.setFate`.
 */
import type { FibResult } from './fib.js';

/** Netfilter verdicts, as the hooks return them. */
export const Verdict = {
  /** Let the packet continue its normal path (NF_ACCEPT). */
  ACCEPT: 0,
  /** The hook took the packet: it was sent on, or dropped, and the fate is recorded (NF_STOLEN). */
  STOLEN: 1,
  /** Drop the packet (NF_DROP); the hook recorded the reason with setFate. */
  DROP: 2,
} as const;
export type VerdictValue = (typeof Verdict)[keyof typeof Verdict];

/** The netfilter hook a packet is in. */
export const Hook = { PRE_ROUTING: 0, LOCAL_IN: 1, FORWARD: 2, LOCAL_OUT: 3, POST_ROUTING: 4 } as const;

/** What IPVS offers the host stack: its hook functions (ip_vs_ops4 / ip_vs_ops6 in ip_vs_core.c). */
export interface IpvsHooks {
  /** ip_vs_out_hook at LOCAL_IN (before inHook), FORWARD (after forwardIcmp) and LOCAL_OUT. */
  outHook(hook: number): VerdictValue;
  /** ip_vs_in_hook at LOCAL_IN and LOCAL_OUT. */
  inHook(hook: number): VerdictValue;
  /** ip_vs_forward_icmp at FORWARD. */
  forwardIcmp(hook: number): VerdictValue;
}

/** What the host stack offers IPVS and the receive path. All act on the packet in flight. */
export interface HostStackApi {
  /**
   * icmp_send() / icmpv6_send() about the packet in flight: builds the error
   * the kernel would send (source address, TOS, quoting, rate limits), runs
   * it through the LOCAL_OUT hooks and emits it. `info` is the 32-bit
   * rest-of-header word (the MTU for frag-needed / packet-too-big). True when
   * a message was sent (false: rate-limited or not allowed).
   */
  icmpSend(type: number, code: number, info: number): boolean;
  /**
   * Sends the packet in flight out of `route.link` toward `route.nextHop`:
   * neighbour resolution, Ethernet header, fragmentation to the route MTU
   * (honouring skb.fragMaxSize). `hdr[hdrOff, hdrOff+hdrLen)` are bytes that
   * go in front of the packet (a tunnel's outer headers, hdrLen 0 when none);
   * the 14 bytes before hdrOff are free for the Ethernet header. Records no
   * fate: the caller does.
   */
  output(route: FibResult, hdr: Uint8Array, hdrOff: number, hdrLen: number): void;
  /** Local delivery after LOCAL_IN accepted the packet: TCP RST, UDP port unreachable, echo reply, … Records the fate. */
  localDeliver(): void;
  /** ip_forward / ip6_forward for a packet not addressed to the director, FORWARD hooks included. Records the fate. */
  forward(): void;
  /** ARP frame received on `link` (frame at buf[off..off+capLen)). Records the fate. */
  arpRcv(buf: Uint8Array, off: number, capLen: number, link: number): void;
  /**
   * Reassembly of an IPv4 fragment (ip_defrag) for local delivery or for
   * IPVS (ip_vs_gather_frags at `hook`). True when the packet in flight is
   * now the whole datagram (re-parsed); false when the fragment was held
   * (fate HELD recorded) or dropped.
   */
  gatherFrags(hook: number): boolean;
  /** nf_defrag_ipv6 at PREROUTING (IPv6 services exist): like gatherFrags for IPv6. */
  defrag6(): boolean;
  /** Route MTU toward an address: the link MTU, or a learned path-MTU exception. */
  pathMtu(af: number, addr: Uint32Array, i: number, route: FibResult): number;
  /** ipv4_update_pmtu / ip6_update_pmtu: learn a smaller path MTU toward an address. */
  updatePmtu(af: number, addr: Uint32Array, i: number, mtu: number): void;
  /** Simulated time moved on: expire fragment queues, PMTU exceptions, neighbour probes. */
  tick(nowMs: number): void;
  /**
   * End of a replay (the replay engine calls it after the last frame and the
   * last timed command): fragments still held for reassembly never complete,
   * their frames move from `held` to `dropped` (`fragment-incomplete`).
   */
  flush(): void;
}
