/**
 * The packet in flight through the director (the simulator's sk_buff): where
 * its IP header starts in which buffer, how long the IP packet is, how much of
 * it the capture holds, and where it came from. One instance per director,
 * reused for every packet.
 *
 * Storage: a received frame is processed in place in the capture reader's
 * buffer (DR and NAT only rewrite bytes of the IP packet). Headers that go in
 * front of it (Ethernet, and the outer headers of a tunnel) are built in a
 * small header scratch and handed to the output together with the packet
 * body (a two-part write), so neither a copy nor room in front of the packet
 * is needed. New packets (ICMP errors, RSTs, reassembled datagrams,
 * fragments) are built in the director's scratch buffers.
 */

/** Size of a packet scratch buffer: the largest IP packet plus room for headers. */
export const SCRATCH_SIZE = 65536 + 256;

export class Skb {
  /** The bytes; `l3` indexes the IP header in it. */
  buf: Uint8Array;
  /** Offset of the IP header. */
  l3 = 0;
  /** IP packet length (what the IP header says, after trimming Ethernet padding). */
  len = 0;
  /** Bytes of the IP packet present in `buf` from `l3` (< len when the capture truncated the frame). */
  cap = 0;
  /** 4 or 6. */
  af = 4;
  /** Link the frame arrived on (-1 for a packet the director made itself). */
  inLink = -1;
  /** Firewall mark set at PREROUTING. */
  mark = 0;
  /** Largest fragment size when this packet was reassembled (IPCB frag_max_size), else 0. */
  fragMaxSize = 0;
  /** Set once IPVS has handled the packet (skb->ipvs_property): later hooks leave it alone. */
  ipvsProperty = false;

  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  /** Bytes of the packet that the capture did not hold (added to the original length of output frames). */
  get missing(): number {
    return this.len - this.cap;
  }

  /** Points the skb at an IP packet. */
  set(buf: Uint8Array, l3: number, len: number, cap: number, af: number): void {
    this.buf = buf;
    this.l3 = l3;
    this.len = len;
    this.cap = cap;
    this.af = af;
    this.fragMaxSize = 0;
    this.ipvsProperty = false;
  }
}
