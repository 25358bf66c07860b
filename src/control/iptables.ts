/**
 * The `iptables` / `ip6tables` lines that give packets a firewall mark for
 * `ipvsadm -f MARK` services, parsed into FwmarkRule templates (see
 * src/ipvs/fwmark.ts for what is matched and how marks combine):
 *
 *   iptables -t mangle -A PREROUTING [-i IF] [-s CIDR] [-d CIDR] -p tcp|udp|sctp
 *            [-m tcp|udp|sctp|multiport] [--sport P[:Q]] [--dport P[:Q]]
 *            [--sports|--dports|--ports P,Q:R,…] -j MARK --set-mark N[/M]
 *
 * plus `-I PREROUTING [N]`, `--set-xmark`, `--and-mark`, `--or-mark`,
 * `--xor-mark`, `-j ACCEPT|RETURN`, `!` before a match, long option names,
 * and `-F [PREROUTING]` (flush). Other tables, chains, matches and targets
 * are not modelled.
 */
import { IpAddr, parsePrefix, type Af } from '../wire/addr.js';
import { FwmarkRule, MarkVerdict, prefixMaskWords } from '../ipvs/fwmark.js';
import { LineError } from './ipcmd.js';
import type { Word } from './shell.js';

export type IptablesAction =
  | { type: 'flush' }
  | { type: 'noop'; reason: string }
  | {
      type: 'append' | 'insert';
      position: number;
      rule: FwmarkRule;
      /** `-i NAME` (resolved to a link index when applied), or null. */
      inDev: string | null;
      inDevCol: number;
    };

const PROTOCOLS: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132, all: 0 };

const LONG: Readonly<Record<string, string>> = {
  '--table': '-t',
  '--append': '-A',
  '--insert': '-I',
  '--flush': '-F',
  '--list': '-L',
  '--protocol': '-p',
  '--source': '-s',
  '--src': '-s',
  '--destination': '-d',
  '--dst': '-d',
  '--in-interface': '-i',
  '--jump': '-j',
  '--match': '-m',
  '--source-port': '--sport',
  '--destination-port': '--dport',
  '--source-ports': '--sports',
  '--destination-ports': '--dports',
};

/** strtoul(s, 0): decimal, 0x hex or 0 octal, 0..2^32-1. */
function parseU32(w: Word, what: string): number {
  const t = w.text;
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) v = parseInt(t.slice(2), 16);
  else if (/^0[0-7]*$/.test(t)) v = parseInt(t, 8);
  else if (/^[1-9]\d*$/.test(t)) v = Number(t);
  else throw new LineError(w.col, `invalid ${what} '${t}' (expected a number, 0x… hex allowed)`);
  if (v > 0xffffffff) throw new LineError(w.col, `${what} '${t}' does not fit in 32 bits`);
  return v;
}

function parseMarkMask(w: Word): { value: number; mask: number | null } {
  const slash = w.text.indexOf('/');
  if (slash < 0) return { value: parseU32(w, 'mark'), mask: null };
  const v = { text: w.text.slice(0, slash), col: w.col, redirect: false };
  const m = { text: w.text.slice(slash + 1), col: w.col + slash + 1, redirect: false };
  return { value: parseU32(v, 'mark'), mask: parseU32(m, 'mask') };
}

/** Port or range `P`, `P:Q`, `:Q`, `P:` (iptables' forms). */
function parseRange(text: string, col: number): [number, number] {
  const m = /^(\d*)(?::(\d*))?$/.exec(text);
  const bad = () => new LineError(col, `invalid port or range '${text}' (expected PORT or FIRST:LAST)`);
  if (!m || (m[1] === '' && m[2] === undefined)) throw bad();
  const lo = m[1] === '' ? 0 : Number(m[1]);
  const hi = m[2] === undefined ? lo : m[2] === '' ? 65535 : Number(m[2]);
  if (lo > 65535 || hi > 65535 || lo > hi) throw bad();
  return [lo, hi];
}

function parsePorts(w: Word, multi: boolean): Uint16Array {
  const parts = multi ? w.text.split(',') : [w.text];
  if (multi && parts.length > 15) throw new LineError(w.col, 'multiport takes at most 15 ports');
  const out = new Uint16Array(parts.length * 2);
  let col = w.col;
  parts.forEach((p, i) => {
    const [lo, hi] = parseRange(p, col);
    out[2 * i] = lo;
    out[2 * i + 1] = hi;
    col += p.length + 1;
  });
  return out;
}

function setPrefix(w: Word, af: Af, addr: Uint32Array, mask: Uint32Array): void {
  let p = parsePrefix(w.text);
  // iptables also takes a dotted netmask: 10.0.0.0/255.255.255.0
  const dotted = /^([\d.]+)\/(\d+\.\d+\.\d+\.\d+)$/.exec(w.text);
  if (!p && dotted) {
    const a = IpAddr.tryParse(dotted[1]);
    const m = IpAddr.tryParse(dotted[2]);
    if (a && m && m.af === 4) {
      const inv = ~m.w0 >>> 0;
      if ((inv & (inv + 1)) === 0) p = { addr: a, plen: 32 - Math.log2(inv + 1) };
    }
  }
  if (!p) throw new LineError(w.col, `invalid address '${w.text}' (expected ADDRESS[/PREFIXLEN])`);
  if (p.addr.af !== af)
    throw new LineError(
      w.col,
      `'${w.text}' is not an IPv${af} address (${af === 4 ? 'iptables' : 'ip6tables'})`,
    );
  p.addr.writeWords(addr);
  prefixMaskWords(af, p.plen, mask);
}

/** Parses an `iptables`/`ip6tables` line (words[0] is the program). */
export function parseIptables(words: readonly Word[]): IptablesAction {
  const prog = words[0];
  const af: Af = /ip6tables$/.test(prog.text) ? 6 : 4;
  const rule = new FwmarkRule();
  rule.af = af;
  let table = 'filter';
  let tableCol = prog.col;
  let op: 'append' | 'insert' | 'flush' | 'list' | null = null;
  let opWord: Word | null = null;
  let chain: Word | null = null;
  let position = 1;
  let target: Word | null = null;
  let inDev: string | null = null;
  let inDevCol = 0;
  let invert = false;
  let haveMark = false;
  let portsSeen: Word | null = null;
  let i = 1;
  const arg = (w: Word): Word => {
    const a = words[i++];
    if (!a) throw new LineError(w.col, `'${w.text}' needs an argument`);
    return a;
  };
  const takeInvert = (): boolean => {
    const v = invert;
    invert = false;
    return v;
  };
  while (i < words.length) {
    const w = words[i++];
    let t = w.text;
    if (t === '!') {
      invert = true;
      continue;
    }
    if (t.startsWith('--') && t.includes('=')) throw new LineError(w.col, `write '${t.replace('=', ' ')}'`);
    t = LONG[t] ?? t;
    switch (t) {
      case '-t': {
        const a = arg(w);
        table = a.text;
        tableCol = a.col;
        break;
      }
      case '-A':
      case '-I':
      case '-F':
      case '-L':
      case '-S':
        if (op) throw new LineError(w.col, 'only one of -A, -I, -F per iptables line');
        op = t === '-A' ? 'append' : t === '-I' ? 'insert' : t === '-F' ? 'flush' : 'list';
        opWord = w;
        if (op === 'append' || op === 'insert') chain = arg(w);
        else if (i < words.length && !words[i].text.startsWith('-')) chain = words[i++];
        if (op === 'insert' && i < words.length && /^\d+$/.test(words[i].text)) {
          position = Number(words[i++].text);
          if (position < 1) throw new LineError(words[i - 1].col, 'rule positions start at 1');
        }
        break;
      case '-p': {
        const a = arg(w);
        const name = a.text.toLowerCase();
        if (name in PROTOCOLS) rule.protocol = PROTOCOLS[name];
        else if (/^\d+$/.test(name) && Number(name) <= 255) rule.protocol = Number(name);
        else if (name === 'icmp' || name === 'icmpv6' || name === 'ipv6-icmp')
          rule.protocol = name === 'icmp' ? 1 : 58;
        else throw new LineError(a.col, `unknown protocol '${a.text}' (tcp, udp, sctp, all or a number)`);
        rule.protocolInvert = takeInvert();
        break;
      }
      case '-s':
        setPrefix(arg(w), af, rule.source, rule.sourceMask);
        rule.hasSource = true;
        rule.sourceInvert = takeInvert();
        break;
      case '-d':
        setPrefix(arg(w), af, rule.destination, rule.destinationMask);
        rule.hasDestination = true;
        rule.destinationInvert = takeInvert();
        break;
      case '-i': {
        const a = arg(w);
        if (a.text.endsWith('+'))
          throw new LineError(a.col, `interface wildcards ('${a.text}') are not supported`, true);
        inDev = a.text;
        inDevCol = a.col;
        rule.inLinkInvert = takeInvert();
        break;
      }
      case '-m': {
        const a = arg(w);
        if (!['tcp', 'udp', 'sctp', 'multiport'].includes(a.text))
          throw new LineError(a.col, `match '-m ${a.text}' is not supported`, true);
        break;
      }
      case '--sport':
      case '--dport':
      case '--sports':
      case '--dports':
      case '--ports': {
        const a = arg(w);
        portsSeen = w;
        const ranges = parsePorts(a, t.endsWith('s'));
        const inv = takeInvert();
        if (t === '--sport' || t === '--sports') {
          rule.sourcePorts = ranges;
          rule.sourcePortsInvert = inv;
        } else if (t === '--dport' || t === '--dports') {
          rule.destinationPorts = ranges;
          rule.destinationPortsInvert = inv;
        } else {
          rule.eitherPorts = ranges;
          rule.eitherPortsInvert = inv;
        }
        break;
      }
      case '-j': {
        target = arg(w);
        if (target.text === 'ACCEPT' || target.text === 'RETURN') rule.verdict = MarkVerdict.STOP;
        else if (target.text !== 'MARK')
          throw new LineError(
            target.col,
            `target '-j ${target.text}' is not supported (MARK, ACCEPT, RETURN)`,
            true,
          );
        break;
      }
      case '--set-mark':
      case '--set-xmark': {
        const a = arg(w);
        const { value, mask } = parseMarkMask(a);
        rule.markValue = value;
        rule.markMask = t === '--set-mark' ? ((mask ?? 0xffffffff) | value) >>> 0 : (mask ?? 0xffffffff);
        haveMark = true;
        break;
      }
      case '--and-mark':
      case '--or-mark':
      case '--xor-mark': {
        const bits = parseU32(arg(w), 'mark');
        rule.markValue = t === '--and-mark' ? 0 : bits;
        rule.markMask = t === '--and-mark' ? ~bits >>> 0 : t === '--or-mark' ? bits : 0;
        haveMark = true;
        break;
      }
      case '-n':
      case '-v':
      case '-x':
      case '--numeric':
      case '--verbose':
      case '--exact':
      case '--line-numbers':
        // listing flags
        break;
      default:
        throw new LineError(w.col, `iptables option '${w.text}' is not supported`, true);
    }
  }
  if (!op || !opWord) throw new LineError(prog.col, `'${prog.text}' needs -A, -I or -F`, true);
  if (op === 'list') return { type: 'noop', reason: 'iptables listing' };
  if (op === 'flush') {
    // only mangle PREROUTING holds rules here; flushing anything else empties an empty chain
    if (table === 'mangle' && (!chain || chain.text === 'PREROUTING')) return { type: 'flush' };
    return { type: 'noop', reason: `flush of ${table} ${chain ? chain.text : ''} (not modelled, empty)` };
  }
  if (table !== 'mangle')
    throw new LineError(
      tableCol,
      `only the mangle table is modelled (marks for -f services): add '-t mangle'`,
      true,
    );
  if (chain && chain.text !== 'PREROUTING')
    throw new LineError(chain.col, `only the PREROUTING chain is modelled, not '${chain.text}'`, true);
  if (!target) throw new LineError(opWord.col, 'the rule needs a target: -j MARK --set-mark N');
  if (target.text === 'MARK' && !haveMark)
    throw new LineError(
      target.col,
      '-j MARK needs --set-mark, --set-xmark, --and-mark, --or-mark or --xor-mark',
    );
  if (portsSeen && rule.protocol !== 6 && rule.protocol !== 17 && rule.protocol !== 132)
    throw new LineError(portsSeen.col, `'${portsSeen.text}' needs '-p tcp', '-p udp' or '-p sctp' first`);
  return { type: op, position, rule, inDev, inDevCol };
}

/** A copy of a rule template (each director gets its own rule objects). */
export function cloneRule(r: FwmarkRule): FwmarkRule {
  const c = new FwmarkRule();
  c.af = r.af;
  c.protocol = r.protocol;
  c.protocolInvert = r.protocolInvert;
  c.hasSource = r.hasSource;
  c.source.set(r.source);
  c.sourceMask.set(r.sourceMask);
  c.sourceInvert = r.sourceInvert;
  c.hasDestination = r.hasDestination;
  c.destination.set(r.destination);
  c.destinationMask.set(r.destinationMask);
  c.destinationInvert = r.destinationInvert;
  c.inLink = r.inLink;
  c.inLinkInvert = r.inLinkInvert;
  c.sourcePorts = r.sourcePorts.slice();
  c.sourcePortsInvert = r.sourcePortsInvert;
  c.destinationPorts = r.destinationPorts.slice();
  c.destinationPortsInvert = r.destinationPortsInvert;
  c.eitherPorts = r.eitherPorts.slice();
  c.eitherPortsInvert = r.eitherPortsInvert;
  c.verdict = r.verdict;
  c.markValue = r.markValue;
  c.markMask = r.markMask;
  c.text = r.text;
  return c;
}
