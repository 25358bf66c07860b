/**
 * ipvsadm's rule format: `ipvsadm -S [-n]` / `ipvsadm-save [-n]` output
 * (sorted, as ipvsadm prints it), and the variant `ipvs-sim ipvsadm` writes
 * back into a set-up file, which keeps the kernel's order so that replaying
 * the file rebuilds the same destination lists (schedulers depend on them).
 */
import type { Ipvs } from '../../ipvs/ctl.js';
import { TCP_TIMEOUTS, TcpState, UDP_TIMEOUTS, UdpState } from '../../ipvs/proto.js';
import { Fmt } from './args.js';
import { listAllText, serviceEntryText, type ListState } from './list.js';

/** `ipvsadm -S` (numeric with `-n`): exactly what ipvsadm-save prints. */
export function saveText(state: ListState, numeric: boolean): string {
  return listAllText(Fmt.RULE | (numeric ? Fmt.NUMERIC : 0), state);
}

/**
 * The rules of `ipvs` in the save format for a set-up file: numeric, services
 * in creation order, each service's real servers oldest first (so that adding
 * them again, each at the head of the list, gives the current list order),
 * with `-x`/`-y` thresholds (which `ipvsadm -S` leaves out), preceded by an
 * `ipvsadm --set` line when a timeout differs from its default.
 */
export function setupRulesText(ipvs: Ipvs): string[] {
  const lines: string[] = [];
  const t = ipvs.timeouts.get();
  const d = {
    tcp: TCP_TIMEOUTS[TcpState.ESTABLISHED],
    tcpfin: TCP_TIMEOUTS[TcpState.FIN_WAIT],
    udp: UDP_TIMEOUTS[UdpState.NORMAL],
  };
  if (t.tcp !== d.tcp || t.tcpfin !== d.tcpfin || t.udp !== d.udp)
    lines.push(`ipvsadm --set ${t.tcp} ${t.tcpfin} ${t.udp}`);
  const state: ListState = { ipvs, conns: [] };
  for (const svc of ipvs.services) {
    // NOSORT lists the real servers in kernel order (newest first); reverse the -a lines
    const text = serviceEntryText(svc, Fmt.RULE | Fmt.NUMERIC | Fmt.NOSORT, state).split('\n');
    text.pop();
    const [head, ...dests] = text;
    // ipvsadm -S drops the thresholds; the set-up keeps them (same syntax, -x/-y)
    const withThresholds = dests.map((l, i) => {
      const d = svc.dests[i];
      return l + (d.uThreshold ? ` -x ${d.uThreshold}` : '') + (d.lThreshold ? ` -y ${d.lThreshold}` : '');
    });
    lines.push(head, ...withThresholds.reverse());
  }
  return lines;
}
