/**
 * Virtual-service lookup for the hot path (ip_vs_service_find): by firewall
 * mark first, then by <protocol, address, port>, then the FTP service of the
 * address for FTP data ports, then the address's port-0 (catch-all) service.
 * IPv4 services are in a Map keyed by a number that packs the three fields;
 * IPv6 services, rarely many, are scanned. Rebuilt when services change.
 */
import type { Service } from './service.js';

const FTPPORT = 21;
const FTPDATA = 20;

function protoSlot(p: number): number {
  return p === 6 ? 0 : p === 17 ? 1 : p === 132 ? 2 : 3;
}

/** Packs (protocol, port, IPv4 address) into an exact double (2 + 16 + 32 bits). */
function key4(proto: number, addr: number, port: number): number {
  return (protoSlot(proto) * 65536 + port) * 4294967296 + (addr >>> 0);
}

export class SvcIndex {
  private readonly v4 = new Map<number, Service>();
  private v6: Service[] = [];
  private readonly fwm = new Map<number, Service>();
  /** Number of port-0 services (ipvs->nullsvc_counter) and FTP services (ftpsvc_counter). */
  private nullSvc = 0;
  private ftpSvc = 0;
  /** Lowest port that does not need CAP_NET_BIND_SERVICE (net.ipv4.ip_unprivileged_port_start). */
  unprivilegedPortStart = 1024;

  rebuild(services: readonly Service[]): void {
    this.v4.clear();
    this.fwm.clear();
    this.v6 = [];
    this.nullSvc = 0;
    this.ftpSvc = 0;
    for (const s of services) {
      if (s.fwmark) {
        this.fwm.set(s.fwmark * 2 + (s.af === 6 ? 1 : 0), s);
        continue;
      }
      if (s.port === 0) this.nullSvc++;
      if (s.port === FTPPORT) this.ftpSvc++;
      if (s.af === 4) this.v4.set(key4(s.protocol, s.addr.w0, s.port), s);
      else this.v6.push(s);
    }
  }

  private find(af: number, proto: number, a: Uint32Array, i: number, port: number): Service | null {
    if (af === 4) return this.v4.get(key4(proto, a[i], port)) ?? null;
    for (const s of this.v6) {
      if (
        s.protocol === proto &&
        s.port === port &&
        s.addr.w0 === a[i] &&
        s.addr.w1 === a[i + 1] &&
        s.addr.w2 === a[i + 2] &&
        s.addr.w3 === a[i + 3]
      )
        return s;
    }
    return null;
  }

  /** ip_vs_service_find(af, mark, protocol, vaddr, vport). */
  lookup(af: number, mark: number, proto: number, a: Uint32Array, i: number, port: number): Service | null {
    if (mark) {
      const s = this.fwm.get(mark * 2 + (af === 6 ? 1 : 0));
      if (s) return s;
    }
    let svc = this.find(af, proto, a, i, port);
    if (!svc && proto === 6 && this.ftpSvc > 0 && (port === FTPDATA || port >= this.unprivilegedPortStart))
      svc = this.find(af, proto, a, i, FTPPORT);
    if (!svc && this.nullSvc > 0) svc = this.find(af, proto, a, i, 0);
    return svc;
  }
}
