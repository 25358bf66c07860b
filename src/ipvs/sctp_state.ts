/**
 * SCTP association-state transitions of IPVS (the behaviour of
 * ip_vs_proto_sctp.c's set_sctp_state): the event is derived from the first
 * chunk's type (a COOKIE ECHO or COOKIE ACK immediately followed by an ABORT
 * counts as ABORT), and the next state is looked up per direction.
 * Only ESTABLISHED counts as an active connection.
 */
import { SctpState } from './proto.js';

/** SCTP chunk types (defined once, in wire/). */
export { SctpChunk } from '../wire/sctp.js';

/** Events: 0 data, 1 init, 2 init-ack, 3 cookie-echo, 4 cookie-ack, 5 shutdown, 6 shutdown-ack, 7 shutdown-complete, 8 error, 9 abort. */
const EVENT_OF_CHUNK = [0, 1, 2, 0, 0, 0, 9, 5, 6, 8, 3, 4, 0, 0, 7];

export function sctpEvent(chunkType: number): number {
  return chunkType < EVENT_OF_CHUNK.length ? EVENT_OF_CHUNK[chunkType] : 0;
}

const ABBREV: Record<string, number> = {
  NO: SctpState.NONE,
  I1: SctpState.INIT1,
  IN: SctpState.INIT,
  CS: SctpState.COOKIE_SENT,
  CR: SctpState.COOKIE_REPLIED,
  CW: SctpState.COOKIE_WAIT,
  CO: SctpState.COOKIE,
  CE: SctpState.COOKIE_ECHOED,
  ES: SctpState.ESTABLISHED,
  SS: SctpState.SHUTDOWN_SENT,
  SR: SctpState.SHUTDOWN_RECEIVED,
  SA: SctpState.SHUTDOWN_ACK_SENT,
  RJ: SctpState.REJECTED,
  CL: SctpState.CLOSED,
};
const N = 14;

// Per direction, one row per event (data init i_a c_e c_a s s_a s_c err ab);
// columns are the current states NO I1 IN CS CR CW CO CE ES SS SR SA RJ CL.
const ROWS = [
  // INPUT
  'ES I1 IN CS CR CW CO CE ES SS SR SA RJ CL',
  'I1 IN IN CS CR CW CO CE ES SS SR SA IN IN',
  'CW CW CW CS CR CO CO CE ES SS SR SA RJ CL',
  'CR IN IN CR CR CW CO CE ES SS SR SA RJ CL',
  'ES I1 IN CS CR CW CO ES ES SS SR SA RJ CL',
  'SR I1 IN CS CR CW CO CE SR SS SR SA RJ CL',
  'CL IN IN CS CR CW CO CE ES CL SR CL RJ CL',
  'CL CL CL CS CR CW CO CE ES SS SR CL RJ CL',
  'CL I1 IN CS CR CW CO CL ES SS SR SA RJ CL',
  'CL CL CL CL CL RJ CL CL CL CL CL CL CL CL',
  // OUTPUT
  'ES I1 IN CS CR CW CO CE ES SS SR SA RJ CL',
  'CW CW CW CW CW CW CW CW ES CW CW CW CW CW',
  'CS CS CS CS CR CW CO CE ES SS SR SA RJ CL',
  'CE CE CE CE CE CE CE CE ES SS SR SA RJ CL',
  'ES ES ES ES ES ES ES ES ES SS SR SA RJ CL',
  'SS SS SS SS SS SS SS SS SS SS SR SA RJ CL',
  'SA SA SA SA SA CW CO CE ES SA SA SA RJ CL',
  'CL I1 IN CS CR CW CO CE ES SS SR SA RJ CL',
  'CL CL CL CL CL CW CO CE ES SS SR SA RJ CL',
  'CL RJ CL CL CL CL CL CL CL CL CL CL CL CL',
  // INPUT_ONLY
  'ES I1 IN CS CR ES CO CE ES SS SR SA RJ CL',
  'I1 IN IN IN IN IN CO CE ES SS SR SA IN IN',
  'CE CE CE CE CE CE CO CE ES SS SR SA RJ CL',
  'ES ES ES ES ES ES CO CE ES SS SR SA RJ CL',
  'ES I1 IN ES ES CW ES ES ES SS SR SA RJ CL',
  'SR I1 IN CS CR CW CO CE SR SS SR SA RJ CL',
  'CL IN IN CS CR CW CO CE CL CL SR CL RJ CL',
  'CL CL CL CL CL CW CO CE ES SS CL CL RJ CL',
  'CL I1 IN CS CR CW CO CE ES SS SR SA RJ CL',
  'CL CL CL CL CL RJ CL CL CL CL CL CL CL CL',
];

const TABLE = (() => {
  const t = new Uint8Array(ROWS.length * N);
  ROWS.forEach((row, r) => {
    const cells = row.split(' ');
    if (cells.length !== N) throw new Error(`sctp state table row ${r} has ${cells.length} cells`);
    cells.forEach((c, s) => (t[r * N + s] = ABBREV[c]));
  });
  return t;
})();

/** The state an SCTP packet moves an association to (dir: Dir.INPUT / OUTPUT / INPUT_ONLY). */
export function sctpNextState(state: number, dir: number, event: number): number {
  if (state >= N) return SctpState.CLOSED;
  return TABLE[(dir * 10 + event) * N + state];
}
