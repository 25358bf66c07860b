/**
 * Per-protocol connection states, their names (as `ipvsadm -Lnc` prints
 * them), whether they count as active, and the timeout tables that
 * `ipvsadm --set` edits. Mirrors the constant tables of ip_vs_proto_tcp.c,
 * ip_vs_proto_udp.c and ip_vs_proto_sctp.c; the transition tables live with
 * the state machines (tcp_state.ts, sctp_state.ts).
 */

export const TcpState = {
  NONE: 0,
  ESTABLISHED: 1,
  SYN_SENT: 2,
  SYN_RECV: 3,
  FIN_WAIT: 4,
  TIME_WAIT: 5,
  CLOSE: 6,
  CLOSE_WAIT: 7,
  LAST_ACK: 8,
  LISTEN: 9,
  SYNACK: 10,
  LAST: 11,
} as const;

export const TCP_STATE_NAMES: readonly string[] = [
  'NONE',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'SYNACK',
  'BUG!',
];

/** States in which a TCP connection counts as an ActiveConn. */
export const TCP_STATE_ACTIVE: readonly boolean[] = [
  false, // NONE
  true, // ESTABLISHED
  true, // SYN_SENT
  true, // SYN_RECV
  false, // FIN_WAIT
  false, // TIME_WAIT
  false, // CLOSE
  false, // CLOSE_WAIT
  false, // LAST_ACK
  false, // LISTEN
  true, // SYNACK
  false,
];

/** Default TCP timeouts in seconds, indexed by TcpState. */
export const TCP_TIMEOUTS: readonly number[] = [2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120, 2];

export const UdpState = { NORMAL: 0, LAST: 1 } as const;
export const UDP_STATE_NAMES: readonly string[] = ['UDP', 'BUG!'];
export const UDP_TIMEOUTS: readonly number[] = [300, 2];

export const SctpState = {
  NONE: 0,
  INIT1: 1,
  INIT: 2,
  COOKIE_SENT: 3,
  COOKIE_REPLIED: 4,
  COOKIE_WAIT: 5,
  COOKIE: 6,
  COOKIE_ECHOED: 7,
  ESTABLISHED: 8,
  SHUTDOWN_SENT: 9,
  SHUTDOWN_RECEIVED: 10,
  SHUTDOWN_ACK_SENT: 11,
  REJECTED: 12,
  CLOSED: 13,
  LAST: 14,
} as const;

export const SCTP_STATE_NAMES: readonly string[] = [
  'NONE',
  'INIT1',
  'INIT',
  'C-SENT',
  'C-REPLIED',
  'C-WAIT',
  'COOKIE',
  'C-ECHOED',
  'ESTABLISHED',
  'S-SENT',
  'S-RECEIVED',
  'S-ACK-SENT',
  'REJECTED',
  'CLOSED',
  'BUG!',
];

const SCTP_MAX_RTO = 61;
export const SCTP_TIMEOUTS: readonly number[] = [
  2,
  4,
  SCTP_MAX_RTO,
  SCTP_MAX_RTO,
  SCTP_MAX_RTO,
  SCTP_MAX_RTO,
  SCTP_MAX_RTO,
  SCTP_MAX_RTO,
  900,
  SCTP_MAX_RTO,
  SCTP_MAX_RTO,
  SCTP_MAX_RTO,
  4,
  SCTP_MAX_RTO,
  2,
];

/** Connection template (persistence) states: NONE, and ASSURED once a connection it controls is established. */
export const CTPL_STATE_NAMES: readonly string[] = ['NONE', 'ASSURED'];

/** The timeout tables of one director, in seconds (ipvsadm --set edits three entries). */
export class Timeouts {
  readonly tcp = Float64Array.from(TCP_TIMEOUTS);
  readonly udp = Float64Array.from(UDP_TIMEOUTS);
  readonly sctp = Float64Array.from(SCTP_TIMEOUTS);

  /** `ipvsadm --set TCP TCPFIN UDP`: a 0 leaves that timeout unchanged (ip_vs_set_timeout). */
  set(tcp: number, tcpfin: number, udp: number): void {
    if (tcp) this.tcp[TcpState.ESTABLISHED] = tcp;
    if (tcpfin) this.tcp[TcpState.FIN_WAIT] = tcpfin;
    if (udp) this.udp[UdpState.NORMAL] = udp;
  }

  /** The three values `ipvsadm -L --timeout` prints. */
  get(): { tcp: number; tcpfin: number; udp: number } {
    return {
      tcp: this.tcp[TcpState.ESTABLISHED],
      tcpfin: this.tcp[TcpState.FIN_WAIT],
      udp: this.udp[UdpState.NORMAL],
    };
  }
}

/** The state name the kernel prints for an entry (ip_vs_state_name); templates show NONE / ASSURED. */
export function stateName(proto: number, template: boolean, state: number): string {
  if (template) return CTPL_STATE_NAMES[state & 1 ? 1 : 0];
  if (proto === 6) return TCP_STATE_NAMES[state] ?? 'ERR!';
  if (proto === 17) return UDP_STATE_NAMES[state] ?? 'ERR!';
  if (proto === 132) return SCTP_STATE_NAMES[state] ?? 'ERR!';
  return 'ERR!';
}
