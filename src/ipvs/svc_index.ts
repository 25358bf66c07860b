/**
 * Virtual-service lookup for the hot path (ip_vs_service_find): by firewall
 * mark first, then by <protocol, address, port>, then the FTP service of the
 * address for FTP data ports, then the address's port-0 (catch-all) service.
 * IPv4 services are in a KeyIndex keyed by two words (address; protocol and
 * port): a Map keyed by one number packing all three would need a 50-bit
 * key, a double that V8 boxes on every lookup. IPv6 services, rarely many,
 * are scanned. Rebuilt when services change.
 */
import { KeyIndex } from './keyindex.js';
import type { Service } from './service.js';

const FTPPORT = 21;
const FTPDATA = 20;

function protoSlot(p: number): number {
  return p === 6 ? 0 : p === 17 ? 1 : p === 132 ? 2 : 3;
}

export class SvcIndex {
  /** IPv4 services: key (address, protocol slot << 16 | port) -> index in v4Svc. */
  private v4 = new KeyIndex(2, 16);
  private v4Svc: Service[] = [];
  private readonly key = new Uint32Array(2);
  private v6: Service[] = [];
  private readonly fwm = new Map<number, Service>();
  /** Number of port-0 services (ipvs->nullsvc_counter) and FTP services (ftpsvc_counter). */
  private nullSvc = 0;
  private ftpSvc = 0;
  /** Lowest port that does not need CAP_NET_BIND_SERVICE (net.ipv4.ip_unprivileged_port_start). */
  unprivilegedPortStart = 1024;

  rebuild(services: readonly Service[]): void {
    this.v4 = new KeyIndex(2, Math.max(16, services.length));
    this.v4Svc = [];
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
      if (s.af === 4) {
        const k = this.key4(s.protocol, s.addr.w0, s.port);
        const v = this.v4.find(k, 0);
        if (v >= 0)
          this.v4Svc[v] = s; // the same key twice: the later one wins
        else {
          this.v4.insert(k, 0, this.v4Svc.length);
          this.v4Svc.push(s);
        }
      } else this.v6.push(s);
    }
  }

  private key4(proto: number, addr: number, port: number): Uint32Array {
    const k = this.key;
    k[0] = addr;
    k[1] = (protoSlot(proto) << 16) | port;
    return k;
  }

  private find4(proto: number, addr: number, port: number): Service | null {
    const v = this.v4.find(this.key4(proto, addr, port), 0);
    return v >= 0 ? this.v4Svc[v] : null;
  }

  private find(af: number, proto: number, a: Uint32Array, i: number, port: number): Service | null {
    if (af === 4) return this.find4(proto, a[i] | 0, port);
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
