#!/usr/bin/env python3
"""Generates test/wire/support/fixtures.ts: hand-laid-out frames, one per
header the wire layer knows, with checksums computed here by an independent
(Python) implementation, so the TypeScript code is checked against it. The
output was cross-checked with tshark (checksum validation on) when written.
Run: python3 test/wire/support/gen_fixtures.py > test/wire/support/fixtures.ts
"""
import struct, sys

def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def crc32c(data: bytes) -> int:
    c = 0xffffffff
    for x in data:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ 0x82f63b78 if c & 1 else c >> 1
    return ~c & 0xffffffff

def ip4(a): return bytes(int(x) for x in a.split('.'))
def ip6(a):
    import ipaddress
    return ipaddress.IPv6Address(a).packed
def mac(m): return bytes(int(x, 16) for x in m.split(':'))

def eth(dst, src, etype, tags=()):
    b = mac(dst) + mac(src)
    parts = [('eth dst', mac(dst)), ('eth src', mac(src))]
    for tpid, tci in tags:
        parts.append(('tag tpid %#06x tci %#06x' % (tpid, tci), struct.pack('!HH', tpid, tci)))
    parts.append(('ethertype %#06x' % etype, struct.pack('!H', etype)))
    return parts

def ipv4(src, dst, proto, payload_len, ident=0x1234, ttl=64, tos=0, flags=0x4000, opts=b''):
    ihl = 5 + len(opts) // 4
    h = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, tos, ihl * 4 + payload_len, ident, flags, ttl, proto, 0, ip4(src), ip4(dst)) + opts
    c = csum(h)
    h = h[:10] + struct.pack('!H', c) + h[12:]
    parts = [('ipv4 ver/ihl %#04x tos %#04x total %d' % (0x40 | ihl, tos, ihl * 4 + payload_len), h[0:4]),
             ('id %#06x flags/frag %#06x' % (ident, flags), h[4:8]),
             ('ttl %d proto %d csum %#06x' % (ttl, proto, c), h[8:12]),
             ('src %s' % src, h[12:16]), ('dst %s' % dst, h[16:20])]
    if opts:
        parts.append(('options', opts))
    return parts, h

def ipv6(src, dst, nh, payload_len, hlim=64, tc=0, fl=0):
    h = struct.pack('!IHBB16s16s', (6 << 28) | (tc << 20) | fl, payload_len, nh, hlim, ip6(src), ip6(dst))
    return [('ipv6 ver/tc/flow', h[0:4]), ('payload len %d next %d hop limit %d' % (payload_len, nh, hlim), h[4:8]),
            ('src %s' % src, h[8:24]), ('dst %s' % dst, h[24:40])], h

def pseudo4(src, dst, proto, n): return ip4(src) + ip4(dst) + struct.pack('!BBH', 0, proto, n)
def pseudo6(src, dst, proto, n): return ip6(src) + ip6(dst) + struct.pack('!IxxxB', n, proto)

def tcp(sport, dport, seq, ack, flags, opts, payload, pseudo):
    doff = 5 + len(opts) // 4
    h = struct.pack('!HHIIBBHHH', sport, dport, seq, ack, doff << 4, flags, 64240, 0, 0) + opts
    c = csum(pseudo(len(h) + len(payload)) + h + payload)
    h = h[:16] + struct.pack('!H', c) + h[18:]
    parts = [('tcp sport %d dport %d' % (sport, dport), h[0:4]), ('seq %#010x' % seq, h[4:8]), ('ack %#010x' % ack, h[8:12]),
             ('doff %d flags %#04x window 64240' % (doff, flags), h[12:16]), ('csum %#06x urgent 0' % c, h[16:20])]
    if opts:
        parts.append(('tcp options', opts))
    return parts, h

def udp(sport, dport, payload, pseudo, zero_csum=False):
    n = 8 + len(payload)
    h = struct.pack('!HHHH', sport, dport, n, 0)
    c = 0 if zero_csum else (csum(pseudo(n) + h + payload) or 0xffff)
    h = h[:6] + struct.pack('!H', c)
    return [('udp sport %d dport %d' % (sport, dport), h[0:4]), ('len %d csum %#06x' % (n, c), h[4:8])], h

def icmp(t, code, rest, payload, pseudo=None):
    h = struct.pack('!BBHI', t, code, 0, rest)
    c = csum((pseudo(8 + len(payload)) if pseudo else b'') + h + payload)
    h = h[:2] + struct.pack('!H', c) + h[4:]
    return [('icmp type %d code %d csum %#06x' % (t, code, c), h[0:4]), ('rest %#010x' % rest, h[4:8])], h

def flat(parts): return b''.join(p[1] for p in parts)

frames = []
def frame(name, doc, parts, pad=True):
    data = flat(parts)
    if pad and len(data) < 60:
        parts = parts + [('ethernet padding', b'\0' * (60 - len(data)))]
    frames.append((name, doc, parts))

M1, M2 = '52:54:00:00:40:01', '52:54:00:00:40:02'
C, V = '172.25.39.10', '172.25.40.100'

# 1. TCP SYN with options
topts = bytes.fromhex('020405b4' '0402080a' '0001e240' '00000000' '01030307')
tp, th = tcp(46000, 80, 0x11223344, 0, 0x02, topts, b'', lambda n: pseudo4(C, V, 6, n))
ip, _ = ipv4(C, V, 6, len(th))
frame('tcpSyn', 'IPv4 TCP SYN with MSS, SACK-permitted, timestamp, NOP, window-scale options', eth(M2, M1, 0x0800) + ip + tp)

# 2. QinQ + UDP
pl = b'\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00'
up, uh = udp(53000, 7777, pl, lambda n: pseudo4('10.0.0.1', '10.0.0.53', 17, n))
ip, _ = ipv4('10.0.0.1', '10.0.0.53', 17, len(uh) + len(pl), ident=0x4242, flags=0)
frame('qinqUdp', '802.1ad (VID 100) + 802.1Q (PCP 5, VID 200) tags, IPv4 UDP with a 12-byte payload',
      eth(M2, M1, 0x0800, tags=((0x88a8, 100), (0x8100, (5 << 13) | 200))) + ip + up + [('udp payload', pl)])

# 3. IPv4 options + ICMP echo
opts = bytes([7, 7, 4, 0, 0, 0, 0, 1, 1, 0])  + b'\0\0'  # RR (len 7, ptr 4, one slot), NOP, EOL, padding
ep = b'abcdefgh'
icp, ich = icmp(8, 0, (0x77 << 16) | 1, ep)
ip, _ = ipv4(C, V, 1, len(ich) + len(ep), ident=0x0101, opts=opts)
frame('ipv4OptsIcmp', 'IPv4 with options (record route with one empty slot, NOP, EOL, padding), ICMP echo request id 0x77 seq 1',
      eth(M2, M1, 0x0800) + ip + icp + [('echo data', ep)])

# 4. IPv6 extension chain: HOP(PadN) DST(PadN) ROUTING(type 253) FRAG(first, M=1) UDP
S6, D6 = '2001:db8::10', '2001:db8:40::100'
hop = bytes([60, 0, 1, 4, 0, 0, 0, 0])
dst = bytes([43, 0, 1, 4, 0, 0, 0, 0])
rth = bytes([44, 2, 253, 0, 0, 0, 0, 0]) + ip6('2001:db8::99')
frg = bytes([17, 0]) + struct.pack('!HI', 0 | 1, 0xcafe0001)
upl = bytes(range(24))
# UDP checksum over the whole (unfragmented) datagram: 8 + 24 + 16 more bytes in the second fragment
full = upl + bytes(range(100, 116))
up, uh = udp(40000, 7777, full, lambda n: pseudo6(S6, D6, 17, n))
uh = uh[:4] + struct.pack('!H', 8 + len(full)) + uh[6:]
up[1] = ('len %d csum %s (covers both fragments)' % (8 + len(full), uh[6:8].hex()), uh[4:8])
ext = hop + dst + rth + frg
i6, _ = ipv6(S6, D6, 0, len(ext) + 8 + len(upl), hlim=64, tc=0xb8, fl=0x12345)
frame('ipv6ExtChain', 'IPv6 (TC 0xb8, flow 0x12345) with hop-by-hop (PadN), destination options (PadN), routing (type 253, one address), first fragment (M=1, id 0xcafe0001), UDP',
      eth(M2, M1, 0x86dd) + i6 + [('hop-by-hop: next 60 len 0, PadN(4)', hop), ('dst options: next 43 len 0, PadN(4)', dst),
                                    ('routing: next 44 len 2 type 253 segleft 0 + reserved', rth[:8]), ('routing address 2001:db8::99', rth[8:]),
                                    ('fragment: next 17 offset 0 M=1 id 0xcafe0001', frg)] + up + [('first 24 bytes of UDP data', upl)])
# 5. the second fragment
frg2 = bytes([17, 0]) + struct.pack('!HI', 32, 0xcafe0001)
i6, _ = ipv6(S6, D6, 44, 8 + 16, hlim=64, tc=0xb8, fl=0x12345)
frame('ipv6Frag2', 'IPv6 non-first fragment (offset 32, M=0) carrying the last 16 UDP data bytes',
      eth(M2, M1, 0x86dd) + i6 + [('fragment: next 17 offset 32 M=0 id 0xcafe0001', frg2), ('fragment data', bytes(range(100, 116)))])

# 6. ARP request
arp = struct.pack('!HHBBH', 1, 0x0800, 6, 4, 1) + mac(M1) + ip4('172.25.40.1') + b'\0' * 6 + ip4('172.25.40.2')
frame('arpRequest', 'ARP request: who has 172.25.40.2? tell 172.25.40.1',
      eth('ff:ff:ff:ff:ff:ff', M1, 0x0806) + [('arp htype 1 ptype 0x0800 hlen 6 plen 4 op 1', arp[:8]), ('sha', arp[8:14]), ('spa 172.25.40.1', arp[14:18]), ('tha', arp[18:24]), ('tpa 172.25.40.2', arp[24:28])])

# 7. ICMP port unreachable quoting IPv4/UDP
qpl = b'\x00\x07\x01\x00\x00\x01\x00\x00'
qup, quh = udp(45000, 54, qpl, lambda n: pseudo4(C, V, 17, n))
qip, qih = ipv4(C, V, 17, 8 + len(qpl), ident=0x0007, ttl=63, flags=0x4000)
quote = qih + quh + qpl
icp, ich = icmp(3, 3, 0, quote)
ip, _ = ipv4(V, C, 1, 8 + len(quote), ident=0xbeef, tos=0xc0, flags=0)
frame('icmpUnreach', 'ICMP port unreachable from the VIP quoting the client\'s IPv4/UDP datagram (header + 16 bytes)',
      eth(M1, M2, 0x0800) + ip + icp + [('quoted ' + q[0], q[1]) for q in qip + qup] + [('quoted udp data', qpl)])

# 8. ICMPv6 packet too big quoting IPv6/TCP
qtp, qth = tcp(46000, 80, 1, 1, 0x18, b'', b'', lambda n: pseudo6(S6, D6, 6, n))
qi6, qi6h = ipv6(S6, D6, 6, 1440, hlim=63)
quote6 = qi6h + qth
icp, ich = icmp(2, 0, 1280, quote6, pseudo=lambda n: pseudo6(D6, S6, 58, n))
i6, _ = ipv6(D6, S6, 58, 8 + len(quote6), hlim=64)
frame('icmpv6TooBig', 'ICMPv6 packet too big (MTU 1280) quoting the header of a 1480-byte IPv6/TCP packet (TCP header only)',
      eth(M1, M2, 0x86dd) + i6 + icp + [('quoted ' + q[0], q[1]) for q in qi6 + qtp])

# 9. IPIP
itp, ith = tcp(46001, 80, 7, 0, 0x02, b'', b'', lambda n: pseudo4(C, V, 6, n))
iip, iih = ipv4(C, V, 6, len(ith), ident=0x0042, ttl=63)
oip, _ = ipv4('172.25.84.4', '172.25.84.2', 4, len(iih) + len(ith), ident=0, ttl=63)
frame('ipip', 'IPIP: outer IPv4 (proto 4, DF, ID 0) carrying an IPv4 TCP SYN',
      eth(M2, M1, 0x0800) + oip + [('inner ' + q[0], q[1]) for q in iip + itp])

# 10. ip6ip6
itp, ith = tcp(46002, 80, 9, 0, 0x02, b'', b'', lambda n: pseudo6(S6, D6, 6, n))
ii6, ii6h = ipv6(S6, D6, 6, len(ith), hlim=63, tc=0x10, fl=0xabcde)
oi6, _ = ipv6('2001:db8:84::4', '2001:db8:84::2', 41, len(ii6h) + len(ith), hlim=63, tc=0x10)
frame('ip6ip6', 'IPv6 in IPv6: outer next header 41 (traffic class copied, flow label 0) carrying an IPv6 TCP SYN',
      eth(M2, M1, 0x86dd) + oi6 + [('inner ' + q[0], q[1]) for q in ii6 + itp])

# 11. GRE with checksum, IPv4 inside
itp, ith = tcp(46003, 80, 11, 0, 0x02, b'', b'', lambda n: pseudo4(C, V, 6, n))
iip, iih = ipv4(C, V, 6, len(ith), ident=0x0043, ttl=63)
inner = iih + ith
gh = struct.pack('!HHHH', 0x8000, 0x0800, 0, 0)
gc = csum(gh + inner)
gh = gh[:4] + struct.pack('!H', gc) + gh[6:]
oip, _ = ipv4('172.25.84.4', '172.25.84.3', 47, len(gh) + len(inner), ident=0, ttl=63)
frame('greCsum', 'GRE with checksum (80 00 08 00 CSUM 00 00) carrying IPv4 TCP',
      eth(M2, M1, 0x0800) + oip + [('gre flags C, protocol 0x0800', gh[:4]), ('gre csum %#06x reserved1 0' % gc, gh[4:])] + [('inner ' + q[0], q[1]) for q in iip + itp])

# 12. GRE with key and sequence, IPv6 inside, UDP
iup, iuh = udp(40001, 7777, b'xyz', lambda n: pseudo6(S6, D6, 17, n))
ii6, ii6h = ipv6(S6, D6, 17, len(iuh) + 3, hlim=63)
inner = ii6h + iuh + b'xyz'
gh = struct.pack('!HHII', 0x3000, 0x86dd, 0xdeadbeef, 7)
oip, _ = ipv4('172.25.84.4', '172.25.84.3', 47, len(gh) + len(inner), ident=0, ttl=63)
frame('greKeySeq', 'GRE with key 0xdeadbeef and sequence 7 (30 00 86 dd) carrying IPv6 UDP',
      eth(M2, M1, 0x0800) + oip + [('gre flags K S, protocol 0x86dd', gh[:4]), ('gre key', gh[4:8]), ('gre seq', gh[8:12])] + [('inner ' + q[0], q[1]) for q in ii6 + iup] + [('inner udp data', b'xyz')])

# 13. GUE
itp, ith = tcp(46004, 80, 13, 0, 0x02, b'', b'', lambda n: pseudo4(C, V, 6, n))
iip, iih = ipv4(C, V, 6, len(ith), ident=0x0044, ttl=63)
gue = bytes([0, 4, 0, 0])
inner = gue + iih + ith
oup, ouh = udp(34567, 6080, inner, lambda n: pseudo4('172.25.84.4', '172.25.84.2', 17, n))
oip, _ = ipv4('172.25.84.4', '172.25.84.2', 17, 8 + len(inner), ident=0, ttl=63)
frame('gue', 'GUE: outer IPv4 UDP to port 6080 with a checksum, GUE header 00 04 00 00, inner IPv4 TCP SYN',
      eth(M2, M1, 0x0800) + oip + oup + [('gue ver 0 C 0 hlen 0 proto 4 flags 0', gue)] + [('inner ' + q[0], q[1]) for q in iip + itp])

# 14. SCTP INIT
init = struct.pack('!BBH', 1, 0, 20) + struct.pack('!IIHHI', 0x01020304, 65535, 10, 10, 0x11111111)
sh = struct.pack('!HHII', 5000, 5001, 0, 0) + init
crc = crc32c(sh)
sh = sh[:8] + struct.pack('<I', crc) + sh[12:]
ip, _ = ipv4(C, V, 132, len(sh), ident=0x0505)
frame('sctpInit', 'SCTP INIT (vtag 0) with its CRC32c stored least significant byte first',
      eth(M2, M1, 0x0800) + ip + [('sctp sport 5000 dport 5001', sh[0:4]), ('vtag 0', sh[4:8]), ('crc32c %#010x (LE)' % crc, sh[8:12]),
                                  ('chunk INIT flags 0 len 20', sh[12:16]), ('init tag, a_rwnd, streams, initial TSN', sh[16:])])

# 15. TCP ACK with 2 bytes of data, padded
tp, th = tcp(46000, 80, 0x11223345, 0x99, 0x18, b'', b'hi', lambda n: pseudo4(C, V, 6, n))
ip, _ = ipv4(C, V, 6, len(th) + 2, ident=0x1235)
frame('tcpPadded', 'IPv4 TCP PSH|ACK with 2 data bytes; the 56-byte frame carries 4 bytes of Ethernet padding',
      eth(M2, M1, 0x0800) + ip + tp + [('tcp data "hi"', b'hi')])

out = sys.stdout
out.write('// Generated by test/wire/support/gen_fixtures.py (an independent Python implementation\n')
out.write('// of the checksums, cross-checked with tshark): hand-laid-out frames, one line per field group.\n')
out.write('// Do not edit by hand: change the generator and regenerate.\n')
out.write("import { hexToBytes } from '../../../src/wire/bytes.js';\n\n")
out.write('export interface Fixture {\n  name: string;\n  doc: string;\n  bytes: Uint8Array;\n}\n\n')
out.write('export const FIXTURES: Record<string, Fixture> = {\n')
for name, doc, parts in frames:
    out.write('  %s: {\n    name: %r,\n    doc: %r,\n    bytes: hexToBytes(`\n' % (name, name, doc))
    for label, b in parts:
        out.write('      %s # %s\n' % (b.hex(' '), label.replace('`', "'")))
    out.write('    `),\n  },\n')
out.write('};\n')
