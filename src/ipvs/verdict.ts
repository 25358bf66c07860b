/**
 * What happened to each input frame. Every frame read gets exactly one fate:
 * forwarded (the director sent it on, rewritten), answered (the director's own
 * stack replied: RST, ICMP error, echo reply, ARP reply), delivered locally
 * without an answer, or dropped — the last three with a named reason. Counters
 * live in Float64Arrays indexed by reason code; names are in one table.
 */

export const Fate = {
  FORWARDED: 0,
  ANSWERED: 1,
  LOCAL: 2,
  DROPPED: 3,
  /** An IP fragment held for reassembly; resolved to another fate later. */
  HELD: 4,
} as const;
export type FateValue = (typeof Fate)[keyof typeof Fate];

export const FATE_NAMES = ['forwarded', 'answered', 'local', 'dropped', 'held'] as const;

/**
 * Reasons (for answered, local and dropped frames). Wire-level parse failures
 * have their own codes (wire/reasons.ts); they are counted under
 * `Reason.MALFORMED` with the wire code kept separately.
 */
export const Reason = {
  NONE: 0,
  // dropped
  MALFORMED: 1,
  NOT_FOR_US: 2,
  VLAN_NO_INTERFACE: 3,
  UNKNOWN_ETHERTYPE: 4,
  IPV4_BAD_CHECKSUM: 5,
  MARTIAN_SOURCE: 6,
  MARTIAN_DESTINATION: 7,
  FORWARDING_DISABLED: 8,
  NO_ROUTE: 9,
  NEIGHBOUR_UNRESOLVED: 10,
  IPVS_DEST_UNAVAILABLE: 11,
  IPVS_CONN_TABLE_FULL: 12,
  IPVS_DROP: 13,
  ICMP_BAD_CHECKSUM: 14,
  FRAG_INCOMPLETE: 15,
  FRAG_BAD: 16,
  HEADER_NOT_CAPTURED: 17,
  NOT_HANDLED: 18,
  BROADCAST: 19,
  IPV6_DISABLED: 20,
  MTU_EXCEEDED: 21,
  // answered by the director's own stack
  TCP_RESET: 22,
  ICMP_PORT_UNREACHABLE: 23,
  ICMP_PROTO_UNREACHABLE: 24,
  ECHO_REPLY: 25,
  TTL_EXCEEDED: 26,
  FRAG_NEEDED: 27,
  ARP_REPLY: 28,
  NEIGHBOUR_ADVERT: 29,
  IPVS_NO_DEST: 30,
  // delivered locally without an answer
  LOCAL_TCP_RESET: 31,
  LOCAL_ICMP: 32,
  LOCAL_ARP: 33,
  LOCAL_OTHER: 34,
  LOCAL_ND: 35,
  // host stack (appended)
  /** A TCP / UDP / ICMP checksum the local stack verified was wrong (dropped silently). */
  L4_BAD_CHECKSUM: 36,
  /** The ICMP answer the kernel would send was suppressed by its rate limits. */
  ICMP_RATE_LIMITED: 37,
  /** Fragment refused: reassembly memory above ipfrag_high_thresh. */
  FRAG_MEM_LIMIT: 38,
  /** A fragment whose bytes the queue already holds (dropped, the queue kept). */
  FRAG_DUPLICATE: 39,
  /** IPVS needs the whole transport header (TCP 20, UDP 8, SCTP 16 bytes) in the packet: a first fragment that lacks it is dropped. */
  IPVS_L4_HEADER_MISSING: 40,
} as const;

export const REASON_NAMES: readonly string[] = [
  'none',
  'malformed',
  'not-for-us',
  'vlan-no-interface',
  'unknown-ethertype',
  'ipv4-bad-checksum',
  'martian-source',
  'martian-destination',
  'forwarding-disabled',
  'no-route',
  'neighbour-unresolved',
  'ipvs-dest-unavailable',
  'ipvs-conn-table-full',
  'ipvs-drop',
  'icmp-bad-checksum',
  'fragment-incomplete',
  'fragment-bad',
  'header-not-captured',
  'not-handled',
  'broadcast',
  'ipv6-disabled',
  'mtu-exceeded',
  'tcp-reset',
  'icmp-port-unreachable',
  'icmp-protocol-unreachable',
  'echo-reply',
  'ttl-exceeded',
  'fragmentation-needed',
  'arp-reply',
  'neighbour-advertisement',
  'ipvs-no-destination',
  'tcp-reset-received',
  'icmp-received',
  'arp-received',
  'other-received',
  'neighbour-discovery-received',
  'l4-bad-checksum',
  'icmp-rate-limited',
  'fragment-memory-limit',
  'fragment-duplicate',
  'ipvs-l4-header-missing',
];

export const REASON_COUNT = REASON_NAMES.length;

/** Counters of one replay: frames per fate, per (fate, reason), and malformed frames per wire reason. */
export class FateStats {
  framesIn = 0;
  readonly fates = new Float64Array(FATE_NAMES.length);
  /** [fate * REASON_COUNT + reason] */
  readonly byReason = new Float64Array(FATE_NAMES.length * REASON_COUNT);
  /** Malformed frames by wire reason code. */
  readonly malformed: Float64Array;

  constructor(wireReasonCount: number) {
    this.malformed = new Float64Array(Math.max(1, wireReasonCount));
  }

  count(fate: number, reason: number, n = 1): void {
    this.fates[fate] += n;
    this.byReason[fate * REASON_COUNT + reason] += n;
  }

  /** Moves `n` frames from HELD to another fate (fragments resolved by reassembly). */
  release(fate: number, reason: number, n: number): void {
    this.fates[Fate.HELD] -= n;
    this.byReason[Fate.HELD * REASON_COUNT] -= n;
    this.count(fate, reason, n);
  }
}
