/**
 * TCP connection-state transitions of IPVS (the behaviour of
 * ip_vs_proto_tcp.c's set_tcp_state): the next state is looked up from the
 * packet's most significant flag (RST > SYN > FIN > ACK), the direction the
 * packet travels, and the current state. Three directions exist: INPUT
 * (client -> server, once the server has been seen to answer), OUTPUT
 * (server -> client, seen only in NAT) and INPUT_ONLY (client -> server
 * while no reply has been seen; always the case for DR and TUN).
 *
 * The tables are the kernel's behaviour written as data: each row lists, for
 * the current states NO ES SS SR FW TW CL CW LA LI SA (in TcpState order),
 * the state a packet moves the connection to. `secure_tcp` >= 2 switches to
 * the "DoS defence" tables.
 */
import { TcpState } from './proto.js';

/** Packet directions as IPVS names them (IP_VS_DIR_*). */
export const Dir = { INPUT: 0, OUTPUT: 1, INPUT_ONLY: 2 } as const;

/** TCP flag bits as they appear in byte 13 of the header. */
export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20 } as const;

const ABBREV: Record<string, number> = {
  NO: TcpState.NONE,
  ES: TcpState.ESTABLISHED,
  SS: TcpState.SYN_SENT,
  SR: TcpState.SYN_RECV,
  FW: TcpState.FIN_WAIT,
  TW: TcpState.TIME_WAIT,
  CL: TcpState.CLOSE,
  CW: TcpState.CLOSE_WAIT,
  LA: TcpState.LAST_ACK,
  LI: TcpState.LISTEN,
  SA: TcpState.SYNACK,
};

const N = 11; // states with transitions (NONE..SYNACK)

/** Event index of a packet: 0 SYN, 1 FIN, 2 ACK, 3 RST; -1 when none of them is set. */
export function tcpEvent(flags: number): number {
  if (flags & TcpFlag.RST) return 3;
  if (flags & TcpFlag.SYN) return 0;
  if (flags & TcpFlag.FIN) return 1;
  if (flags & TcpFlag.ACK) return 2;
  return -1;
}

// Rows per direction: syn, fin, ack, rst. Columns: NO ES SS SR FW TW CL CW LA LI SA.
const NORMAL = [
  // INPUT
  'SR ES ES SR SR SR SR SR SR SR SR',
  'CL CW SS TW TW TW CL CW LA LI TW',
  'ES ES SS ES FW TW CL CW CL LI ES',
  'CL CL CL SR CL CL CL CL LA LI SR',
  // OUTPUT
  'SS ES SS SR SS SS SS SS SS LI SR',
  'TW FW SS TW FW TW CL TW LA LI TW',
  'ES ES SS ES FW TW CL CW LA ES ES',
  'CL CL SS CL CL TW CL CL CL CL CL',
  // INPUT_ONLY
  'SR ES ES SR SR SR SR SR SR SR SR',
  'CL FW SS TW FW TW CL CW LA LI TW',
  'ES ES SS ES FW TW CL CW CL LI ES',
  'CL CL CL SR CL CL CL CL LA LI CL',
];

const SECURE = [
  // INPUT
  'SR ES ES SR SR SR SR SR SR SR SA',
  'CL CW SS TW TW TW CL CW LA LI SA',
  'ES ES SS SR FW TW CL CW CL LI SA',
  'CL CL CL SR CL CL CL CL LA LI CL',
  // OUTPUT
  'SS ES SS SA SS SS SS SS SS LI SA',
  'TW FW SS TW FW TW CL TW LA LI TW',
  'ES ES SS ES FW TW CL CW LA ES ES',
  'CL CL SS CL CL TW CL CL CL CL CL',
  // INPUT_ONLY
  'SA ES ES SR SA SA SA SA SA SA SA',
  'CL FW SS TW FW TW CL CW LA LI TW',
  'ES ES SS ES FW TW CL CW CL LI ES',
  'CL CL CL SR CL CL CL CL LA LI CL',
];

function compile(rows: string[]): Uint8Array {
  const t = new Uint8Array(rows.length * N);
  rows.forEach((row, r) => {
    const cells = row.split(' ');
    if (cells.length !== N) throw new Error(`tcp state table row ${r} has ${cells.length} cells`);
    cells.forEach((c, s) => (t[r * N + s] = ABBREV[c]));
  });
  return t;
}

const TABLE_NORMAL = compile(NORMAL);
const TABLE_SECURE = compile(SECURE);

/**
 * The state a TCP packet moves a connection to. `dir` is the effective
 * direction (Dir.INPUT_ONLY while the connection has seen no output);
 * `flags` the TCP flag byte; `secure` selects the secure_tcp tables.
 * A packet with none of SYN/FIN/ACK/RST moves the connection to CLOSE, as in
 * the kernel.
 */
export function tcpNextState(state: number, dir: number, flags: number, secure: boolean): number {
  const ev = tcpEvent(flags);
  if (ev < 0 || state >= N) return TcpState.CLOSE;
  const t = secure ? TABLE_SECURE : TABLE_NORMAL;
  return t[(dir * 4 + ev) * N + state];
}
