import { expect } from 'chai';
import { ConnFlag, ConnTable, IPPROTO_IP, RELEASE_FROM, connHash } from '../../src/ipvs/conn.js';
import { IpAddr } from '../../src/wire/addr.js';

const TCP = 6;
const UDP = 17;
const { MASQ, DROUTE, TUNNEL, TEMPLATE, NO_CPORT, ONE_PACKET } = ConnFlag;

/** An address as the datapath holds it: four words. */
function A(text: string): Uint32Array {
  const a = new Uint32Array(4);
  IpAddr.parse(text).writeWords(a);
  return a;
}

function words(a: Uint32Array): number[] {
  return Array.from(a);
}

const CLIENT = A('198.51.100.7');
const CLIENT2 = A('198.51.100.8');
const VIP = A('192.0.2.10');
const VIP2 = A('192.0.2.11');
const RIP = A('10.0.0.2');
const RIP2 = A('10.0.0.3');
const CLIENT6 = A('2001:db8::7');
const VIP6 = A('2001:db8:1::10');
const RIP6 = A('2001:db8:2::2');

describe('ConnTable', () => {
  describe('lookupIn (ip_vs_conn_in_get)', () => {
    it('finds a connection by protocol, client address and port, virtual address and port', () => {
      const t = new ConnTable();
      const id = t.insert(4, TCP, CLIENT, 40000, VIP, 80, RIP, 8080, MASQ, 3, 0);
      expect(t.lookupIn(4, TCP, CLIENT, 40000, VIP, 80)).to.equal(id);
      expect(t.size).to.equal(1);
    });

    it('misses when any part of the tuple differs', () => {
      const t = new ConnTable();
      t.insert(4, TCP, CLIENT, 40000, VIP, 80, RIP, 8080, MASQ, 3, 0);
      expect(t.lookupIn(4, UDP, CLIENT, 40000, VIP, 80)).to.equal(-1);
      expect(t.lookupIn(4, TCP, CLIENT2, 40000, VIP, 80)).to.equal(-1);
      expect(t.lookupIn(4, TCP, CLIENT, 40001, VIP, 80)).to.equal(-1);
      expect(t.lookupIn(4, TCP, CLIENT, 40000, VIP2, 80)).to.equal(-1);
      expect(t.lookupIn(4, TCP, CLIENT, 40000, VIP, 81)).to.equal(-1);
      // an IPv6 lookup whose first word equals the IPv4 address
      const c6 = new Uint32Array([CLIENT[0], 0, 0, 0]);
      const v6 = new Uint32Array([VIP[0], 0, 0, 0]);
      expect(t.lookupIn(6, TCP, c6, 40000, v6, 80)).to.equal(-1);
    });

    it('is not the lookup of replies: the real server side of the tuple does not match', () => {
      const t = new ConnTable();
      t.insert(4, TCP, CLIENT, 40000, VIP, 80, RIP, 8080, MASQ, 3, 0);
      expect(t.lookupIn(4, TCP, RIP, 8080, CLIENT, 40000)).to.equal(-1);
    });

    it('never returns a persistence template, even one with the same tuple', () => {
      const t = new ConnTable();
      t.insert(4, TCP, CLIENT, 0, VIP, 80, RIP, 80, DROUTE | TEMPLATE, 0, 0);
      t.insert(4, TCP, CLIENT, 40000, VIP, 80, RIP, 80, DROUTE | TEMPLATE, 0, 0);
      expect(t.lookupIn(4, TCP, CLIENT, 0, VIP, 80)).to.equal(-1);
      expect(t.lookupIn(4, TCP, CLIENT, 40000, VIP, 80)).to.equal(-1);
    });

    it('finds IPv6 connections and keeps IPv4 and IPv6 apart', () => {
      const t = new ConnTable();
      const id6 = t.insert(6, TCP, CLIENT6, 5555, VIP6, 443, RIP6, 443, DROUTE, 1, 0);
      const id4 = t.insert(4, TCP, CLIENT, 5555, VIP, 443, RIP, 443, DROUTE, 1, 0);
      expect(t.lookupIn(6, TCP, CLIENT6, 5555, VIP6, 443)).to.equal(id6);
      expect(t.lookupIn(4, TCP, CLIENT, 5555, VIP, 443)).to.equal(id4);
      expect(t.lookupIn(6, TCP, A('2001:db8::8'), 5555, VIP6, 443)).to.equal(-1);
      expect(t.lookupIn(6, TCP, CLIENT6, 5555, A('2001:db8:1::11'), 443)).to.equal(-1);
    });

    it('compares only word 0 of an IPv4 address', () => {
      const t = new ConnTable();
      const id = t.insert(4, TCP, CLIENT, 1, VIP, 80, RIP, 80, DROUTE, 0, 0);
      const dirty = new Uint32Array([CLIENT[0], 9, 9, 9]);
      expect(t.lookupIn(4, TCP, dirty, 1, VIP, 80)).to.equal(id);
    });

    it('when several entries match, returns the newest, as the kernel hash chain (head insertion) does', () => {
      const t = new ConnTable();
      const old = t.insert(4, TCP, CLIENT, 40000, VIP, 80, RIP, 80, DROUTE, 0, 0);
      const mid = t.insert(4, TCP, CLIENT, 40000, VIP, 80, RIP2, 80, DROUTE, 1, 0);
      expect(t.lookupIn(4, TCP, CLIENT, 40000, VIP, 80)).to.equal(mid);
      t.remove(mid);
      expect(t.lookupIn(4, TCP, CLIENT, 40000, VIP, 80)).to.equal(old);
      const newest = t.insert(4, TCP, CLIENT, 40000, VIP, 80, RIP2, 80, DROUTE, 1, 0);
      expect(t.lookupIn(4, TCP, CLIENT, 40000, VIP, 80)).to.equal(newest);
      // re-keying re-hashes at the head
      t.rekey(old, 40000, 80, 80);
      expect(t.lookupIn(4, TCP, CLIENT, 40000, VIP, 80)).to.equal(old);
    });

    it('does not index ONE_PACKET entries (ip_vs_conn_hash skips them)', () => {
      const t = new ConnTable();
      const id = t.insert(4, UDP, CLIENT, 53, VIP, 53, RIP, 53, DROUTE | ONE_PACKET, 0, 0);
      expect(t.isLive(id)).to.equal(true);
      expect(t.lookupIn(4, UDP, CLIENT, 53, VIP, 53)).to.equal(-1);
      expect(t.rekey(id, 1, 2, 3)).to.equal(false);
      expect(t.cportOf(id)).to.equal(53);
      expect(t.remove(id)).to.equal(true);
      expect(t.size).to.equal(0);
    });
  });

  describe('NO_CPORT entries', () => {
    it('an entry without client port answers any client port when nothing matches exactly', () => {
      const t = new ConnTable();
      const wild = t.insert(4, TCP, CLIENT, 0, VIP, 20, RIP, 20, MASQ | NO_CPORT, 0, 0);
      expect(t.lookupIn(4, TCP, CLIENT, 33333, VIP, 20)).to.equal(wild);
      expect(t.lookupIn(4, TCP, CLIENT, 0, VIP, 20)).to.equal(wild);
      expect(t.lookupIn(4, TCP, CLIENT, 33333, VIP, 21)).to.equal(-1);
      expect(t.lookupIn(4, TCP, CLIENT2, 33333, VIP, 20)).to.equal(-1);
      const exact = t.insert(4, TCP, CLIENT, 33333, VIP, 20, RIP, 20, MASQ, 0, 0);
      expect(t.lookupIn(4, TCP, CLIENT, 33333, VIP, 20)).to.equal(exact);
      expect(t.lookupIn(4, TCP, CLIENT, 33334, VIP, 20)).to.equal(wild);
    });

    it('a client port of 0 matches only NO_CPORT entries, and a NO_CPORT entry only port-0 lookups or the fallback', () => {
      const t = new ConnTable();
      t.insert(4, TCP, CLIENT, 0, VIP, 20, RIP, 20, MASQ, 0, 0);
      expect(t.lookupIn(4, TCP, CLIENT, 0, VIP, 20)).to.equal(-1);
      expect(t.lookupIn(4, TCP, CLIENT, 7, VIP, 20)).to.equal(-1);
    });

    it('fillCport gives the entry its port and clears NO_CPORT (ip_vs_conn_fill_cport)', () => {
      const t = new ConnTable();
      const id = t.insert(4, TCP, CLIENT, 0, VIP, 20, RIP, 20, MASQ | NO_CPORT, 0, 0);
      expect(t.fillCport(id, 41000)).to.equal(true);
      expect(t.flags[id] & NO_CPORT).to.equal(0);
      expect(t.cportOf(id)).to.equal(41000);
      expect(t.lookupIn(4, TCP, CLIENT, 41000, VIP, 20)).to.equal(id);
      expect(t.lookupIn(4, TCP, CLIENT, 41001, VIP, 20)).to.equal(-1);
      expect(t.lookupIn(4, TCP, CLIENT, 0, VIP, 20)).to.equal(-1);
    });
  });

  describe('lookupOut (ip_vs_conn_out_get)', () => {
    it('matches a NAT reply from the real server address and port to the client', () => {
      const t = new ConnTable();
      const id = t.insert(4, TCP, CLIENT, 40000, VIP, 80, RIP, 8080, MASQ, 0, 0);
      expect(t.lookupOut(4, TCP, RIP, 8080, CLIENT, 40000)).to.equal(id);
      expect(t.lookupOut(4, TCP, RIP, 80, CLIENT, 40000)).to.equal(-1);
      expect(t.lookupOut(4, TCP, RIP2, 8080, CLIENT, 40000)).to.equal(-1);
      expect(t.lookupOut(4, TCP, RIP, 8080, CLIENT, 40001)).to.equal(-1);
      expect(t.lookupOut(4, TCP, RIP, 8080, CLIENT2, 40000)).to.equal(-1);
      expect(t.lookupOut(4, UDP, RIP, 8080, CLIENT, 40000)).to.equal(-1);
      // a NAT entry is not matched by packets from the virtual address
      expect(t.lookupOut(4, TCP, VIP, 80, CLIENT, 40000)).to.equal(-1);
    });

    it('matches a non-NAT entry on its virtual address and port (6.1)', () => {
      const t = new ConnTable();
      const dr = t.insert(4, TCP, CLIENT, 40000, VIP, 80, RIP, 8080, DROUTE, 0, 0);
      expect(t.lookupOut(4, TCP, VIP, 80, CLIENT, 40000)).to.equal(dr);
      expect(t.lookupOut(4, TCP, RIP, 8080, CLIENT, 40000)).to.equal(-1);
      const tun = t.insert(4, UDP, CLIENT, 40000, VIP, 53, RIP, 53, TUNNEL, 0, 0);
      expect(t.lookupOut(4, UDP, VIP, 53, CLIENT, 40000)).to.equal(tun);
    });

    it('matches IPv6 NAT replies', () => {
      const t = new ConnTable();
      const id = t.insert(6, TCP, CLIENT6, 40000, VIP6, 80, RIP6, 8080, MASQ, 0, 0);
      expect(t.lookupOut(6, TCP, RIP6, 8080, CLIENT6, 40000)).to.equal(id);
      expect(t.lookupOut(6, TCP, A('2001:db8:2::3'), 8080, CLIENT6, 40000)).to.equal(-1);
      expect(t.lookupIn(6, TCP, CLIENT6, 40000, VIP6, 80)).to.equal(id);
    });
  });

  describe('lookupTemplate (ip_vs_ct_in_get)', () => {
    it('finds a template by client, virtual address and port, and never a connection', () => {
      const t = new ConnTable();
      const conn = t.insert(4, TCP, CLIENT, 0, VIP, 80, RIP, 80, DROUTE, 0, 0);
      expect(t.lookupTemplate(4, TCP, CLIENT, 0, VIP, 80)).to.equal(-1);
      const tpl = t.insert(4, TCP, CLIENT, 0, VIP, 80, RIP, 80, DROUTE | TEMPLATE, 0, 0);
      expect(t.lookupTemplate(4, TCP, CLIENT, 0, VIP, 80)).to.equal(tpl);
      expect(t.lookupTemplate(4, TCP, CLIENT, 0, VIP, 81)).to.equal(-1);
      expect(t.lookupTemplate(4, TCP, CLIENT, 0, VIP2, 80)).to.equal(-1);
      expect(t.lookupTemplate(4, UDP, CLIENT, 0, VIP, 80)).to.equal(-1);
      expect(t.lookupTemplate(4, TCP, CLIENT, 1, VIP, 80)).to.equal(-1);
      expect(t.lookupIn(4, TCP, CLIENT, 0, VIP, 80)).to.equal(-1);
      expect(conn).to.not.equal(tpl);
    });

    it('finds a port-zero service template by its zero virtual port', () => {
      const t = new ConnTable();
      const tpl = t.insert(4, TCP, CLIENT, 0, VIP, 0, RIP, 0, DROUTE | TEMPLATE, 0, 0);
      expect(t.lookupTemplate(4, TCP, CLIENT, 0, VIP, 0)).to.equal(tpl);
    });

    it('finds a firewall-mark template by its mark, whatever the packet protocol and address', () => {
      const t = new ConnTable();
      const mark = new Uint32Array([7, 0, 0, 0]);
      const tpl = t.insert(4, IPPROTO_IP, CLIENT, 0, mark, 0, RIP, 0, DROUTE | TEMPLATE, 0, 7);
      expect(t.lookupTemplate(4, TCP, CLIENT, 0, VIP, 0, 7)).to.equal(tpl);
      expect(t.lookupTemplate(4, UDP, CLIENT, 0, VIP2, 0, 7)).to.equal(tpl);
      expect(t.lookupTemplate(4, IPPROTO_IP, CLIENT, 0, mark, 0)).to.equal(tpl);
      expect(t.lookupTemplate(4, TCP, CLIENT, 0, VIP, 0, 8)).to.equal(-1);
      expect(t.lookupTemplate(4, TCP, CLIENT, 0, mark, 0)).to.equal(-1);
      expect(t.protoOf(tpl)).to.equal(IPPROTO_IP);
    });

    it('compares only word 0 of the virtual address of an IPv6 firewall-mark template (AF_UNSPEC)', () => {
      const t = new ConnTable();
      const tpl = t.insert(
        6,
        IPPROTO_IP,
        CLIENT6,
        0,
        new Uint32Array([9, 1, 2, 3]),
        0,
        RIP6,
        0,
        TEMPLATE,
        0,
        9,
      );
      const out = new Uint32Array(4);
      t.getVaddr(tpl, out);
      expect(words(out)).to.deep.equal([9, 0, 0, 0]);
      expect(t.lookupTemplate(6, TCP, CLIENT6, 0, VIP6, 0, 9)).to.equal(tpl);
      expect(t.lookupTemplate(6, IPPROTO_IP, CLIENT6, 0, new Uint32Array([9, 5, 5, 5]), 0)).to.equal(tpl);
      expect(t.lookupTemplate(4, TCP, CLIENT, 0, VIP, 0, 9)).to.equal(-1);
    });

    it('an invalidated template (re-keyed to ports 0/65535/65535) is no longer found and a new one takes its place', () => {
      const t = new ConnTable();
      const tpl = t.insert(4, TCP, CLIENT, 0, VIP, 80, RIP, 80, DROUTE | TEMPLATE, 0, 0);
      expect(t.rekey(tpl, 0, 0xffff, 0xffff)).to.equal(true);
      expect(t.lookupTemplate(4, TCP, CLIENT, 0, VIP, 80)).to.equal(-1);
      expect([t.cportOf(tpl), t.vportOf(tpl), t.dportOf(tpl)]).to.deep.equal([0, 0xffff, 0xffff]);
      expect(t.lookupTemplate(4, TCP, CLIENT, 0, VIP, 0xffff)).to.equal(tpl);
      const fresh = t.insert(4, TCP, CLIENT, 0, VIP, 80, RIP2, 80, DROUTE | TEMPLATE, 1, 0);
      expect(t.lookupTemplate(4, TCP, CLIENT, 0, VIP, 80)).to.equal(fresh);
      expect(t.isLive(tpl)).to.equal(true);
    });

    it('re-keying a connection changes which lookups find it (client port is part of the key)', () => {
      const t = new ConnTable();
      const id = t.insert(4, TCP, CLIENT, 1000, VIP, 80, RIP, 8080, MASQ, 0, 0);
      t.rekey(id, 2000, 81, 8081);
      expect(t.lookupIn(4, TCP, CLIENT, 1000, VIP, 80)).to.equal(-1);
      expect(t.lookupIn(4, TCP, CLIENT, 2000, VIP, 81)).to.equal(id);
      expect(t.lookupOut(4, TCP, RIP, 8081, CLIENT, 2000)).to.equal(id);
    });
  });

  describe('addresses and fields', () => {
    it('reads back every address and port, IPv4 and IPv6', () => {
      const t = new ConnTable();
      const out = new Uint32Array(4);
      const id4 = t.insert(4, UDP, CLIENT, 1, VIP, 2, RIP, 3, MASQ, 4, 5);
      const id6 = t.insert(6, TCP, CLIENT6, 6, VIP6, 7, RIP6, 8, DROUTE, 9, 10);
      t.getCaddr(id4, out);
      expect(words(out)).to.deep.equal(words(CLIENT));
      t.getVaddr(id4, out);
      expect(words(out)).to.deep.equal(words(VIP));
      t.getDaddr(id4, out);
      expect(words(out)).to.deep.equal(words(RIP));
      t.getCaddr(id6, out);
      expect(words(out)).to.deep.equal(words(CLIENT6));
      t.getVaddr(id6, out);
      expect(words(out)).to.deep.equal(words(VIP6));
      t.getDaddr(id6, out);
      expect(words(out)).to.deep.equal(words(RIP6));
      expect([
        t.afOf(id4),
        t.dafOf(id4),
        t.protoOf(id4),
        t.cportOf(id4),
        t.vportOf(id4),
        t.dportOf(id4),
      ]).to.deep.equal([4, 4, UDP, 1, 2, 3]);
      expect([t.afOf(id6), t.protoOf(id6), t.cportOf(id6), t.vportOf(id6), t.dportOf(id6)]).to.deep.equal([
        6,
        TCP,
        6,
        7,
        8,
      ]);
      expect([
        t.flags[id4],
        t.destId[id4],
        t.fwmark[id4],
        t.state[id4],
        t.control[id4],
        t.nControl[id4],
      ]).to.deep.equal([MASQ, 4, 5, 0, -1, 0]);
      expect(t.caddrEquals(id6, CLIENT6)).to.equal(true);
      expect(t.caddrEquals(id6, A('2001:db8::8'))).to.equal(false);
      expect(t.vaddrEquals(id4, VIP)).to.equal(true);
      expect(t.vaddrEquals(id4, VIP2)).to.equal(false);
      expect(t.daddrEquals(id6, RIP6)).to.equal(true);
      expect(t.daddrEquals(id4, RIP2)).to.equal(false);
    });

    it('keeps a destination of the other family (tunnels between IPv4 and IPv6)', () => {
      const t = new ConnTable();
      const out = new Uint32Array(4);
      const a = t.insert(4, TCP, CLIENT, 1, VIP, 80, RIP6, 80, TUNNEL, 0, 0, 6);
      const b = t.insert(6, TCP, CLIENT6, 1, VIP6, 80, RIP, 80, TUNNEL, 0, 0, 4);
      t.getDaddr(a, out);
      expect(words(out)).to.deep.equal(words(RIP6));
      t.getDaddr(b, out);
      expect(words(out)).to.deep.equal(words(RIP));
      expect([t.dafOf(a), t.dafOf(b)]).to.deep.equal([6, 4]);
      expect(t.lookupIn(4, TCP, CLIENT, 1, VIP, 80)).to.equal(a);
      expect(t.lookupIn(6, TCP, CLIENT6, 1, VIP6, 80)).to.equal(b);
      expect(t.daddrEquals(a, RIP6)).to.equal(true);
    });

    it('recycles IPv6 address cells of removed entries', () => {
      const t = new ConnTable({ initialCapacity: 64 });
      const ids: number[] = [];
      for (let i = 0; i < 40; i++) ids.push(t.insert(6, TCP, CLIENT6, i, VIP6, 80, RIP6, 80, DROUTE, 0, 0));
      for (const id of ids) t.remove(id);
      const bytes = t.byteSize;
      for (let round = 0; round < 5; round++) {
        const again: number[] = [];
        for (let i = 0; i < 40; i++)
          again.push(t.insert(6, TCP, CLIENT6, i, VIP6, 80, RIP6, 80, DROUTE, 0, 0));
        for (const id of again) t.remove(id);
      }
      expect(t.byteSize).to.equal(bytes);
    });

    it('counts client packets saturating at 255', () => {
      const t = new ConnTable();
      const id = t.insert(4, TCP, CLIENT, 1, VIP, 80, RIP, 80, DROUTE, 0, 0);
      for (let i = 1; i <= 300; i++) t.countInPkt(id);
      expect(t.inPkts[id]).to.equal(255);
    });

    it('rejects an unknown address family (a programming error)', () => {
      const t = new ConnTable();
      expect(() => t.insert(2, TCP, CLIENT, 1, VIP, 80, RIP, 80, DROUTE, 0, 0)).to.throw(/address family/);
    });
  });

  describe('storage', () => {
    it('grows from a tiny capacity and keeps every entry, its id and its fields', () => {
      const t = new ConnTable({ initialCapacity: 4 });
      const c = new Uint32Array(4);
      const ids: number[] = [];
      for (let i = 0; i < 5000; i++) {
        c[0] = 0x0b000000 + i;
        const id = t.insert(i % 3 === 0 ? 4 : 4, TCP, c, 1024 + (i % 50000), VIP, 80, RIP, 80, DROUTE, i, 0);
        t.state[id] = i & 7;
        t.timeout[id] = i;
        t.arm(id, 1000 + i);
        ids.push(id);
      }
      expect(t.size).to.equal(5000);
      for (let i = 0; i < 5000; i++) {
        c[0] = 0x0b000000 + i;
        const id = t.lookupIn(4, TCP, c, 1024 + (i % 50000), VIP, 80);
        expect(id).to.equal(ids[i]);
        expect([t.destId[id], t.state[id], t.timeout[id], t.expires[id]]).to.deep.equal([
          i,
          i & 7,
          i,
          1000 + i,
        ]);
      }
    });

    it('a growth past RELEASE_FROM entries calls the release hook between its columns, and keeps every entry', () => {
      let calls = 0;
      const t = new ConnTable({ initialCapacity: RELEASE_FROM, release: () => calls++ });
      const c = new Uint32Array(4);
      const n = RELEASE_FROM + 10;
      for (let i = 0; i < n; i++) {
        c[0] = 0x0b000000 + i;
        const id = t.insert(4, TCP, c, 1024, VIP, 80, RIP, 80, DROUTE, i & 0xff, 0);
        t.arm(id, 1000 + i);
      }
      // one growth (to 1.2x), the hook run after each of its five groups of columns
      expect(calls).to.equal(5);
      for (const i of [0, 1, RELEASE_FROM - 1, RELEASE_FROM, n - 1]) {
        c[0] = 0x0b000000 + i;
        const id = t.lookupIn(4, TCP, c, 1024, VIP, 80);
        expect([t.destId[id], t.expires[id]]).to.deep.equal([i & 0xff, 1000 + i]);
      }
      // smaller growths do not call it
      let small = 0;
      const u = new ConnTable({ initialCapacity: 4, release: () => small++ });
      for (let i = 0; i < 5000; i++) {
        c[0] = 0x0c000000 + i;
        u.insert(4, TCP, c, 1024, VIP, 80, RIP, 80, DROUTE, 0, 0);
      }
      expect(small).to.equal(0);
    });

    it('reuses the most recently freed id first', () => {
      const t = new ConnTable();
      const a = t.insert(4, TCP, CLIENT, 1, VIP, 80, RIP, 80, DROUTE, 0, 0);
      const b = t.insert(4, TCP, CLIENT, 2, VIP, 80, RIP, 80, DROUTE, 0, 0);
      t.remove(a);
      t.remove(b);
      expect(t.insert(4, TCP, CLIENT, 3, VIP, 80, RIP, 80, DROUTE, 0, 0)).to.equal(b);
      expect(t.insert(4, TCP, CLIENT, 4, VIP, 80, RIP, 80, DROUTE, 0, 0)).to.equal(a);
    });

    it('remove is false for an id that is not live, and a removed entry is found by no lookup', () => {
      const t = new ConnTable();
      const id = t.insert(4, TCP, CLIENT, 1, VIP, 80, RIP, 80, MASQ, 0, 0);
      expect(t.remove(id)).to.equal(true);
      expect(t.remove(id)).to.equal(false);
      expect(t.remove(99)).to.equal(false);
      expect(t.remove(-1)).to.equal(false);
      expect(t.isLive(id)).to.equal(false);
      expect(t.lookupIn(4, TCP, CLIENT, 1, VIP, 80)).to.equal(-1);
      expect(t.lookupOut(4, TCP, RIP, 80, CLIENT, 1)).to.equal(-1);
      expect(t.size).to.equal(0);
    });

    it('refuses inserts at the cap (maxConns) until an entry goes', () => {
      const t = new ConnTable({ maxConns: 3 });
      const ids = [1, 2, 3].map((p) => t.insert(4, TCP, CLIENT, p, VIP, 80, RIP, 80, DROUTE, 0, 0));
      expect(ids.every((id) => id >= 0)).to.equal(true);
      expect(t.insert(4, TCP, CLIENT, 4, VIP, 80, RIP, 80, DROUTE, 0, 0)).to.equal(-1);
      expect(t.size).to.equal(3);
      t.remove(ids[1]);
      expect(t.insert(4, TCP, CLIENT, 4, VIP, 80, RIP, 80, DROUTE, 0, 0)).to.equal(ids[1]);
      t.maxConns = 0;
      expect(t.insert(4, TCP, CLIENT, 5, VIP, 80, RIP, 80, DROUTE, 0, 0)).to.be.at.least(0);
    });

    it('forEach visits every live entry once, in id order, and tolerates removal of the visited entry', () => {
      const t = new ConnTable();
      const ids = [1, 2, 3, 4, 5].map((p) => t.insert(4, TCP, CLIENT, p, VIP, 80, RIP, 80, DROUTE, 0, 0));
      t.remove(ids[2]);
      const seen: number[] = [];
      t.forEach((id) => {
        seen.push(id);
        t.remove(id);
      });
      expect(seen).to.deep.equal([ids[0], ids[1], ids[3], ids[4]]);
      expect(t.size).to.equal(0);
    });

    describe('removal in the middle of probe runs (backward-shift deletion)', () => {
      const SEED = 12345;
      // the index starts with 16 slots for a small table: find clients whose keys share a home slot
      function collidingClients(home: number, n: number): Uint32Array[] {
        const found: Uint32Array[] = [];
        for (let i = 1; found.length < n; i++) {
          const c = new Uint32Array([0x0a000000 + i, 0, 0, 0]);
          if ((connHash(SEED, 4, TCP, c, 80) & 15) === home) found.push(c);
        }
        return found;
      }

      for (const home of [3, 15]) {
        it(`keeps every other entry reachable whichever entry of a run is removed (home slot ${home})`, () => {
          const clients = collidingClients(home, 6);
          for (let victim = 0; victim < 6; victim++) {
            const t = new ConnTable({ seed: SEED, initialCapacity: 8 });
            const ids = clients.map((c) => t.insert(4, TCP, c, 80, VIP, 80, RIP, 80, DROUTE, 0, 0));
            // same key as the first client, other service: same hash, same run
            const twin = t.insert(4, TCP, clients[0], 80, VIP2, 80, RIP, 80, DROUTE, 0, 0);
            t.remove(ids[victim]);
            clients.forEach((c, i) => {
              expect(t.lookupIn(4, TCP, c, 80, VIP, 80)).to.equal(i === victim ? -1 : ids[i]);
            });
            expect(t.lookupIn(4, TCP, clients[0], 80, VIP2, 80)).to.equal(twin);
            // and the freed place is usable again
            const back = t.insert(4, TCP, clients[victim], 80, VIP, 80, RIP, 80, DROUTE, 0, 0);
            expect(t.lookupIn(4, TCP, clients[victim], 80, VIP, 80)).to.equal(back);
          }
        });
      }

      it('keeps the newest-first order of same-key entries across removals and index growth', () => {
        const t = new ConnTable({ seed: SEED, initialCapacity: 4 });
        const ids: number[] = [];
        for (let i = 0; i < 5; i++)
          ids.push(t.insert(4, TCP, CLIENT, 80, VIP, 80, RIP, 80 + i, DROUTE, 0, 0));
        t.remove(ids[4]);
        expect(t.lookupIn(4, TCP, CLIENT, 80, VIP, 80)).to.equal(ids[3]);
        // grow the index several times with unrelated entries
        const c = new Uint32Array(4);
        for (let i = 0; i < 500; i++) {
          c[0] = 0x0c000000 + i;
          t.insert(4, TCP, c, 80, VIP, 80, RIP, 80, DROUTE, 0, 0);
        }
        for (let k = 3; k >= 0; k--) {
          expect(t.lookupIn(4, TCP, CLIENT, 80, VIP, 80)).to.equal(ids[k]);
          t.remove(ids[k]);
        }
        expect(t.lookupIn(4, TCP, CLIENT, 80, VIP, 80)).to.equal(-1);
      });
    });
  });
});
