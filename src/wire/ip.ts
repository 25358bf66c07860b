/**
 * IP protocol numbers shared by IPv4 (protocol field) and IPv6 (next header),
 * and the set of IPv6 extension headers the decode chain walks.
 */
export const IpProto = {
  /** IPv6 hop-by-hop options (IPv6 only). */
  HOPOPTS: 0,
  ICMP: 1,
  /** IPv4 in IP: IPIP tunnels. */
  IPIP: 4,
  TCP: 6,
  UDP: 17,
  /** IPv6 in IP: ip6ip6 (over IPv6) and 6in4. */
  IPV6: 41,
  ROUTING: 43,
  FRAGMENT: 44,
  GRE: 47,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  /** IPv6 "no next header". */
  NONE: 59,
  DSTOPTS: 60,
  SCTP: 132,
  UDPLITE: 136,
} as const;

/**
 * Whether `nh` is an IPv6 extension header that `ipv6_find_hdr()` walks:
 * hop-by-hop, routing, fragment, authentication, destination options. (ESP
 * and "no next header" end the walk.)
 */
export function isIpv6ExtHeader(nh: number): boolean {
  return (
    nh === IpProto.HOPOPTS ||
    nh === IpProto.ROUTING ||
    nh === IpProto.FRAGMENT ||
    nh === IpProto.DSTOPTS ||
    nh === IpProto.AH
  );
}
