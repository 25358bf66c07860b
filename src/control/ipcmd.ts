/**
 * The `ip` (iproute2) commands a director's set-up uses, parsed into plain
 * actions: `ip link set`, `ip addr add`, `ip neigh add|replace`,
 * `ip route add`, with iproute2's abbreviations (`ip a a`, `ip r`, `ip n`)
 * and family options (`-4`, `-6`, `-f inet6`). Listing commands
 * (`ip addr show`, `ip route`, …) are accepted as no-ops.
 */
import { IpAddr, parseMac, parsePrefix, type Af } from '../wire/addr.js';
import type { Word } from './shell.js';

/** A problem on a line: the column and message; `unsupported` marks commands outside the modelled set. */
export class LineError extends Error {
  readonly col: number;
  readonly unsupported: boolean;
  constructor(col: number, message: string, unsupported = false) {
    super(message);
    this.col = col;
    this.unsupported = unsupported;
  }
}

export type IpAction =
  | { type: 'noop'; reason: string }
  | { type: 'link'; dev: string; devCol: number; mac: number | null; mtu: number | null; mtuCol: number }
  | { type: 'addr'; dev: string; devCol: number; addr: IpAddr; plen: number; col: number }
  | { type: 'neigh'; dev: string; devCol: number; addr: IpAddr; mac: number; col: number }
  | {
      type: 'route';
      dev: string | null;
      devCol: number;
      prefix: IpAddr;
      plen: number;
      via: IpAddr | null;
      metric: number;
      src: IpAddr | null;
      /** `mtu N` (a locked or plain route MTU), 0 when absent: the link MTU applies. */
      mtu: number;
      col: number;
    };

/** iproute2's matches(): `word` is a non-empty prefix of `full`. */
function matches(word: string, full: string): boolean {
  return word.length > 0 && full.startsWith(word);
}

class Cursor {
  i = 0;
  constructor(
    readonly words: readonly Word[],
    readonly endCol: number,
  ) {}
  get done(): boolean {
    return this.i >= this.words.length;
  }
  peek(): Word | undefined {
    return this.words[this.i];
  }
  next(): Word {
    return this.words[this.i++];
  }
  /** The argument of keyword `kw` (the next word), or an error at the end of the line. */
  arg(kw: Word): Word {
    const w = this.words[this.i++];
    if (!w) throw new LineError(kw.col, `'${kw.text}' needs an argument`);
    return w;
  }
}

function unsupported(w: Word, what: string): never {
  throw new LineError(w.col, `${what} is not supported`, true);
}

function parseAddr(w: Word, family: Af | 0, what: string): IpAddr {
  const a = IpAddr.tryParse(w.text);
  if (!a) throw new LineError(w.col, `invalid ${what} '${w.text}' (expected an IPv4 or IPv6 address)`);
  if (family && a.af !== family)
    throw new LineError(
      w.col,
      `${what} '${w.text}' is not an IPv${family} address (the command says -${family})`,
    );
  return a;
}

function parsePfx(w: Word, family: Af | 0, what: string): { addr: IpAddr; plen: number } {
  const p = parsePrefix(w.text);
  if (!p) throw new LineError(w.col, `invalid ${what} '${w.text}' (expected ADDRESS[/PREFIXLEN])`);
  if (family && p.addr.af !== family)
    throw new LineError(
      w.col,
      `${what} '${w.text}' is not an IPv${family} address (the command says -${family})`,
    );
  return p;
}

function parseMacWord(w: Word): number {
  const m = parseMac(w.text);
  if (m === undefined)
    throw new LineError(w.col, `invalid MAC address '${w.text}' (expected xx:xx:xx:xx:xx:xx)`);
  return m;
}

function devName(w: Word): string {
  if (!/^[A-Za-z0-9_.@:-]{1,15}$/.test(w.text))
    throw new LineError(w.col, `invalid interface name '${w.text}' (1-15 letters, digits, '_.@:-')`);
  return w.text;
}

/** Parses `ip …` (words[0] is `ip`). */
export function parseIpCommand(words: readonly Word[]): IpAction {
  const ipWord = words[0];
  const c = new Cursor(words, 0);
  c.next();
  let family: Af | 0 = 0;
  // global options
  while (!c.done && c.peek()!.text.startsWith('-')) {
    const o = c.next();
    const t = o.text.replace(/^--?/, '-');
    if (t === '-4') family = 4;
    else if (t === '-6') family = 6;
    else if (t === '-f' || matches(t, '-family')) {
      const f = c.arg(o);
      if (f.text === 'inet') family = 4;
      else if (f.text === 'inet6') family = 6;
      else unsupported(f, `address family '${f.text}'`);
    } else if (
      ['-s', '-stats', '-d', '-details', '-br', '-brief', '-c', '-color', '-o', '-oneline'].includes(t)
    ) {
      // output options: harmless
    } else unsupported(o, `ip option '${o.text}'`);
  }
  const obj = c.done ? undefined : c.next();
  if (!obj) throw new LineError(ipWord.col, "'ip' needs an object (link, address, neighbour, route)", true);
  const o = obj.text;
  if (matches(o, 'address') && o !== 'addrlabel') return parseAddrCmd(c, obj, family);
  if (matches(o, 'link')) return parseLinkCmd(c, obj);
  if (matches(o, 'neighbour') || matches(o, 'neighbor')) return parseNeighCmd(c, obj, family);
  if (matches(o, 'route')) return parseRouteCmd(c, obj, family);
  return unsupported(obj, `'ip ${o}'`);
}

function isShow(w: Word | undefined): boolean {
  return (
    !w || matches(w.text, 'show') || matches(w.text, 'list') || w.text === 'ls' || matches(w.text, 'get')
  );
}

function parseAddrCmd(c: Cursor, obj: Word, family: Af | 0): IpAction {
  const verb = c.done ? undefined : c.next();
  if (isShow(verb)) return { type: 'noop', reason: 'ip address listing' };
  if (!matches(verb!.text, 'add')) unsupported(verb!, `'ip ${obj.text} ${verb!.text}'`);
  let pfx: { addr: IpAddr; plen: number } | null = null;
  let pfxCol = verb!.col;
  let dev: Word | null = null;
  while (!c.done) {
    const w = c.next();
    const t = w.text;
    if (t === 'dev') dev = c.arg(w);
    else if (t === 'local') {
      const a = c.arg(w);
      pfx = parsePfx(a, family, 'address');
      pfxCol = a.col;
    } else if (t === 'brd' || matches(t, 'broadcast') || t === 'label' || t === 'scope') {
      const a = c.arg(w);
      if ((t === 'brd' || matches(t, 'broadcast')) && a.text !== '+' && a.text !== '-')
        parseAddr(a, family, 'broadcast');
    } else if (t === 'valid_lft' || t === 'preferred_lft') {
      const a = c.arg(w);
      if (a.text !== 'forever' && !/^\d+$/.test(a.text))
        throw new LineError(a.col, `invalid lifetime '${a.text}' (seconds or 'forever')`);
    } else if (t === 'home' || t === 'nodad' || t === 'noprefixroute' || t === 'peer' || t === 'metric') {
      unsupported(w, `'${t}'`);
    } else if (!pfx) {
      pfx = parsePfx(w, family, 'address');
      pfxCol = w.col;
    } else {
      throw new LineError(w.col, `unexpected '${t}' (expected dev, brd, label or scope)`);
    }
  }
  if (!pfx) throw new LineError(verb!.col, "'ip address add' needs an address (ADDRESS/PREFIXLEN)");
  if (!dev) throw new LineError(verb!.col, "'ip address add' needs 'dev DEVICE'");
  return { type: 'addr', dev: devName(dev), devCol: dev.col, addr: pfx.addr, plen: pfx.plen, col: pfxCol };
}

function parseLinkCmd(c: Cursor, obj: Word): IpAction {
  const verb = c.done ? undefined : c.next();
  if (isShow(verb)) return { type: 'noop', reason: 'ip link listing' };
  if (!matches(verb!.text, 'set')) unsupported(verb!, `'ip ${obj.text} ${verb!.text}'`);
  let dev: Word | null = null;
  let mac: number | null = null;
  let mtu: number | null = null;
  let mtuCol = 0;
  while (!c.done) {
    const w = c.next();
    const t = w.text;
    if (t === 'dev') dev = c.arg(w);
    else if (t === 'up') continue;
    else if (t === 'address') mac = parseMacWord(c.arg(w));
    else if (t === 'mtu') {
      const a = c.arg(w);
      if (!/^\d+$/.test(a.text)) throw new LineError(a.col, `invalid MTU '${a.text}'`);
      mtu = Number(a.text);
      mtuCol = a.col;
    } else if (t === 'down') unsupported(w, "'ip link set … down' (a link that is down)");
    else if (!dev) dev = w;
    else unsupported(w, `'ip link set … ${t}'`);
  }
  if (!dev) throw new LineError(verb!.col, "'ip link set' needs a device");
  return { type: 'link', dev: dev.text, devCol: dev.col, mac, mtu, mtuCol };
}

function parseNeighCmd(c: Cursor, obj: Word, family: Af | 0): IpAction {
  const verb = c.done ? undefined : c.next();
  if (isShow(verb)) return { type: 'noop', reason: 'ip neighbour listing' };
  const v = verb!.text;
  if (!matches(v, 'add') && !matches(v, 'replace') && !matches(v, 'change'))
    unsupported(verb!, `'ip ${obj.text} ${v}'`);
  let addr: IpAddr | null = null;
  let addrCol = verb!.col;
  let mac: number | null = null;
  let dev: Word | null = null;
  while (!c.done) {
    const w = c.next();
    const t = w.text;
    if (t === 'dev') dev = c.arg(w);
    else if (t === 'lladdr') mac = parseMacWord(c.arg(w));
    else if (t === 'nud') {
      const a = c.arg(w);
      if (!['permanent', 'noarp', 'reachable', 'stale'].includes(a.text))
        unsupported(a, `neighbour state '${a.text}'`);
    } else if (t === 'to') {
      const a = c.arg(w);
      addr = parseAddr(a, family, 'neighbour address');
      addrCol = a.col;
    } else if (t === 'router' || t === 'proxy' || t === 'extern_learn') unsupported(w, `'${t}'`);
    else if (!addr) {
      addr = parseAddr(w, family, 'neighbour address');
      addrCol = w.col;
    } else throw new LineError(w.col, `unexpected '${t}' (expected lladdr, dev or nud)`);
  }
  if (!addr) throw new LineError(verb!.col, "'ip neighbour add' needs an address");
  if (mac === null) throw new LineError(verb!.col, "'ip neighbour add' needs 'lladdr MAC'");
  if (!dev) throw new LineError(verb!.col, "'ip neighbour add' needs 'dev DEVICE'");
  return { type: 'neigh', dev: devName(dev), devCol: dev.col, addr, mac, col: addrCol };
}

function parseRouteCmd(c: Cursor, obj: Word, family: Af | 0): IpAction {
  const verb = c.done ? undefined : c.next();
  if (isShow(verb)) return { type: 'noop', reason: 'ip route listing' };
  if (!matches(verb!.text, 'add') && verb!.text !== 'append')
    unsupported(verb!, `'ip ${obj.text} ${verb!.text}'`);
  let dst: Word | null = null;
  let via: Word | null = null;
  let dev: Word | null = null;
  let metric = 0;
  let mtu = 0;
  let src: IpAddr | null = null;
  while (!c.done) {
    const w = c.next();
    const t = w.text;
    if (t === 'via') {
      via = c.arg(w);
      if (via.text === 'inet' || via.text === 'inet6') via = c.arg(via);
    } else if (t === 'dev' || t === 'oif') dev = c.arg(w);
    else if (t === 'metric' || t === 'preference' || t === 'priority') {
      const a = c.arg(w);
      if (!/^\d+$/.test(a.text)) throw new LineError(a.col, `invalid metric '${a.text}'`);
      metric = Number(a.text);
    } else if (t === 'mtu') {
      let a = c.arg(w);
      if (a.text === 'lock') a = c.arg(a);
      if (!/^\d+$/.test(a.text) || Number(a.text) < 68 || Number(a.text) > 65535)
        throw new LineError(a.col, `invalid route MTU '${a.text}' (68..65535)`);
      mtu = Number(a.text);
    } else if (t === 'src') src = parseAddr(c.arg(w), family, 'source address');
    else if (t === 'proto' || t === 'scope') c.arg(w);
    else if (t === 'onlink') continue;
    else if (t === 'to') dst = c.arg(w);
    else if (t === 'unicast' && !dst) continue;
    else if (['table', 'advmss', 'realm', 'nexthop', 'encap', 'type', 'tos', 'dsfield'].includes(t))
      unsupported(w, `route option '${t}'`);
    else if (
      ['local', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat', 'broadcast', 'multicast'].includes(
        t,
      ) &&
      !dst
    )
      unsupported(w, `route type '${t}'`);
    else if (!dst) dst = w;
    else throw new LineError(w.col, `unexpected '${t}' (expected via, dev, metric or src)`);
  }
  if (!dst) throw new LineError(verb!.col, "'ip route add' needs a destination (PREFIX or default)");
  let viaAddr: IpAddr | null = null;
  if (via) viaAddr = parseAddr(via, family, 'gateway');
  let prefix: { addr: IpAddr; plen: number };
  if (dst.text === 'default' || dst.text === 'all' || dst.text === 'any') {
    const af: Af = family || viaAddr?.af || 4;
    prefix = { addr: new IpAddr(af, 0), plen: 0 };
  } else prefix = parsePfx(dst, family, 'route destination');
  if (viaAddr && viaAddr.af !== prefix.addr.af)
    throw new LineError(via!.col, `gateway '${via!.text}' is not of the destination's address family`);
  return {
    type: 'route',
    dev: dev ? devName(dev) : null,
    devCol: dev ? dev.col : dst.col,
    prefix: prefix.addr,
    plen: prefix.plen,
    via: viaAddr,
    metric,
    src,
    mtu,
    col: dst.col,
  };
}
