/**
 * The IPVS connection table (ip_vs_conn.c): one table for connections and
 * persistence templates, struct-of-arrays over typed arrays, entries named by
 * integer ids, with an integer-keyed open-addressed index and timers on
 * simulated time. Nothing here allocates per operation (arrays grow
 * geometrically, amortised) and nothing uses strings.
 *
 * ## Entries
 *
 * An id is an index into the public typed arrays below (`conns.flags[id]`,
 * `conns.state[id]`, …), which belong to the consumer (conn_ops.ts): `insert`
 * initialises them (state 0, control -1, nControl 0, timeout 0, inPkts 0,
 * timer not armed). Growth replaces the arrays: read them through the table
 * (`conns.flags[id]`) after any `insert`, never keep a reference to an array
 * across one. Ids are stable for the life of an entry; a removed entry's id
 * is reused by a later insert (last freed, first reused).
 *
 * The tuple (af, daf, protocol, addresses, ports) is read through methods
 * (`afOf`, `cportOf`, `getCaddr`, `caddrEquals`, …) and changed only by
 * `rekey`/`fillCport`, which keep the index in step. The fields a lookup
 * compares are packed in one 16-byte record per entry, so that a lookup
 * touches two cache lines (index slot, key record) rather than one per field:
 * in a large table every line touched is a cache and TLB miss, and with one
 * array per field a hit would touch eight. The record is
 *
 *   word 0  client address (IPv4) or its IPv6 pool cell
 *   word 1  virtual address (IPv4) or its IPv6 pool cell
 *   word 2  cport | vport << 16
 *   word 3  protocol | key bits << 8 | dport << 16
 *
 * where the key bits say live, af 6, daf 6, TEMPLATE, NO_CPORT and MASQ —
 * flags that the kernel sets when it creates an entry and never changes, so
 * they are taken from `flags` at insert (fillCport clears NO_CPORT in both).
 * An IPv6 address lives in a side pool of 4-word cells, so IPv4 entries do
 * not pay for IPv6. Addresses are four 32-bit words, IPv4 in word 0 and words
 * 1..3 zero (wire/addr.ts).
 *
 * ## Index and lookups
 *
 * As in the kernel, the index key is (af, protocol, client address, client
 * port), the part of the tuple both directions know (ip_vs_conn_hashkey);
 * lookups hash that key and compare the rest. The index is a power-of-two
 * array of (id, hash) slot pairs with linear probing kept sorted by home
 * slot (Robin Hood order), at most 80 % full: a lookup stops at an empty slot
 * or at the first slot whose entry's home lies beyond its own, and a removal
 * shifts the following entries back (no tombstones). Entries of the same key
 * are kept newest first, so when several entries match a lookup the most
 * recently inserted (or re-keyed) one wins, like the kernel's hash chains
 * where ip_vs_conn_hash adds at the head. Entries flagged ONE_PACKET are not
 * indexed (ip_vs_conn_hash skips them): lookups never find them.
 *
 * ## Timers
 *
 * `expires[id]` is the truth. Armed entries sit in a hashed timer wheel
 * covering WHEEL_SPAN_MS per turn (its slots multiply and narrow as the table
 * grows, from 256 slots of 4 s to 2^18 slots of 4 ms) or, once
 * their slot has been reached, in a binary heap ordered by (expires, id)
 * from which `expire` fires them. Re-arming an entry to a later time (what
 * every packet does) only stores the new time: the wheel entry stays where it
 * is and is re-filed when its slot comes round. Re-arming to an earlier time
 * moves it (doubly linked lists). A jump of the clock by more than one turn
 * of the wheel costs one pass over the wheel, whatever the length of the jump.
 *
 * ## Memory
 *
 * 62 bytes per entry of capacity (key record 16, destination address 4,
 * timer links 8, expires 8, flags/destId/control/nControl/timeout/fwmark
 * 4 each, state and inPkts 1 each), 8 bytes per index slot and 4 bytes per
 * wheel slot (one per 8 entries of capacity). Capacity doubles up to 2^16
 * entries and then grows by 1.2x; the index doubles when 80 % full. A large
 * table therefore uses between ~72 and ~95 bytes per live IPv4 entry, all of
 * it in ArrayBuffers outside the JS heap; IPv6 entries add 16 bytes per IPv6
 * address.
 */

/** IP_VS_CONN_F_* bits as the kernel defines them (uapi/linux/ip_vs.h, net/ip_vs.h). */
export const ConnFlag = {
  FWD_MASK: 0x0007,
  MASQ: 0x0000,
  LOCALNODE: 0x0001,
  TUNNEL: 0x0002,
  DROUTE: 0x0003,
  BYPASS: 0x0004,
  SYNC: 0x0020,
  HASHED: 0x0040,
  NOOUTPUT: 0x0080,
  INACTIVE: 0x0100,
  OUT_SEQ: 0x0200,
  IN_SEQ: 0x0400,
  NO_CPORT: 0x0800,
  TEMPLATE: 0x1000,
  ONE_PACKET: 0x2000,
  NFCT: 0x10000,
} as const;

/** Protocol number of firewall-mark templates (ip_vs_sched_persist). */
export const IPPROTO_IP = 0;

/**
 * Simulated time one turn of the timer wheel covers, ms (about 17.5 min). A
 * slot is WHEEL_SPAN_MS / (number of slots) wide: from 4096 ms (256 slots,
 * small tables) down to 4 ms (2^18 slots, one per 8 entries of capacity).
 */
export const WHEEL_SPAN_MS = 1 << 20;

// key record, word 3: protocol in bits 0..7, key bits, dport in bits 16..31
const M_PROTO = 0xff;
const M_LIVE = 0x100;
const M_AF6 = 0x200;
const M_DAF6 = 0x400;
const M_TPL = 0x800;
const M_NOCP = 0x1000;
const M_MASQ = 0x2000;
/** What lookupIn compares in word 3. */
const IN_MASK = M_PROTO | M_LIVE | M_AF6 | M_TPL | M_NOCP;
/** What lookupTemplate compares in word 3. */
const TPL_MASK = M_PROTO | M_LIVE | M_AF6 | M_TPL;
/** What lookupOut compares in word 3. */
const OUT_MASK = M_PROTO | M_LIVE | M_AF6;

/** Timer link states kept in tprev (values <= HEAD0 mean "head of wheel list HEAD0 - value"). */
const T_UNARMED = -1;
const T_HEAP = -2;
const HEAD0 = -3;

const MIN_CAPACITY = 4;
/** Capacity doubles up to here, then grows by GROWTH. */
const DOUBLING_LIMIT = 1 << 16;
const GROWTH = 1.2;
const MIN_WHEEL = 256;
const MAX_WHEEL = 1 << 18;
const MAX_LOAD = 0.8;

const DEFAULT_SEED = 0x2f6b9a1d;

function mixWord(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finalMix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * Hash of an index key (af, protocol, client address, client port), the key
 * of ip_vs_conn_hashkey (a different function: the kernel's is seeded at
 * random). For IPv4 only word 0 of the address counts. Exported for tests
 * that need colliding keys.
 */
export function connHash(seed: number, af: number, proto: number, addr: Uint32Array, port: number): number {
  let h = mixWord(seed, addr[0]);
  if (af !== 4) {
    h = mixWord(h, addr[1]);
    h = mixWord(h, addr[2]);
    h = mixWord(h, addr[3]);
  }
  h = mixWord(h, (port & 0xffff) | ((proto & 0xff) << 16) | ((af & 0xff) << 24));
  return finalMix(h);
}

function grownU8(a: Uint8Array, n: number): Uint8Array {
  const b = new Uint8Array(n);
  b.set(a);
  return b;
}
function grownU32(a: Uint32Array, n: number): Uint32Array {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}
function grownI32(a: Int32Array, n: number): Int32Array {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
function grownF64(a: Float64Array, n: number): Float64Array {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}

export interface ConnTableOptions {
  /** Most live entries allowed (connections and templates); 0 = unlimited. */
  maxConns?: number;
  /** Entries allocated up front (default 1024); the table grows past it. */
  initialCapacity?: number;
  /** Hash seed (default: a fixed constant, so runs are reproducible). */
  seed?: number;
  /**
   * Called between the columns of a growth past RELEASE_FROM entries, so
   * that the caller can have the columns replaced so far freed (a full
   * garbage collection, replay/gc.ts) before the next ones are copied.
   * Without it a growth holds every old column and every new one at once:
   * ~62 bytes per entry more at the peak (the uncapped 10^7-connection SYN
   * flood of bench/suites/memory.ts: peak RSS minus the table 264-349 MB
   * without, 176-253 MB with).
   */
  release?: (() => void) | null;
}

/** Growths to more entries than this call ConnTableOptions.release between columns. */
export const RELEASE_FROM = 1 << 20;

/** Mirrors the kernel's connection hash table and entry timers (ip_vs_conn.c). */
export class ConnTable {
  // ---- public per-entry fields (typed arrays indexed by id; replaced on growth) ----

  /** Protocol state (TcpState, SctpState, …); templates keep CTPL bits here. */
  state: Uint8Array;
  /**
   * IP_VS_CONN_F_* bits (ConnFlag). The forwarding method, TEMPLATE,
   * NO_CPORT and ONE_PACKET are read at insert and must not change after.
   */
  flags: Uint32Array;
  /** Id of the bound real server (Ipvs.destById), or -1. */
  destId: Int32Array;
  /** Id of the controlling entry (persistence template), or -1. */
  control: Int32Array;
  /** Number of entries this one controls. */
  nControl: Int32Array;
  /** Current timeout, ms (the consumer's value for its next `arm`). */
  timeout: Uint32Array;
  /**
   * When the entry's timer fires, simulated ms. Infinity for an entry not
   * armed (never, or disarmed); after the timer fired (and was not re-armed),
   * the time it was due. Write it only through `arm`.
   */
  expires: Float64Array;
  /** Firewall mark of the packet that created the entry (cp->fwmark). */
  fwmark: Uint32Array;
  /** Packets seen from the client (cp->in_pkts), saturating at 255: see `countInPkt`. */
  inPkts: Uint8Array;

  /** Most live entries allowed; 0 = unlimited. `insert` returns -1 at the cap. */
  maxConns: number;

  // ---- private storage ----
  /** Key records, 4 words per entry (see the file comment). */
  private keys: Uint32Array;
  /** Destination address (IPv4) or its IPv6 pool cell. */
  private daddrW: Uint32Array;
  /** Timer links, 2 words per entry: [2id] next (wheel) / heap position / free-list link, [2id+1] prev or T_*. */
  private tlink: Int32Array;
  private cap: number;
  /** Ids below this have been handed out at least once. */
  private hw: number;
  private freeHead: number;
  private live: number;
  private noCportCount: number;
  private readonly seed: number;

  /** Index: slot i holds an id at [2i] (-1 when empty) and its key hash at [2i+1]. */
  private slots: Int32Array;
  private mask: number;
  private indexed: number;
  private indexLimit: number;

  /** IPv6 address pool: 4-word cells; a free cell holds the next free cell in word 0. */
  private pool: Uint32Array;
  private poolHw: number;
  private poolFree: number;

  /** Timer wheel heads (-1 = empty list). */
  private wheel: Int32Array;
  private wmask: number;
  /** Width of a wheel slot (ms) and its inverse (both powers of two, so slot numbers are exact). */
  private slotMs: number;
  private invSlot: number;
  /** Last wheel slot (absolute: floor(ms / slotMs)) whose entries have moved to the heap. */
  private cur: number;
  private heap: Int32Array;
  /**
   * The time expire() or arm() was called with, for expireDue() and
   * armSlow(): a typed-array cell, since storing a double in a field may box it.
   */
  private readonly dueMs = new Float64Array(1);
  private readonly release: (() => void) | null;
  private heapN: number;
  private armed: number;
  private nextValid: boolean;
  private nextValue: number;
  private expiring: boolean;

  constructor(options: ConnTableOptions = {}) {
    const max = options.maxConns ?? 0;
    if (!Number.isInteger(max) || max < 0)
      throw new Error(`maxConns must be a non-negative integer, got ${max}`);
    const init = options.initialCapacity ?? 1024;
    if (!Number.isInteger(init) || init < 1)
      throw new Error(`initialCapacity must be a positive integer, got ${init}`);
    const c = Math.max(MIN_CAPACITY, init);
    this.maxConns = max;
    this.release = options.release ?? null;
    this.seed = (options.seed ?? DEFAULT_SEED) | 0;
    this.cap = c;
    this.state = new Uint8Array(c);
    this.flags = new Uint32Array(c);
    this.destId = new Int32Array(c);
    this.control = new Int32Array(c);
    this.nControl = new Int32Array(c);
    this.timeout = new Uint32Array(c);
    this.expires = new Float64Array(c);
    this.fwmark = new Uint32Array(c);
    this.inPkts = new Uint8Array(c);
    this.keys = new Uint32Array(4 * c);
    this.daddrW = new Uint32Array(c);
    this.tlink = new Int32Array(2 * c);
    this.hw = 0;
    this.freeHead = -1;
    this.live = 0;
    this.noCportCount = 0;

    let s = 16;
    while (s * MAX_LOAD < c) s *= 2;
    this.slots = new Int32Array(2 * s).fill(-1);
    this.mask = s - 1;
    this.indexed = 0;
    this.indexLimit = Math.floor(s * MAX_LOAD);

    this.pool = new Uint32Array(4 * 16);
    this.poolHw = 0;
    this.poolFree = -1;

    const w = ConnTable.wheelSizeFor(c);
    this.wheel = new Int32Array(w).fill(-1);
    this.wmask = w - 1;
    this.slotMs = WHEEL_SPAN_MS / w;
    this.invSlot = 1 / this.slotMs;
    this.cur = 0;
    this.heap = new Int32Array(64);
    this.heapN = 0;
    this.armed = 0;
    this.nextValid = true;
    this.nextValue = Infinity;
    this.expiring = false;
  }

  private static wheelSizeFor(capacity: number): number {
    let w = MIN_WHEEL;
    while (w < MAX_WHEEL && w * 8 < capacity) w *= 2;
    return w;
  }

  /** Live entries (connections and templates). */
  get size(): number {
    return this.live;
  }

  /** Every live id is below this (for sampling ids, e.g. a drop_entry sweep). */
  get idLimit(): number {
    return this.hw;
  }

  /** Bytes of typed-array storage the table holds now (all of it outside the JS heap). */
  get byteSize(): number {
    return (
      this.cap * 62 +
      this.slots.byteLength +
      this.pool.byteLength +
      this.wheel.byteLength +
      this.heap.byteLength
    );
  }

  isLive(id: number): boolean {
    return id >= 0 && id < this.hw && (this.keys[(id << 2) + 3] & M_LIVE) !== 0;
  }

  // ---------------------------------------------------------------- tuple

  /** Address family of the client and virtual addresses: 4 or 6. */
  afOf(id: number): number {
    return this.keys[(id << 2) + 3] & M_AF6 ? 6 : 4;
  }

  /** Address family of the destination address (differs from afOf only for tunnels). */
  dafOf(id: number): number {
    return this.keys[(id << 2) + 3] & M_DAF6 ? 6 : 4;
  }

  /** IP protocol (6 TCP, 17 UDP, 132 SCTP; IPPROTO_IP for firewall-mark templates). */
  protoOf(id: number): number {
    return this.keys[(id << 2) + 3] & M_PROTO;
  }

  cportOf(id: number): number {
    return this.keys[(id << 2) + 2] & 0xffff;
  }

  vportOf(id: number): number {
    return this.keys[(id << 2) + 2] >>> 16;
  }

  dportOf(id: number): number {
    return this.keys[(id << 2) + 3] >>> 16;
  }

  /** Writes the client address (4 words) into `out`. */
  getCaddr(id: number, out: Uint32Array): void {
    const k = this.keys[(id << 2) + 3];
    this.readAddr(k & M_AF6, this.keys[id << 2], out);
  }

  /** Writes the virtual address (4 words; a firewall-mark template has the mark in word 0). */
  getVaddr(id: number, out: Uint32Array): void {
    const k = this.keys[(id << 2) + 3];
    this.readAddr(k & M_AF6, this.keys[(id << 2) + 1], out);
  }

  /** Writes the destination (real server) address (4 words, family dafOf(id)). */
  getDaddr(id: number, out: Uint32Array): void {
    const k = this.keys[(id << 2) + 3];
    this.readAddr(k & M_DAF6, this.daddrW[id], out);
  }

  /** Whether the client address equals `a` (IPv4: word 0 only, as ip_vs_addr_equal). */
  caddrEquals(id: number, a: Uint32Array): boolean {
    const w = this.keys[id << 2];
    return this.keys[(id << 2) + 3] & M_AF6 ? this.cellEquals(w, a) : w === a[0];
  }

  /** Whether the virtual address equals `a` (IPv4: word 0 only). */
  vaddrEquals(id: number, a: Uint32Array): boolean {
    const w = this.keys[(id << 2) + 1];
    return this.keys[(id << 2) + 3] & M_AF6 ? this.cellEquals(w, a) : w === a[0];
  }

  /** Whether the destination address equals `a` (family dafOf(id); IPv4: word 0 only). */
  daddrEquals(id: number, a: Uint32Array): boolean {
    const w = this.daddrW[id];
    return this.keys[(id << 2) + 3] & M_DAF6 ? this.cellEquals(w, a) : w === a[0];
  }

  private readAddr(wide: number, w: number, out: Uint32Array): void {
    if (wide === 0) {
      out[0] = w;
      out[1] = 0;
      out[2] = 0;
      out[3] = 0;
    } else {
      const o = w << 2;
      const p = this.pool;
      out[0] = p[o];
      out[1] = p[o + 1];
      out[2] = p[o + 2];
      out[3] = p[o + 3];
    }
  }

  private cellEquals(cell: number, a: Uint32Array): boolean {
    const o = cell << 2;
    const p = this.pool;
    return p[o] === a[0] && p[o + 1] === a[1] && p[o + 2] === a[2] && p[o + 3] === a[3];
  }

  // ---------------------------------------------------------------- insert / remove

  /**
   * Mirrors ip_vs_conn_new's table part: a new entry for the tuple, indexed
   * (unless ONE_PACKET) ahead of older entries with the same key. `daf` is
   * the destination's address family (default `af`; differs only for
   * tunnels). For a firewall-mark template pass proto IPPROTO_IP and the mark
   * in word 0 of `vaddr`, as ip_vs_sched_persist builds it: only word 0 of
   * vaddr is kept then. Returns the id, or -1 when the table holds
   * `maxConns` entries.
   */
  insert(
    af: number,
    proto: number,
    caddr: Uint32Array,
    cport: number,
    vaddr: Uint32Array,
    vport: number,
    daddr: Uint32Array,
    dport: number,
    flags: number,
    destId: number,
    fwmark: number,
    daf: number = af,
  ): number {
    if (this.maxConns > 0 && this.live >= this.maxConns) return -1;
    if ((af !== 4 && af !== 6) || (daf !== 4 && daf !== 6))
      throw new Error(`bad address family ${af}/${daf}`);
    let id = this.freeHead;
    if (id >= 0) this.freeHead = this.tlink[id << 1];
    else {
      if (this.hw === this.cap) this.growEntries();
      id = this.hw++;
    }
    this.state[id] = 0;
    this.flags[id] = flags;
    this.destId[id] = destId;
    this.control[id] = -1;
    this.nControl[id] = 0;
    this.timeout[id] = 0;
    this.expires[id] = Infinity;
    this.fwmark[id] = fwmark;
    this.inPkts[id] = 0;
    this.tlink[id << 1] = -1;
    this.tlink[(id << 1) + 1] = T_UNARMED;
    let meta = (proto & M_PROTO) | M_LIVE | ((dport & 0xffff) << 16);
    if (af === 6) meta |= M_AF6;
    if (daf === 6) meta |= M_DAF6;
    if (flags & ConnFlag.TEMPLATE) meta |= M_TPL;
    if (flags & ConnFlag.NO_CPORT) meta |= M_NOCP;
    if ((flags & ConnFlag.FWD_MASK) === ConnFlag.MASQ) meta |= M_MASQ;
    const o = id << 2;
    const keys = this.keys;
    if (af === 4) {
      keys[o] = caddr[0];
      keys[o + 1] = vaddr[0];
    } else {
      keys[o] = this.poolPut(caddr, false);
      keys[o + 1] = this.poolPut(vaddr, proto === IPPROTO_IP);
    }
    keys[o + 2] = (cport & 0xffff) | ((vport & 0xffff) << 16);
    keys[o + 3] = meta;
    this.daddrW[id] = daf === 4 ? daddr[0] : this.poolPut(daddr, false);
    if (meta & M_NOCP) this.noCportCount++;
    this.live++;
    if (!(flags & ConnFlag.ONE_PACKET)) this.indexAdd(id, this.entryHash(id), true);
    return id;
  }

  /** Frees an entry: unindexes it and cancels its timer. False when `id` is not live. */
  remove(id: number): boolean {
    if (!this.isLive(id)) return false;
    this.disarm(id);
    this.indexDel(id);
    const o = id << 2;
    const meta = this.keys[o + 3];
    if (meta & M_NOCP && this.noCportCount > 0) this.noCportCount--;
    if (meta & M_AF6) {
      this.poolFreeCell(this.keys[o]);
      this.poolFreeCell(this.keys[o + 1]);
    }
    if (meta & M_DAF6) this.poolFreeCell(this.daddrW[id]);
    this.keys[o + 3] = 0;
    this.tlink[id << 1] = this.freeHead;
    this.freeHead = id;
    this.live--;
    return true;
  }

  /**
   * Changes an indexed entry's ports and re-indexes it ahead of older entries
   * with its key (ip_vs_check_template invalidates a template with
   * `rekey(id, 0, 0xffff, 0xffff)`). Like the kernel, does nothing and
   * returns false for an entry that is not indexed (ONE_PACKET).
   */
  rekey(id: number, cport: number, vport: number, dport: number): boolean {
    if (!this.isLive(id) || !this.indexDel(id)) return false;
    const o = id << 2;
    this.keys[o + 2] = (cport & 0xffff) | ((vport & 0xffff) << 16);
    this.keys[o + 3] = (this.keys[o + 3] & 0xffff) | ((dport & 0xffff) << 16);
    this.indexAdd(id, this.entryHash(id), true);
    return true;
  }

  /**
   * Mirrors ip_vs_conn_fill_cport: gives a NO_CPORT entry its client port
   * (and clears NO_CPORT); the entry is re-indexed ahead of its key's older
   * entries either way. False for an entry that is not indexed.
   */
  fillCport(id: number, cport: number): boolean {
    if (!this.isLive(id) || !this.indexDel(id)) return false;
    const o = id << 2;
    const meta = this.keys[o + 3];
    if (meta & M_NOCP) {
      if (this.noCportCount > 0) this.noCportCount--;
      this.keys[o + 3] = meta & ~M_NOCP;
      this.flags[id] &= ~ConnFlag.NO_CPORT;
      this.keys[o + 2] = (this.keys[o + 2] & 0xffff0000) | (cport & 0xffff);
    }
    this.indexAdd(id, this.entryHash(id), true);
    return true;
  }

  /** One more packet from the client: increments `inPkts` (saturating at 255) and returns it. */
  countInPkt(id: number): number {
    const n = this.inPkts[id];
    if (n < 255) {
      this.inPkts[id] = n + 1;
      return n + 1;
    }
    return n;
  }

  /** Calls `cb` for every live entry in id order (control plane only). `cb` may remove entries. */
  forEach(cb: (id: number) => void): void {
    for (let id = 0; id < this.hw; id++) if (this.keys[(id << 2) + 3] & M_LIVE) cb(id);
  }

  // ---------------------------------------------------------------- lookups

  /**
   * Mirrors ip_vs_conn_in_get: the connection (never a template) of a packet
   * from caddr:cport to vaddr:vport. A client port of 0 matches only entries
   * flagged NO_CPORT and vice versa; when nothing matches and some entry is
   * NO_CPORT, the lookup is repeated with client port 0. -1 when none.
   */
  lookupIn(
    af: number,
    proto: number,
    caddr: Uint32Array,
    cport: number,
    vaddr: Uint32Array,
    vport: number,
  ): number {
    const id = this.findIn(af, proto, caddr, cport, vaddr, vport);
    if (id >= 0 || this.noCportCount === 0 || cport === 0) return id;
    return this.findIn(af, proto, caddr, 0, vaddr, vport);
  }

  private findIn(
    af: number,
    proto: number,
    caddr: Uint32Array,
    cport: number,
    vaddr: Uint32Array,
    vport: number,
  ): number {
    const h = connHash(this.seed, af, proto, caddr, cport);
    const ports = (cport & 0xffff) | ((vport & 0xffff) << 16);
    const want = proto | M_LIVE | (af === 4 ? 0 : M_AF6) | (cport === 0 ? M_NOCP : 0);
    const slots = this.slots;
    const keys = this.keys;
    const mask = this.mask;
    let pos = h & mask;
    let d = 0;
    for (;;) {
      const id = slots[pos << 1];
      if (id < 0) return -1;
      const sh = slots[(pos << 1) + 1];
      if (((pos - sh) & mask) < d) return -1;
      if (sh === h) {
        const o = id << 2;
        if (
          (keys[o + 2] | 0) === ports &&
          (keys[o + 3] & IN_MASK) === want &&
          (af === 4
            ? keys[o] === caddr[0] && keys[o + 1] === vaddr[0]
            : this.cellEquals(keys[o], caddr) && this.cellEquals(keys[o + 1], vaddr))
        )
          return id;
      }
      pos = (pos + 1) & mask;
      d++;
    }
  }

  /**
   * Mirrors ip_vs_ct_in_get: the persistence template (TEMPLATE flag) for
   * client caddr:cport (the kernel uses cport 0) and vaddr:vport. With
   * protocol IPPROTO_IP only word 0 of the virtual address is compared (it
   * holds a firewall mark). Passing a non-zero `fwmark` looks up a firewall-
   * mark service's template as ip_vs_sched_persist does: protocol IPPROTO_IP
   * and the mark in place of the virtual address (`proto` and `vaddr` are then
   * ignored). -1 when none.
   */
  lookupTemplate(
    af: number,
    proto: number,
    caddr: Uint32Array,
    cport: number,
    vaddr: Uint32Array,
    vport: number,
    fwmark: number = 0,
  ): number {
    let p = proto;
    let v0 = vaddr[0];
    if (fwmark !== 0) {
      p = IPPROTO_IP;
      v0 = fwmark >>> 0;
    }
    const h = connHash(this.seed, af, p, caddr, cport);
    const ports = (cport & 0xffff) | ((vport & 0xffff) << 16);
    const want = p | M_LIVE | M_TPL | (af === 4 ? 0 : M_AF6);
    const slots = this.slots;
    const keys = this.keys;
    const mask = this.mask;
    let pos = h & mask;
    let d = 0;
    for (;;) {
      const id = slots[pos << 1];
      if (id < 0) return -1;
      const sh = slots[(pos << 1) + 1];
      if (((pos - sh) & mask) < d) return -1;
      if (sh === h) {
        const o = id << 2;
        if (
          (keys[o + 2] | 0) === ports &&
          (keys[o + 3] & TPL_MASK) === want &&
          (af === 4 ? keys[o] === caddr[0] : this.cellEquals(keys[o], caddr)) &&
          (af === 4
            ? keys[o + 1] === v0
            : p === IPPROTO_IP
              ? this.pool[keys[o + 1] << 2] === v0
              : this.cellEquals(keys[o + 1], vaddr))
        )
          return id;
      }
      pos = (pos + 1) & mask;
      d++;
    }
  }

  /**
   * Mirrors ip_vs_conn_out_get (6.1): the entry of a packet from saddr:sport
   * (a real server, or the virtual address for non-NAT entries) to the client
   * daddr:dport. A NAT (MASQ) entry matches on its destination address and
   * port, any other on its virtual address and port. -1 when none.
   */
  lookupOut(
    af: number,
    proto: number,
    saddr: Uint32Array,
    sport: number,
    daddr: Uint32Array,
    dport: number,
  ): number {
    const h = connHash(this.seed, af, proto, daddr, dport);
    const want = proto | M_LIVE | (af === 4 ? 0 : M_AF6);
    const slots = this.slots;
    const keys = this.keys;
    const mask = this.mask;
    let pos = h & mask;
    let d = 0;
    for (;;) {
      const id = slots[pos << 1];
      if (id < 0) return -1;
      const sh = slots[(pos << 1) + 1];
      if (((pos - sh) & mask) < d) return -1;
      if (sh === h) {
        const o = id << 2;
        const meta = keys[o + 3];
        if (
          (keys[o + 2] & 0xffff) === dport &&
          (meta & OUT_MASK) === want &&
          (af === 4 ? keys[o] === daddr[0] : this.cellEquals(keys[o], daddr)) &&
          (meta & M_MASQ
            ? meta >>> 16 === sport && this.daddrEqualsAs(id, meta, saddr, af)
            : keys[o + 2] >>> 16 === sport &&
              (af === 4 ? keys[o + 1] === saddr[0] : this.cellEquals(keys[o + 1], saddr)))
        )
          return id;
      }
      pos = (pos + 1) & mask;
      d++;
    }
  }

  /** The destination address compared under family `af` (ip_vs_addr_equal(p->af, …)). */
  private daddrEqualsAs(id: number, meta: number, a: Uint32Array, af: number): boolean {
    const w = this.daddrW[id];
    if (!(meta & M_DAF6)) return w === a[0] && (af === 4 || (a[1] | a[2] | a[3]) === 0);
    const o = w << 2;
    const p = this.pool;
    if (af === 4) return p[o] === a[0];
    return p[o] === a[0] && p[o + 1] === a[1] && p[o + 2] === a[2] && p[o + 3] === a[3];
  }

  // ---------------------------------------------------------------- IPv6 pool

  private poolPut(a: Uint32Array, wordZeroOnly: boolean): number {
    let cell = this.poolFree;
    if (cell >= 0) this.poolFree = this.pool[cell << 2] | 0;
    else {
      if ((this.poolHw + 1) << 2 > this.pool.length) this.pool = grownU32(this.pool, this.pool.length * 2);
      cell = this.poolHw++;
    }
    const o = cell << 2;
    const p = this.pool;
    p[o] = a[0];
    p[o + 1] = wordZeroOnly ? 0 : a[1];
    p[o + 2] = wordZeroOnly ? 0 : a[2];
    p[o + 3] = wordZeroOnly ? 0 : a[3];
    return cell;
  }

  private poolFreeCell(cell: number): void {
    this.pool[cell << 2] = this.poolFree;
    this.poolFree = cell;
  }

  // ---------------------------------------------------------------- index

  private entryHash(id: number): number {
    const o = id << 2;
    const keys = this.keys;
    const meta = keys[o + 3];
    const w = keys[o];
    let h: number;
    if (meta & M_AF6) {
      const p = this.pool;
      const c = w << 2;
      h = mixWord(this.seed, p[c]);
      h = mixWord(h, p[c + 1]);
      h = mixWord(h, p[c + 2]);
      h = mixWord(h, p[c + 3]);
    } else h = mixWord(this.seed, w);
    const af = meta & M_AF6 ? 6 : 4;
    return finalMix(mixWord(h, (keys[o + 2] & 0xffff) | ((meta & M_PROTO) << 16) | (af << 24)));
  }

  /**
   * Adds an id to the index. `front`: ahead of the entries with the same home
   * slot (a new or re-keyed entry); otherwise after them (re-hashing keeps
   * the existing order).
   */
  private indexAdd(id: number, h: number, front: boolean): void {
    if (this.indexed >= this.indexLimit) this.growIndex();
    this.indexed++;
    const slots = this.slots;
    const mask = this.mask;
    let pos = h & mask;
    let d = 0;
    for (;;) {
      const o = pos << 1;
      if (slots[o] < 0) {
        slots[o] = id;
        slots[o + 1] = h;
        return;
      }
      const de = (pos - slots[o + 1]) & mask;
      if (front ? de <= d : de < d) break;
      pos = (pos + 1) & mask;
      d++;
    }
    // shift the rest of the run one slot on, keeping its order
    let cid = id;
    let ch = h;
    for (;;) {
      const o = pos << 1;
      const tid = slots[o];
      const th = slots[o + 1];
      slots[o] = cid;
      slots[o + 1] = ch;
      if (tid < 0) return;
      cid = tid;
      ch = th;
      pos = (pos + 1) & mask;
    }
  }

  /** Removes an id from the index (backward-shift deletion). False when it was not indexed. */
  private indexDel(id: number): boolean {
    const h = this.entryHash(id);
    const slots = this.slots;
    const mask = this.mask;
    let pos = h & mask;
    let d = 0;
    for (;;) {
      const o = pos << 1;
      const sid = slots[o];
      if (sid < 0) return false;
      if (((pos - slots[o + 1]) & mask) < d) return false;
      if (sid === id) break;
      pos = (pos + 1) & mask;
      d++;
    }
    for (;;) {
      const nx = (pos + 1) & mask;
      const no = nx << 1;
      const nid = slots[no];
      if (nid < 0 || ((nx - slots[no + 1]) & mask) === 0) {
        slots[pos << 1] = -1;
        break;
      }
      slots[pos << 1] = nid;
      slots[(pos << 1) + 1] = slots[no + 1];
      pos = nx;
    }
    this.indexed--;
    return true;
  }

  private growIndex(): void {
    const old = this.slots;
    const oldMask = this.mask;
    const s = (oldMask + 1) * 2;
    this.slots = new Int32Array(2 * s).fill(-1);
    this.mask = s - 1;
    this.indexLimit = Math.floor(s * MAX_LOAD);
    this.indexed = 0;
    // start after an empty slot so that every run is visited in probe order
    let start = 0;
    while (old[start << 1] >= 0) start++;
    for (let k = 1; k <= oldMask + 1; k++) {
      const o = ((start + k) & oldMask) << 1;
      const id = old[o];
      if (id >= 0) this.indexAdd(id, old[o + 1], false);
    }
  }

  private growEntries(): void {
    const c = this.cap;
    const n = c < DOUBLING_LIMIT ? c * 2 : Math.ceil((c * GROWTH) / 4096) * 4096;
    // the largest columns first, in groups of about the same size, with the release hook between them
    const release = n > RELEASE_FROM ? this.release : null;
    this.keys = grownU32(this.keys, 4 * n);
    release?.();
    this.expires = grownF64(this.expires, n);
    release?.();
    this.tlink = grownI32(this.tlink, 2 * n);
    release?.();
    this.flags = grownU32(this.flags, n);
    this.destId = grownI32(this.destId, n);
    this.control = grownI32(this.control, n);
    release?.();
    this.nControl = grownI32(this.nControl, n);
    this.timeout = grownU32(this.timeout, n);
    this.fwmark = grownU32(this.fwmark, n);
    this.daddrW = grownU32(this.daddrW, n);
    this.state = grownU8(this.state, n);
    this.inPkts = grownU8(this.inPkts, n);
    release?.();
    this.cap = n;
    const w = ConnTable.wheelSizeFor(n);
    if (w !== this.wheel.length) this.regrowWheel(w);
  }

  // ---------------------------------------------------------------- timers

  /**
   * Sets the entry's timer to fire at `expiresMs` (simulated ms), replacing
   * any earlier setting (mod_timer). A time not later than the last `expire`
   * call's clock fires at the next `expire`, or in the running one when
   * called from its callback. A non-finite time disarms.
   */
  arm(id: number, expiresMs: number): void {
    // What every packet does: push a timer filed on the wheel to a later time.
    // It stays filed where it is (re-filed when that slot comes round), so
    // only the cached earliest expiry may need forgetting. This path is kept
    // small so that V8 inlines it into its callers: a double passed to a call
    // that is not inlined is boxed, a heap allocation per packet.
    const tp = this.tlink[(id << 1) + 1];
    const old = this.expires[id];
    if ((tp >= 0 || tp <= HEAD0) && expiresMs >= old && expiresMs < Infinity) {
      if (old === this.nextValue) this.nextValid = false;
      this.expires[id] = expiresMs;
      return;
    }
    this.dueMs[0] = expiresMs; // not an argument: see expire()
    this.armSlow(id);
  }

  private armSlow(id: number): void {
    const expiresMs = this.dueMs[0];
    if (!(expiresMs < Infinity)) {
      this.disarm(id);
      return;
    }
    const tlink = this.tlink;
    const tp = tlink[(id << 1) + 1];
    const old = this.expires[id];
    if (this.nextValid) {
      if (expiresMs < this.nextValue) this.nextValue = expiresMs;
      else if (tp !== T_UNARMED && old === this.nextValue) this.nextValid = false;
    }
    this.expires[id] = expiresMs;
    if (tp === T_UNARMED) {
      this.armed++;
      this.file(id);
    } else if (tp === T_HEAP) {
      const pos = tlink[id << 1];
      const s = Math.floor(expiresMs * this.invSlot);
      if (s <= this.cur) {
        if (expiresMs < old) this.siftUp(pos);
        else this.siftDown(pos);
      } else {
        this.heapRemoveAt(pos);
        this.wheelLink(id, s & this.wmask);
      }
    } else if (expiresMs < old) {
      // possibly earlier than the slot it is filed in: move it
      this.wheelUnlink(id);
      this.file(id);
    }
    // later: it stays filed where it is and is re-filed when that slot comes round
  }

  /** Cancels a pending timer (del_timer): `expires[id]` becomes Infinity. No effect on an entry not armed. */
  disarm(id: number): void {
    const tp = this.tlink[(id << 1) + 1];
    if (tp === T_UNARMED) return;
    if (this.nextValid && this.expires[id] === this.nextValue) this.nextValid = false;
    if (tp === T_HEAP) this.heapRemoveAt(this.tlink[id << 1]);
    else this.wheelUnlink(id);
    this.tlink[id << 1] = -1;
    this.tlink[(id << 1) + 1] = T_UNARMED;
    this.expires[id] = Infinity;
    this.armed--;
  }

  /** Whether the entry's timer is pending (timer_pending). */
  isArmed(id: number): boolean {
    return this.isLive(id) && this.tlink[(id << 1) + 1] !== T_UNARMED;
  }

  /** Number of entries whose timer is pending. */
  get armedCount(): number {
    return this.armed;
  }

  /**
   * Fires every timer due at `nowMs`: calls `onExpire(id)` for each armed
   * entry whose expiry is <= nowMs, earliest first (ties by id), the entry
   * being disarmed just before. The callback may arm, disarm, insert and
   * remove entries; an entry it arms at a time <= nowMs fires in this same
   * call, in order. Not reentrant. Returns the number of callbacks made.
   */
  expire(nowMs: number, onExpire: (id: number) => void): number {
    // nothing due (most calls): kept small so that V8 inlines it; a double
    // passed to a call that is not inlined is boxed, an allocation per packet
    if (
      Math.floor(nowMs * this.invSlot) <= this.cur &&
      (this.heapN === 0 || this.expires[this.heap[0]] > nowMs) &&
      !this.expiring
    )
      return 0;
    // handed over in a typed-array cell, not as an argument: V8 may box a
    // double argument where it computes it, which is on the fast path too
    this.dueMs[0] = nowMs;
    return this.expireDue(onExpire);
  }

  private expireDue(onExpire: (id: number) => void): number {
    const nowMs = this.dueMs[0];
    if (this.expiring) throw new Error('ConnTable.expire called from its own callback');
    this.expiring = true;
    let fired = 0;
    try {
      for (;;) {
        // recomputed every round: a callback that grows the table changes the slot width
        const t = Math.floor(nowMs * this.invSlot);
        if (t <= this.cur) break;
        if (t - this.cur > this.wmask) {
          // the clock jumped by a turn of the wheel or more: one pass over it
          for (let i = 0; i <= this.wmask; i++) this.scanSlot(i, t);
          this.cur = t;
        } else {
          const a = this.cur + 1;
          this.scanSlot(a & this.wmask, a);
          this.cur = a;
        }
        if (this.heapN > 0) fired += this.fireDue(nowMs, onExpire);
      }
      fired += this.fireDue(nowMs, onExpire);
    } finally {
      this.expiring = false;
    }
    if (fired > 0) this.nextValid = false;
    return fired;
  }

  /** The earliest pending expiry, Infinity when no timer is pending. */
  nextExpiry(): number {
    if (this.armed === 0) return Infinity;
    if (!this.nextValid) {
      this.nextValue = this.computeNext();
      this.nextValid = true;
    }
    return this.nextValue;
  }

  private computeNext(): number {
    if (this.heapN > 0) return this.expires[this.heap[0]];
    const wheel = this.wheel;
    const tlink = this.tlink;
    const expires = this.expires;
    const wmask = this.wmask;
    let best = Infinity;
    for (let k = 1; k <= wmask + 1; k++) {
      const a = this.cur + k;
      for (let id = wheel[a & wmask]; id !== -1; id = tlink[id << 1]) {
        const e = expires[id];
        if (e < best) best = e;
      }
      if (best < (a + 1) * this.slotMs) break;
    }
    return best;
  }

  /** Files an armed, unfiled entry by its expires[id]: the heap when its slot has been reached, else the wheel. */
  private file(id: number): void {
    const s = Math.floor(this.expires[id] * this.invSlot);
    if (s <= this.cur) this.heapPush(id);
    else this.wheelLink(id, s & this.wmask);
  }

  /** Moves the entries of wheel list `i` due by slot `limit` to the heap; re-files the ones filed early. */
  private scanSlot(i: number, limit: number): void {
    const tlink = this.tlink;
    let id = this.wheel[i];
    while (id !== -1) {
      const next = tlink[id << 1];
      const s = Math.floor(this.expires[id] * this.invSlot);
      if (s <= limit) {
        this.wheelUnlink(id);
        this.heapPush(id);
      } else if ((s & this.wmask) !== i) {
        this.wheelUnlink(id);
        this.wheelLink(id, s & this.wmask);
      }
      id = next;
    }
  }

  private fireDue(nowMs: number, onExpire: (id: number) => void): number {
    let n = 0;
    while (this.heapN > 0) {
      const id = this.heap[0];
      if (!(this.expires[id] <= nowMs)) break;
      this.heapRemoveAt(0);
      this.tlink[id << 1] = -1;
      this.tlink[(id << 1) + 1] = T_UNARMED;
      this.armed--;
      n++;
      onExpire(id);
    }
    return n;
  }

  private wheelLink(id: number, i: number): void {
    const tlink = this.tlink;
    const h = this.wheel[i];
    tlink[id << 1] = h;
    tlink[(id << 1) + 1] = HEAD0 - i;
    if (h !== -1) tlink[(h << 1) + 1] = id;
    this.wheel[i] = id;
  }

  private wheelUnlink(id: number): void {
    const tlink = this.tlink;
    const p = tlink[(id << 1) + 1];
    const n = tlink[id << 1];
    if (p >= 0) tlink[p << 1] = n;
    else this.wheel[HEAD0 - p] = n;
    if (n !== -1) tlink[(n << 1) + 1] = p;
  }

  /**
   * More wheel slots, each narrower by the same factor: the slot numbering
   * changes, so the current slot is re-expressed (its end time is unchanged)
   * and every wheel entry is re-filed under its own expiry.
   */
  private regrowWheel(w: number): void {
    const old = this.wheel;
    const factor = w / old.length;
    this.wheel = new Int32Array(w).fill(-1);
    this.wmask = w - 1;
    this.slotMs = WHEEL_SPAN_MS / w;
    this.invSlot = 1 / this.slotMs;
    this.cur = (this.cur + 1) * factor - 1;
    for (let i = 0; i < old.length; i++) {
      let id = old[i];
      while (id !== -1) {
        const next = this.tlink[id << 1];
        this.wheelLink(id, Math.floor(this.expires[id] * this.invSlot) & this.wmask);
        id = next;
      }
    }
  }

  private less(a: number, b: number): boolean {
    const ea = this.expires[a];
    const eb = this.expires[b];
    return ea < eb || (ea === eb && a < b);
  }

  private heapPush(id: number): void {
    if (this.heapN === this.heap.length) this.heap = grownI32(this.heap, this.heap.length * 2);
    const pos = this.heapN++;
    this.heap[pos] = id;
    this.tlink[(id << 1) + 1] = T_HEAP;
    this.tlink[id << 1] = pos;
    this.siftUp(pos);
  }

  private heapRemoveAt(pos: number): void {
    const last = --this.heapN;
    if (pos === last) return;
    const moved = this.heap[last];
    this.heap[pos] = moved;
    this.tlink[moved << 1] = pos;
    this.siftUp(pos);
    this.siftDown(this.tlink[moved << 1]);
  }

  private siftUp(pos: number): void {
    const heap = this.heap;
    const tlink = this.tlink;
    const id = heap[pos];
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      const pid = heap[parent];
      if (!this.less(id, pid)) break;
      heap[pos] = pid;
      tlink[pid << 1] = pos;
      pos = parent;
    }
    heap[pos] = id;
    tlink[id << 1] = pos;
  }

  private siftDown(pos: number): void {
    const heap = this.heap;
    const tlink = this.tlink;
    const n = this.heapN;
    const id = heap[pos];
    for (;;) {
      let c = 2 * pos + 1;
      if (c >= n) break;
      if (c + 1 < n && this.less(heap[c + 1], heap[c])) c++;
      const cid = heap[c];
      if (!this.less(cid, id)) break;
      heap[pos] = cid;
      tlink[cid << 1] = pos;
      pos = c;
    }
    heap[pos] = id;
    tlink[id << 1] = pos;
  }
}
