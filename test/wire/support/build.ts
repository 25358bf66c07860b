/** Frame builders shared by the wire tests (on top of repr.ts). */
import { IpAddr } from '../../../src/wire/addr.js';
import {
  buildFrame,
  EthernetRepr,
  Ipv4Repr,
  Ipv6Repr,
  TcpRepr,
  type LayerRepr,
  type VlanTag,
} from '../../../src/wire/repr.js';
import { TcpFlag } from '../../../src/wire/tcp.js';

export const MAC_DIRECTOR = 0x020000000201;
export const MAC_RS = 0x020000000d02;
export const C4 = IpAddr.parse('172.25.39.10');
export const V4 = IpAddr.parse('172.25.40.100');
export const R4 = IpAddr.parse('172.25.40.2');
export const C6 = IpAddr.parse('2001:db8::10');
export const V6 = IpAddr.parse('2001:db8:40::100');

export function eth(vlans: VlanTag[] = []): EthernetRepr {
  return new EthernetRepr({ dst: MAC_DIRECTOR, src: MAC_RS, vlans });
}
export function ip4(init: Partial<ConstructorParameters<typeof Ipv4Repr>[0]> = {}): Ipv4Repr {
  return new Ipv4Repr({ src: C4, dst: V4, df: true, id: 0x0101, ...init });
}
export function ip6(init: Partial<ConstructorParameters<typeof Ipv6Repr>[0]> = {}): Ipv6Repr {
  return new Ipv6Repr({ src: C6, dst: V6, ...init });
}
export function syn(init: Partial<ConstructorParameters<typeof TcpRepr>[0]> = {}): TcpRepr {
  return new TcpRepr({ sport: 46000, dport: 80, seq: 1000, flags: TcpFlag.SYN, ...init });
}
/** A frame from layers, unpadded unless asked. */
export function frame(layers: LayerRepr[], payload: Uint8Array = new Uint8Array(0), pad = false): Uint8Array {
  return buildFrame(layers, payload, { pad });
}
/** The standard TCP/IPv4 SYN frame (54 bytes, unpadded). */
export function tcp4Frame(): Uint8Array {
  return frame([eth(), ip4(), syn()]);
}
