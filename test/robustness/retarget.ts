/**
 * Re-addressing a captured frame to the director under test, so that frames
 * from the wild reach IPVS instead of being dropped as "not for us": the
 * destination MAC becomes the director's, and the destination address of an
 * IPv4 / IPv6 packet becomes the VIP (the IPv4 header checksum is adjusted
 * incrementally, so a wrong checksum stays wrong by the same amount; L4
 * checksums are left as they are — IPVS forwards them untouched). Anything
 * the frame does not hold completely (a cut header, a VLAN stack) is left
 * as it is past the point it stops.
 */
import { update32 } from '../../src/wire/checksum.js';
import { writeMac } from '../../src/wire/addr.js';
import { rd16, wr16 } from '../../src/wire/bytes.js';

const VIP4_W = (10 << 24) | 100; // 10.0.0.100
/** 2001:db8::100 */
const VIP6_BYTES = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00];

/** Rewrites buf[off, off+capLen) in place toward `mac` and the VIPs of setups.ts. */
export function retarget(buf: Uint8Array, off: number, capLen: number, mac: number): void {
  if (capLen < 14) return;
  writeMac(buf, off, mac);
  let p = off + 12;
  let type = rd16(buf, p);
  for (let tags = 0; (type === 0x8100 || type === 0x88a8) && tags < 2; tags++) {
    p += 4;
    if (p + 2 > off + capLen) return;
    type = rd16(buf, p);
  }
  const l3 = p + 2;
  const end = off + capLen;
  if (type === 0x0800 && l3 + 20 <= end && buf[l3] >>> 4 === 4) {
    const d = l3 + 16;
    const old = ((buf[d] << 24) | (buf[d + 1] << 16) | (buf[d + 2] << 8) | buf[d + 3]) >>> 0;
    const c = rd16(buf, l3 + 10);
    buf[d] = VIP4_W >>> 24;
    buf[d + 1] = (VIP4_W >>> 16) & 0xff;
    buf[d + 2] = (VIP4_W >>> 8) & 0xff;
    buf[d + 3] = VIP4_W & 0xff;
    wr16(buf, l3 + 10, update32(c, old, VIP4_W >>> 0));
  } else if (type === 0x86dd && l3 + 40 <= end && buf[l3] >>> 4 === 6) {
    for (let i = 0; i < 16; i++) buf[l3 + 24 + i] = VIP6_BYTES[i];
  }
}
