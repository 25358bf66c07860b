/**
 * Firewall marks for `-f MARK` virtual services: the director's
 * `iptables -t mangle -A PREROUTING … -j MARK --set-mark N` rules (and
 * `ip6tables`), evaluated per packet before IPVS sees it, as the netfilter
 * mangle table does at PREROUTING.
 *
 * The subset modelled (docs/setup.md): match on input interface (`-i`),
 * source and destination prefix (`-s`, `-d`), protocol (`-p`), source and
 * destination ports or port ranges (`--sport`, `--dport`, multiport
 * `--sports`/`--dports`/`--ports`), each optionally negated with `!`; targets
 * MARK (`--set-mark`, `--set-xmark`, `--and-mark`, `--or-mark`, `--xor-mark`,
 * all reduced to iptables' own (value, mask) form) and ACCEPT/RETURN, which
 * end the chain. As in the kernel, MARK does not end the chain: every
 * matching rule applies in order, so with plain `--set-mark` rules the last
 * matching one decides.
 *
 * `mark()` runs per packet: numbers only, no allocation, no exceptions.
 */
import type { Af } from '../wire/addr.js';

/** What a rule does when it matches. */
export const MarkVerdict = {
  /** Mirrors mark_tg(): mark = (mark & ~mask) ^ value; the chain goes on. */
  MARK: 0,
  /** ACCEPT / RETURN: the chain ends here (the mark is kept). */
  STOP: 1,
} as const;

/** One PREROUTING rule of the mangle table (fixed shape; every field set in the constructor). */
export class FwmarkRule {
  /** 4 for iptables, 6 for ip6tables. */
  af: Af = 4;
  /** IP protocol to match; 0 matches any. */
  protocol = 0;
  protocolInvert = false;
  /** Source prefix (address words, mask words); hasSource false matches any. */
  hasSource = false;
  readonly source = new Uint32Array(4);
  readonly sourceMask = new Uint32Array(4);
  sourceInvert = false;
  hasDestination = false;
  readonly destination = new Uint32Array(4);
  readonly destinationMask = new Uint32Array(4);
  destinationInvert = false;
  /** Input link index (Host.links), -1 for any, -2 for an interface that never carries frames (lo). */
  inLink = -1;
  inLinkInvert = false;
  /** Source port ranges as (low, high) pairs; empty matches any. */
  sourcePorts: Uint16Array = new Uint16Array(0);
  sourcePortsInvert = false;
  destinationPorts: Uint16Array = new Uint16Array(0);
  destinationPortsInvert = false;
  /** multiport `--ports`: either port in one of the ranges. */
  eitherPorts: Uint16Array = new Uint16Array(0);
  eitherPortsInvert = false;
  verdict: number = MarkVerdict.MARK;
  /** MARK target: mark = (mark & ~markMask) ^ markValue. */
  markValue = 0;
  markMask = 0xffffffff;
  /** The set-up line the rule came from (for explanations). */
  text = '';
}

function prefixMatch(a: Uint32Array, off: number, addr: Uint32Array, mask: Uint32Array, n: number): boolean {
  for (let i = 0; i < n; i++) if ((a[off + i] & mask[i]) >>> 0 !== addr[i]) return false;
  return true;
}

function inRanges(r: Uint16Array, port: number): boolean {
  for (let i = 0; i < r.length; i += 2) if (port >= r[i] && port <= r[i + 1]) return true;
  return false;
}

/** The PREROUTING mangle rules of one director, in chain order. */
export class FwmarkRules {
  private readonly rules: FwmarkRule[] = [];

  /** `-A PREROUTING …`: appends a rule. Its masked addresses are normalised here. */
  add(rule: FwmarkRule): void {
    normalise(rule);
    this.rules.push(rule);
  }

  /** `-I PREROUTING [N] …`: inserts before rule N (1-based; 1 is the head). */
  insert(rule: FwmarkRule, position = 1): void {
    normalise(rule);
    const i = Math.max(0, Math.min(this.rules.length, position - 1));
    this.rules.splice(i, 0, rule);
  }

  /** `-F [PREROUTING]`. */
  flush(): void {
    this.rules.length = 0;
  }

  get size(): number {
    return this.rules.length;
  }

  /** The rules in chain order. */
  list(): readonly FwmarkRule[] {
    return this.rules;
  }

  /**
   * The mark a packet carries after PREROUTING (0 when no rule marks it).
   * Addresses are four words each (IPv4 in word 0); ports are host-order
   * numbers (ignored unless a rule matches on them); `inLinkIndex` is the
   * receiving link. Per packet: no allocation.
   */
  mark(
    af: Af,
    proto: number,
    saddr: Uint32Array,
    daddr: Uint32Array,
    sport: number,
    dport: number,
    inLinkIndex: number,
  ): number {
    const rules = this.rules;
    let mark = 0;
    const words = af === 4 ? 1 : 4;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i];
      if (r.af !== af) continue;
      if (r.protocol !== 0 && (r.protocol === proto) === r.protocolInvert) continue;
      if (r.inLink !== -1 && (r.inLink === inLinkIndex) === r.inLinkInvert) continue;
      if (r.hasSource && prefixMatch(saddr, 0, r.source, r.sourceMask, words) === r.sourceInvert) continue;
      if (
        r.hasDestination &&
        prefixMatch(daddr, 0, r.destination, r.destinationMask, words) === r.destinationInvert
      )
        continue;
      if (r.sourcePorts.length !== 0 && inRanges(r.sourcePorts, sport) === r.sourcePortsInvert) continue;
      if (r.destinationPorts.length !== 0 && inRanges(r.destinationPorts, dport) === r.destinationPortsInvert)
        continue;
      if (
        r.eitherPorts.length !== 0 &&
        (inRanges(r.eitherPorts, sport) || inRanges(r.eitherPorts, dport)) === r.eitherPortsInvert
      )
        continue;
      if (r.verdict !== MarkVerdict.MARK) break;
      mark = ((mark & ~r.markMask) ^ r.markValue) >>> 0;
    }
    return mark;
  }
}

/** Keeps only the prefix bits of a rule's addresses, so matching is one AND and compare per word. */
function normalise(r: FwmarkRule): void {
  for (let i = 0; i < 4; i++) {
    r.source[i] = (r.source[i] & r.sourceMask[i]) >>> 0;
    r.destination[i] = (r.destination[i] & r.destinationMask[i]) >>> 0;
  }
}

/** The four mask words of a prefix length (IPv4 uses word 0). */
export function prefixMaskWords(af: Af, plen: number, out: Uint32Array): void {
  const bits = af === 4 ? 32 : 128;
  const p = Math.min(plen, bits);
  for (let i = 0; i < 4; i++) {
    const keep = Math.max(0, Math.min(32, p - 32 * i));
    out[i] = keep === 0 ? 0 : keep === 32 ? 0xffffffff : (~0 << (32 - keep)) >>> 0;
  }
}
