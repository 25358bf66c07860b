/**
 * The director's connection table as `ipvsadm -Lc` sees it: one plain entry
 * per connection or persistence template (what /proc/net/ip_vs_conn shows),
 * with state names, remaining timer time and addresses as IpAddr. Built only
 * when a listing is asked for, never on the hot path.
 */
import { IpAddr, type Af } from '../wire/addr.js';
import type { Director } from '../ipvs/director.js';
import type { ConnListEntry, ListState } from '../control/ipvsadm/index.js';
import { ConnFlag } from '../ipvs/conn_ops.js';
import { stateName } from '../ipvs/proto.js';

export function listConns(d: Director): ConnListEntry[] {
  const t = d.conns;
  const out: ConnListEntry[] = [];
  const a = new Uint32Array(4);
  const now = d.env.nowMs;
  t.forEach((id) => {
    const af = t.afOf(id) as Af;
    const template = (t.flags[id] & ConnFlag.TEMPLATE) !== 0;
    const proto = t.protoOf(id);
    t.getCaddr(id, a);
    const caddr = IpAddr.fromWords(af, a);
    t.getVaddr(id, a);
    const vaddr = proto === 0 ? IpAddr.fromWords(4, a) : IpAddr.fromWords(af, a);
    t.getDaddr(id, a);
    const daddr = IpAddr.fromWords(t.dafOf(id) as Af, a);
    out.push({
      protocol: proto,
      af,
      template,
      stateName: stateName(proto, template, t.state[id]),
      expiresMs: Math.max(0, t.expires[id] - now),
      caddr,
      cport: t.cportOf(id),
      vaddr,
      vport: t.vportOf(id),
      daddr,
      dport: t.dportOf(id),
      fwmark: t.fwmark[id],
    });
  });
  return out;
}

/** Everything an `ipvsadm -L…` listing of the director shows: rules, counters, rates, connections. */
export function listState(d: Director): ListState {
  return { ipvs: d.ipvs, conns: listConns(d), rates: d.rates(), host: d.host };
}
