/**
 * A minimal TCP for the lab's hosts: enough for one HTTP/1.0 exchange per
 * connection, segment by segment as Linux sends them on a quiet LAN — the
 * three-way handshake (MSS option), the request (segmented to the peer's MSS
 * and the path MTU), the response and the server's close, the client's
 * FIN,ACK and the last ACK. SYNs are retransmitted (1 s, then doubling) up
 * to `synRetries` times; unacknowledged data after 1 s, or at once when an
 * ICMP fragmentation-needed lowers the path MTU (tcp_v4_mtu_reduced +
 * tcp_simple_retransmit). A segment that belongs to no connection is
 * answered with RST (tcp_v4_send_reset) when a route back exists. No
 * windows, no congestion control, no reordering: the lab network does not
 * need them.
 */
import { IpAddr } from '../../wire/addr.js';
import { rd16, rd32 } from '../../wire/bytes.js';
import { Ipv4Repr, TcpRepr, buildPacket } from '../../wire/repr.js';
import { TcpFlag } from '../../wire/tcp.js';
import { ip4, type LabHost } from './host.js';

const SYN_RTO_MS = 1000;
const DATA_RTO_MS = 1000;
const DATA_RETRIES = 3;
/** Delayed ACK (tcp_delack_min, 40 ms). */
const DELACK_MS = 40;
const WINDOW = 64240;

/** How a client's exchange ended. */
export interface ExchangeResult {
  ok: boolean;
  /** Body of the HTTP response (the real server's name in the lab), null without one. */
  body: string | null;
  /** Why it failed (connection timed out, reset, …), empty when ok. */
  reason: string;
}

type State = 'SYN_SENT' | 'SYN_RCVD' | 'ESTABLISHED' | 'FIN_WAIT' | 'LAST_ACK' | 'CLOSED';

interface Conn {
  role: 'client' | 'server';
  local: number;
  lport: number;
  remote: number;
  rport: number;
  state: State;
  iss: number;
  sndUna: number;
  sndNxt: number;
  rcvNxt: number;
  /** Everything this side sends after the handshake. */
  out: Uint8Array;
  /** Bytes of `out` sent at least once. */
  sent: number;
  /** This side closes after `out` (the server, HTTP/1.0). */
  closeAfter: boolean;
  finSent: boolean;
  peerMss: number;
  received: number[];
  retries: number;
  /** Generation of the retransmission timer (a newer arm cancels older ones). */
  timerGen: number;
  ackPending: boolean;
  done: ((r: ExchangeResult) => void) | null;
  /** Server side: the function making the response from the request. */
  respond: ((req: Uint8Array) => Uint8Array) | null;
}

function key(local: number, lport: number, remote: number, rport: number): string {
  return `${local}:${lport}-${remote}:${rport}`;
}

function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** The MSS option of a SYN / SYN-ACK. */
function mssOption(mss: number): Uint8Array {
  return Uint8Array.of(2, 4, mss >>> 8, mss & 255);
}

function readMss(seg: Uint8Array, hl: number): number {
  let p = 20;
  while (p + 1 < hl) {
    const kind = seg[p];
    if (kind === 0) break;
    if (kind === 1) {
      p++;
      continue;
    }
    const len = seg[p + 1];
    if (kind === 2 && len === 4) return rd16(seg, p + 2);
    if (len < 2) break;
    p += len;
  }
  return 536;
}

/** HTTP/1.0 message complete: headers and Content-Length bytes of body. */
export function httpComplete(b: number[]): boolean {
  const text = String.fromCharCode(...b.slice(0, Math.min(b.length, 4096)));
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const m = /content-length:\s*(\d+)/i.exec(text.slice(0, end));
  const want = m ? Number(m[1]) : 0;
  return b.length >= end + 4 + want;
}

/** The body of an HTTP message. */
export function httpBody(b: number[]): string {
  const text = String.fromCharCode(...b);
  const end = text.indexOf('\r\n\r\n');
  return end < 0 ? '' : text.slice(end + 4);
}

export class TcpStack {
  private readonly host: LabHost;
  private readonly conns = new Map<string, Conn>();
  private readonly listeners = new Map<number, (req: Uint8Array) => Uint8Array>();
  private issNext: number;

  constructor(host: LabHost) {
    this.host = host;
    let h = 0x5a17;
    for (const c of host.name) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
    this.issNext = (h * 0x10000) >>> 0;
  }

  private newIss(): number {
    this.issNext = seqAdd(this.issNext, 0x01000000);
    return this.issNext;
  }

  /** Accepts connections to `port` on every local address; `respond` makes the reply to a complete request. */
  listen(port: number, respond: (req: Uint8Array) => Uint8Array): void {
    this.listeners.set(port, respond);
  }

  /** Opens a connection, sends `request`, reads the response until the server closes. */
  connect(
    dst: number,
    dport: number,
    sport: number,
    request: Uint8Array,
    synRetries: number,
    done: (r: ExchangeResult) => void,
  ): void {
    const r = this.host.route(dst);
    if (!r) {
      done({ ok: false, body: null, reason: `no route to ${ip4(dst)}` });
      return;
    }
    const iss = this.newIss();
    const c: Conn = {
      role: 'client',
      local: r.src,
      lport: sport,
      remote: dst,
      rport: dport,
      state: 'SYN_SENT',
      iss,
      sndUna: iss,
      sndNxt: seqAdd(iss, 1),
      rcvNxt: 0,
      out: request,
      sent: 0,
      closeAfter: false,
      finSent: false,
      peerMss: 536,
      received: [],
      retries: 0,
      timerGen: 0,
      ackPending: false,
      done,
      respond: null,
    };
    this.conns.set(key(c.local, c.lport, c.remote, c.rport), c);
    const sendSyn = (): void => {
      this.send(c, c.iss, TcpFlag.SYN, new Uint8Array(0), mssOption(r.ifc.mtu - 40));
    };
    sendSyn();
    const arm = (rto: number): void => {
      const gen = ++c.timerGen;
      this.host.sim.after(rto, () => {
        if (gen !== c.timerGen || c.state !== 'SYN_SENT') return;
        if (c.retries >= synRetries) {
          this.finish(c, {
            ok: false,
            body: null,
            reason: `connection timed out: no SYN,ACK after ${synRetries} retransmission${synRetries === 1 ? '' : 's'}`,
          });
          return;
        }
        c.retries++;
        this.host.log(`retransmits its SYN to ${ip4(c.remote)}:${c.rport} (no answer yet)`);
        sendSyn();
        arm(rto * 2);
      });
    };
    arm(SYN_RTO_MS);
  }

  private finish(c: Conn, r: ExchangeResult): void {
    c.state = 'CLOSED';
    c.timerGen++;
    this.conns.delete(key(c.local, c.lport, c.remote, c.rport));
    const d = c.done;
    c.done = null;
    if (d) d(r);
  }

  /** tcp_v4_rcv for a segment from `src` to `dst` (a local address). */
  input(src: number, dst: number, seg: Uint8Array, inIf: string): void {
    if (seg.length < 20) return;
    const sport = rd16(seg, 0);
    const dport = rd16(seg, 2);
    const seq = rd32(seg, 4);
    const ack = rd32(seg, 8);
    const hl = (seg[12] >> 4) * 4;
    const flags = seg[13];
    const data = seg.subarray(hl);
    const c = this.conns.get(key(dst, dport, src, sport));
    if (!c) {
      const respond = this.listeners.get(dport);
      if (respond && flags & TcpFlag.SYN && !(flags & TcpFlag.ACK)) {
        this.accept(src, sport, dst, dport, seq, readMss(seg, hl), respond, inIf);
        return;
      }
      if (flags & TcpFlag.RST) return;
      this.reset(src, sport, dst, dport, seq, ack, flags, data.length);
      return;
    }
    if (flags & TcpFlag.RST) {
      this.host.log(`connection ${ip4(c.local)}:${c.lport} ↔ ${ip4(c.remote)}:${c.rport} reset by the peer`);
      this.finish(c, { ok: false, body: null, reason: 'connection reset' });
      return;
    }
    if (c.state === 'SYN_SENT') {
      if (flags & TcpFlag.SYN && flags & TcpFlag.ACK && ack === seqAdd(c.iss, 1)) {
        c.rcvNxt = seqAdd(seq, 1);
        c.sndUna = ack;
        c.peerMss = readMss(seg, hl);
        c.state = 'ESTABLISHED';
        c.timerGen++;
        this.send(c, c.sndNxt, TcpFlag.ACK, new Uint8Array(0));
        this.pushData(c);
      }
      return;
    }
    if (c.state === 'SYN_RCVD' && flags & TcpFlag.SYN) {
      // the client retransmitted its SYN: our SYN,ACK again
      this.send(c, c.iss, TcpFlag.SYN | TcpFlag.ACK, new Uint8Array(0), mssOption(this.mssFor(c)));
      return;
    }
    if (flags & TcpFlag.ACK) this.acked(c, ack);
    if (c.state === 'SYN_RCVD' && c.sndUna === seqAdd(c.iss, 1)) c.state = 'ESTABLISHED';
    if (data.length > 0) {
      if (seq === c.rcvNxt) {
        for (const x of data) c.received.push(x);
        c.rcvNxt = seqAdd(c.rcvNxt, data.length);
        this.dataIn(c);
      } else this.send(c, c.sndNxt, TcpFlag.ACK, new Uint8Array(0));
    }
    if (flags & TcpFlag.FIN && seqAdd(seq, data.length) === c.rcvNxt) {
      c.rcvNxt = seqAdd(c.rcvNxt, 1);
      this.finIn(c);
    }
  }

  private mssFor(c: Conn): number {
    const r = this.host.route(c.remote);
    return (r ? r.ifc.mtu : 1500) - 40;
  }

  private accept(
    src: number,
    sport: number,
    dst: number,
    dport: number,
    seq: number,
    peerMss: number,
    respond: (req: Uint8Array) => Uint8Array,
    inIf: string,
  ): void {
    const iss = this.newIss();
    const c: Conn = {
      role: 'server',
      local: dst,
      lport: dport,
      remote: src,
      rport: sport,
      state: 'SYN_RCVD',
      iss,
      sndUna: iss,
      sndNxt: seqAdd(iss, 1),
      rcvNxt: seqAdd(seq, 1),
      out: new Uint8Array(0),
      sent: 0,
      closeAfter: true,
      finSent: false,
      peerMss,
      received: [],
      retries: 0,
      timerGen: 0,
      ackPending: false,
      done: null,
      respond,
    };
    this.conns.set(key(dst, dport, src, sport), c);
    const where = this.host.whereLocal(dst);
    this.host.log(
      `accepts a connection from ${ip4(src)}:${sport} to ${ip4(dst)}:${dport}${where && where !== inIf ? ` (${ip4(dst)} is on ${where}; the SYN came in on ${inIf})` : ''}`,
    );
    this.send(c, c.iss, TcpFlag.SYN | TcpFlag.ACK, new Uint8Array(0), mssOption(this.mssFor(c)));
  }

  private acked(c: Conn, ack: number): void {
    const advance = (ack - c.sndUna) | 0;
    if (advance > 0 && ((c.sndNxt - ack) | 0) >= 0) {
      c.sndUna = ack;
      c.retries = 0;
      if (c.sndUna === c.sndNxt) c.timerGen++;
    }
    if (c.finSent && c.sndUna === c.sndNxt && c.state === 'LAST_ACK') this.complete(c);
  }

  private dataIn(c: Conn): void {
    if (c.role === 'server') {
      if (c.respond && httpComplete(c.received)) {
        const resp = c.respond(Uint8Array.from(c.received));
        c.respond = null;
        c.out = resp;
        c.sent = 0;
        this.pushData(c);
      }
      return;
    }
    // client: delayed ACK (cancelled if the FIN comes first)
    if (!c.ackPending) {
      c.ackPending = true;
      this.host.sim.after(DELACK_MS, () => {
        if (c.ackPending && c.state === 'ESTABLISHED') {
          c.ackPending = false;
          this.send(c, c.sndNxt, TcpFlag.ACK, new Uint8Array(0));
        }
      });
    }
  }

  private finIn(c: Conn): void {
    c.ackPending = false;
    if (c.role === 'client') {
      // the response is complete: close our side at once (FIN,ACK acknowledges theirs)
      c.state = 'LAST_ACK';
      c.finSent = true;
      this.send(c, c.sndNxt, TcpFlag.FIN | TcpFlag.ACK, new Uint8Array(0));
      c.sndNxt = seqAdd(c.sndNxt, 1);
      return;
    }
    // server: the client's FIN after ours
    this.send(c, c.sndNxt, TcpFlag.ACK, new Uint8Array(0));
    this.conns.delete(key(c.local, c.lport, c.remote, c.rport));
    c.state = 'CLOSED';
  }

  private complete(c: Conn): void {
    const body = httpBody(c.received);
    this.finish(c, { ok: true, body, reason: '' });
  }

  /** Segment size: the peer's MSS and the path MTU (minus 40 bytes of IP and TCP headers). */
  private segSize(c: Conn): number {
    const r = this.host.route(c.remote);
    const pmtu = r ? this.host.pathMtu(c.remote, r.ifc) : 1500;
    return Math.max(1, Math.min(c.peerMss, pmtu - 40));
  }

  /** Sends what is left of `out` (and the FIN after it on the server), arming the retransmission timer. */
  private pushData(c: Conn): void {
    const base = seqAdd(c.iss, 1);
    const size = this.segSize(c);
    while (c.sent < c.out.length) {
      const n = Math.min(size, c.out.length - c.sent);
      const last = c.sent + n === c.out.length;
      this.send(
        c,
        seqAdd(base, c.sent),
        TcpFlag.ACK | (last ? TcpFlag.PSH : 0),
        c.out.subarray(c.sent, c.sent + n),
      );
      c.sent += n;
      c.sndNxt = seqAdd(base, c.sent);
    }
    if (c.closeAfter && !c.finSent && c.out.length > 0) {
      c.finSent = true;
      c.state = 'FIN_WAIT';
      this.send(c, c.sndNxt, TcpFlag.FIN | TcpFlag.ACK, new Uint8Array(0));
      c.sndNxt = seqAdd(c.sndNxt, 1);
    }
    this.armData(c);
  }

  private armData(c: Conn): void {
    if (c.sndUna === c.sndNxt) return;
    const gen = ++c.timerGen;
    this.host.sim.after(DATA_RTO_MS * 2 ** c.retries, () => {
      if (gen !== c.timerGen || c.state === 'CLOSED' || c.sndUna === c.sndNxt) return;
      if (c.retries >= DATA_RETRIES) {
        this.host.log(`gives up: no acknowledgement after ${DATA_RETRIES} retransmissions`);
        this.finish(c, { ok: false, body: null, reason: 'data never acknowledged' });
        return;
      }
      c.retries++;
      this.host.log(`retransmits unacknowledged data to ${ip4(c.remote)}:${c.rport}`);
      this.retransmit(c);
    });
  }

  /** Go back to the first unacknowledged byte and send again (sized to the current path MTU). */
  private retransmit(c: Conn): void {
    const base = seqAdd(c.iss, 1);
    const from = (c.sndUna - base) | 0;
    if (from < 0 || from > c.out.length) return;
    c.sent = from;
    if (c.finSent && from >= c.out.length) {
      this.send(c, seqAdd(base, c.out.length), TcpFlag.FIN | TcpFlag.ACK, new Uint8Array(0));
      this.armData(c);
      return;
    }
    c.finSent = false;
    this.pushData(c);
  }

  /** tcp_v4_mtu_reduced: the path MTU toward the peer dropped; resend what is unacknowledged at the new size. */
  mtuReduced(local: number, lport: number, remote: number, rport: number): void {
    const c = this.conns.get(key(local, lport, remote, rport));
    if (!c || c.state === 'SYN_SENT' || c.sndUna === c.sndNxt) return;
    this.host.log(`resends the unacknowledged data in ${this.segSize(c)}-byte segments (path MTU lowered)`);
    this.retransmit(c);
  }

  /** tcp_v4_send_reset for a segment that belongs to no connection. */
  private reset(
    src: number,
    sport: number,
    dst: number,
    dport: number,
    seq: number,
    ack: number,
    flags: number,
    len: number,
  ): void {
    const what = flagNames(flags);
    const route = this.host.route(src);
    if (!route) {
      this.host.log(
        `drops a ${what} segment from ${ip4(src)}:${sport}: it belongs to no connection of this host, and the RST it would answer has no route back to ${ip4(src)}`,
      );
      return;
    }
    this.host.log(
      `answers a ${what} segment from ${ip4(src)}:${sport} with RST: it belongs to no connection`,
    );
    const rstSeq = flags & TcpFlag.ACK ? ack : 0;
    const rstFlags = flags & TcpFlag.ACK ? TcpFlag.RST : TcpFlag.RST | TcpFlag.ACK;
    const rstAck = seqAdd(seq, len + (flags & TcpFlag.SYN ? 1 : 0) + (flags & TcpFlag.FIN ? 1 : 0));
    this.emit(
      dst,
      dport,
      src,
      sport,
      rstSeq,
      rstFlags & TcpFlag.ACK ? rstAck : 0,
      rstFlags,
      new Uint8Array(0),
    );
  }

  private send(c: Conn, seq: number, flags: number, payload: Uint8Array, options?: Uint8Array): void {
    const withAck = flags & TcpFlag.ACK ? c.rcvNxt : 0;
    if (flags & TcpFlag.ACK) c.ackPending = false;
    this.emit(c.local, c.lport, c.remote, c.rport, seq, withAck, flags, payload, options);
  }

  private emit(
    src: number,
    sport: number,
    dst: number,
    dport: number,
    seq: number,
    ack: number,
    flags: number,
    payload: Uint8Array,
    options?: Uint8Array,
  ): void {
    const pkt = buildPacket(
      [
        new Ipv4Repr({
          src: new IpAddr(4, src),
          dst: new IpAddr(4, dst),
          ttl: 64,
          id: this.host.nextIpId(),
          df: true,
        }),
        new TcpRepr({
          sport,
          dport,
          seq,
          ack,
          flags,
          window: WINDOW,
          options: options ?? new Uint8Array(0),
        }),
      ],
      payload,
    );
    this.host.output(pkt);
  }
}

function flagNames(flags: number): string {
  const n: string[] = [];
  if (flags & TcpFlag.SYN) n.push('SYN');
  if (flags & TcpFlag.FIN) n.push('FIN');
  if (flags & TcpFlag.RST) n.push('RST');
  if (flags & TcpFlag.PSH) n.push('PSH');
  if (flags & TcpFlag.ACK) n.push('ACK');
  return n.join(',') || 'bare';
}
