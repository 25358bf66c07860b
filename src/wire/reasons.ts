/**
 * Wire drop reasons: every way a frame can be malformed, as a small integer
 * with one kebab-case name in WIRE_REASON_NAMES (index = code). Check
 * functions and the decode chain return these; 0 (OK) means "sane".
 *
 * Naming rule for lengths (see parse.ts):
 * - `*-truncated`, `*-beyond-frame`, `*-below-header`, `*-bad-length`: the
 *   lengths *on the wire* (the frame's original length, the IP total length)
 *   are inconsistent: the kernel would drop the packet.
 * - `*-not-captured`: the packet is fine on the wire but the capture (caplen)
 *   cut off a header the datapath must read. Truncated captures are normal;
 *   only a missing header is a reason.
 *
 * The datapath numbers its own drop reasons after these (WIRE_REASON_COUNT).
 */
export const WireReason = {
  OK: 0,
  /** `off + capLen` lies beyond the buffer handed to the parser (a caller bug, reported, not thrown). */
  FRAME_BEYOND_BUFFER: 1,
  /** The captured length exceeds the original length. */
  FRAME_CAPLEN_EXCEEDS_LEN: 2,
  /** The original length exceeds MAX_FRAME_LEN (no IP packet can need more). */
  FRAME_OVERSIZE: 3,
  /** Fewer than 14 bytes on the wire: no Ethernet header. */
  ETH_TRUNCATED: 4,
  /** The Ethernet header is cut by the capture. */
  ETH_HEADER_NOT_CAPTURED: 5,
  /** An 802.1Q/802.1ad tag (with the type after it) does not fit in the frame. */
  VLAN_TRUNCATED: 6,
  /** A VLAN tag is cut by the capture. */
  VLAN_HEADER_NOT_CAPTURED: 7,
  /** More than two VLAN tags. */
  VLAN_TOO_MANY_TAGS: 8,
  /** An ARP packet shorter than 28 bytes on the wire. */
  ARP_TRUNCATED: 9,
  /** The 28-byte ARP body is cut by the capture. */
  ARP_HEADER_NOT_CAPTURED: 10,
  /** ARP that is not Ethernet/IPv4 (hardware type 1, protocol 0x0800, lengths 6 and 4). */
  ARP_BAD_FORMAT: 11,
  /** Fewer than 20 bytes (or fewer than IHL*4) of IPv4 header on the wire. */
  IPV4_TRUNCATED: 12,
  /** The IPv4 header (with its options) is cut by the capture. */
  IPV4_HEADER_NOT_CAPTURED: 13,
  /** IPv4 expected (EtherType 0x0800, IPIP, quoted header) but the version is not 4. */
  IPV4_BAD_VERSION: 14,
  /** IHL below 5. */
  IPV4_BAD_IHL: 15,
  /** The IPv4 header checksum does not verify (ip_rcv drops it). */
  IPV4_BAD_CHECKSUM: 16,
  /** The total length exceeds what the frame carries. */
  IPV4_TOTAL_LENGTH_BEYOND_FRAME: 17,
  /** The total length is smaller than the header. */
  IPV4_TOTAL_LENGTH_BELOW_HEADER: 18,
  /** The options do not pass ip_options_compile()'s checks. */
  IPV4_BAD_OPTIONS: 19,
  /** Fewer than 40 bytes of IPv6 header on the wire. */
  IPV6_TRUNCATED: 20,
  /** The IPv6 fixed header is cut by the capture. */
  IPV6_HEADER_NOT_CAPTURED: 21,
  /** IPv6 expected but the version is not 6. */
  IPV6_BAD_VERSION: 22,
  /** 40 + payload length exceeds what the frame carries. */
  IPV6_PAYLOAD_BEYOND_FRAME: 23,
  /** Payload length 0 with a hop-by-hop header: a jumbogram (not modelled). */
  IPV6_JUMBOGRAM: 24,
  /** The first hop-by-hop options header fails ip6_parse_tlv()'s checks. */
  IPV6_BAD_HOP_BY_HOP_OPTIONS: 25,
  /** An extension header runs past the end of the payload. */
  IPV6_BAD_EXTENSION_CHAIN: 26,
  /** An extension header is cut by the capture. */
  IPV6_EXTENSION_HEADER_NOT_CAPTURED: 27,
  /** More than MAX_IPV6_EXT_HEADERS extension headers. */
  IPV6_TOO_MANY_EXTENSION_HEADERS: 28,
  /** Fewer than 20 bytes of TCP in the IP payload. */
  TCP_TRUNCATED: 29,
  /** The 20-byte TCP header is cut by the capture. */
  TCP_HEADER_NOT_CAPTURED: 30,
  /** Data offset below 5 or beyond the segment (soft: PacketInfo.l4Reason). */
  TCP_BAD_DATA_OFFSET: 31,
  /** Fewer than 8 bytes of UDP in the IP payload. */
  UDP_TRUNCATED: 32,
  /** The UDP header is cut by the capture. */
  UDP_HEADER_NOT_CAPTURED: 33,
  /** The UDP length field is below 8 or beyond the IP payload (soft: PacketInfo.l4Reason). */
  UDP_BAD_LENGTH: 34,
  /** Fewer than 8 bytes of ICMP in the IP payload. */
  ICMP_TRUNCATED: 35,
  /** The 8-byte ICMP header is cut by the capture. */
  ICMP_HEADER_NOT_CAPTURED: 36,
  /** Fewer than 8 bytes of ICMPv6 in the IP payload. */
  ICMPV6_TRUNCATED: 37,
  /** The 8-byte ICMPv6 header is cut by the capture. */
  ICMPV6_HEADER_NOT_CAPTURED: 38,
  /** Fewer than 16 bytes (common header + first chunk header) of SCTP in the IP payload. */
  SCTP_TRUNCATED: 39,
  /** The SCTP common header or first chunk header is cut by the capture. */
  SCTP_HEADER_NOT_CAPTURED: 40,
  /** A quoted packet (inside an ICMP error) lacks the first 8 bytes of its L4 header. */
  L4_HEADER_NOT_CAPTURED: 41,
  /** The GUE header (with its extension fields) does not fit in the UDP payload. */
  GUE_TRUNCATED: 42,
  /** The GUE header is cut by the capture. */
  GUE_HEADER_NOT_CAPTURED: 43,
  /** GUE version other than 0 or 1 (1 = direct IPv4/IPv6). */
  GUE_BAD_VERSION: 44,
  /** The GRE header (with its optional fields) does not fit in the IP payload. */
  GRE_TRUNCATED: 45,
  /** The GRE header is cut by the capture. */
  GRE_HEADER_NOT_CAPTURED: 46,
  /** GRE version not 0, or the routing bit set (gre_parse_header() refuses both). */
  GRE_BAD_FLAGS: 47,
  /** A tunnel whose payload is not IPv4/IPv6 (GUE control message, other protocol). */
  TUNNEL_INNER_NOT_IP: 48,
  /** parseInner() on a packet that is not IPIP, ip6ip6, GRE or GUE on the given port. */
  NOT_A_TUNNEL: 49,
} as const;

export type WireReasonCode = (typeof WireReason)[keyof typeof WireReason];

/** Kebab-case name of each reason, indexed by code. */
export const WIRE_REASON_NAMES: readonly string[] = [
  'ok',
  'frame-beyond-buffer',
  'frame-caplen-exceeds-len',
  'frame-oversize',
  'eth-truncated',
  'eth-header-not-captured',
  'vlan-truncated',
  'vlan-header-not-captured',
  'vlan-too-many-tags',
  'arp-truncated',
  'arp-header-not-captured',
  'arp-bad-format',
  'ipv4-truncated',
  'ipv4-header-not-captured',
  'ipv4-bad-version',
  'ipv4-bad-ihl',
  'ipv4-bad-checksum',
  'ipv4-total-length-beyond-frame',
  'ipv4-total-length-below-header',
  'ipv4-bad-options',
  'ipv6-truncated',
  'ipv6-header-not-captured',
  'ipv6-bad-version',
  'ipv6-payload-beyond-frame',
  'ipv6-jumbogram',
  'ipv6-bad-hop-by-hop-options',
  'ipv6-bad-extension-chain',
  'ipv6-extension-header-not-captured',
  'ipv6-too-many-extension-headers',
  'tcp-truncated',
  'tcp-header-not-captured',
  'tcp-bad-data-offset',
  'udp-truncated',
  'udp-header-not-captured',
  'udp-bad-length',
  'icmp-truncated',
  'icmp-header-not-captured',
  'icmpv6-truncated',
  'icmpv6-header-not-captured',
  'sctp-truncated',
  'sctp-header-not-captured',
  'l4-header-not-captured',
  'gue-truncated',
  'gue-header-not-captured',
  'gue-bad-version',
  'gre-truncated',
  'gre-header-not-captured',
  'gre-bad-flags',
  'tunnel-inner-not-ip',
  'not-a-tunnel',
];

/** Number of wire reasons (codes are 0 .. WIRE_REASON_COUNT - 1). */
export const WIRE_REASON_COUNT = WIRE_REASON_NAMES.length;

/** Name of a reason code (`unknown-<n>` for a code outside the table). */
export function wireReasonName(code: number): string {
  return WIRE_REASON_NAMES[code] ?? `unknown-${code}`;
}
