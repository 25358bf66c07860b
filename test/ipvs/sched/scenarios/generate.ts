/**
 * Generates the extra oracle scenarios of the scheduler tests (setup,
 * DESCRIPTION, client.pcap), for rules the shared scenarios do not cover:
 * the overhead formula, wrr/rr/sh/dh/mh after ipvsadm -e/-d/-a, mh-fallback,
 * lblc with a deleted cached server and lblcr's set shrinking.
 *
 *   npx tsx test/ipvs/sched/scenarios/generate.ts            # write inputs
 *   /work/shared/oracle/examples.sh update test/ipvs/sched/scenarios NAME
 *
 * Frames are 0.1 s apart (the oracle needs ~60 ms per frame in real time, so
 * the timestamps stay ahead of the guest's clock) unless a gap is wanted.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientScript, writePcap } from '../pcap_gen.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROUTER_MAC = '02:00:00:00:0e:01';
const CLIENT_IF_MAC = '02:00:00:00:01:01';
const STEP = 0.1;

export interface Spec {
  name: string;
  description: string;
  setup: string[];
  script: ClientScript;
}

/** The interfaces, addresses and routes every scenario here starts with. */
function base(net: number, vips: string[], dr = true): string[] {
  return [
    `ip link set client address ${CLIENT_IF_MAC}`,
    `ip addr add 172.16.${net}.1/24 dev client`,
    ...vips.map((v) => `ip addr add ${v}/32 dev client`),
    'ip link set server address 02:00:00:00:02:01',
    `ip addr add 10.${net}.0.1/24 dev server`,
    `ip neigh add 172.16.${net}.254 lladdr ${ROUTER_MAC} dev client`,
    `ip route add default via 172.16.${net}.254 dev client`,
    ...(dr ? [] : ['sysctl -w net.ipv4.ip_forward=1']),
  ];
}

function rs(net: number, host: number, vip: string, weight: number, extra = ''): string[] {
  const mac = `02:00:00:00:0d:${host.toString(16).padStart(2, '0')}`;
  return [
    `ip neigh add 10.${net}.0.${host} lladdr ${mac} dev server`,
    `ipvsadm -a -t ${vip}:80 -r 10.${net}.0.${host}:80 -g -w ${weight}${extra}`,
  ];
}

/** A deterministic client address/port for connection number i. */
function client(i: number): string {
  const nets = ['192.0.2', '198.51.100', '203.0.113', '100.64.7'];
  const a = `${nets[i % 4]}.${(17 + i * 37) % 250}`;
  return `${a}:${(20000 + i * 997) % 60000}`;
}

/** Time (s after the first frame) just before frame `n` (0-based) when frames are STEP apart. */
function at(n: number): string {
  return (n * STEP - STEP / 2).toFixed(3);
}

function wlcOverhead(): Spec {
  const vip = '10.41.0.100';
  const s = new ClientScript(ROUTER_MAC, CLIENT_IF_MAC);
  const c = (i: number) => client(i);
  const v = `${vip}:80`;
  s.syn(c(1), v, STEP).ack(c(1), v, STEP).fin(c(1), v, STEP); // .12: 1 inactive
  s.syn(c(2), v, STEP); // .11: 1 active
  s.syn(c(3), v, STEP); // the deciding pick
  for (let i = 4; i < 12; i++) s.syn(c(i), v, STEP);
  return {
    name: 'sched-wlc-overhead',
    description: `LVS-DR, wlc with weights 257 (.11) and 1 (.12, added last, so first in the list).
One connection to .12 completes (1 inactive), one SYN goes to .11 (1 active).
The next SYN decides the load formula: with overhead = active*256 + inactive,
.11 is 256/257 < .12 1/1 and wins; with active*256 + active+inactive both are
1 and the tie goes to .12. Then 8 more SYNs.`,
    setup: [
      '# LVS-DR, wlc: which connection counts ip_vs_dest_conn_overhead() uses',
      ...base(41, [vip]),
      `ipvsadm -A -t ${vip}:80 -s wlc`,
      ...rs(41, 11, vip, 257),
      ...rs(41, 12, vip, 1),
    ],
    script: s,
  };
}

function wrrChanges(): Spec {
  const vip = '10.42.0.100';
  const v = `${vip}:80`;
  const s = new ClientScript(ROUTER_MAC, CLIENT_IF_MAC);
  for (let i = 0; i < 48; i++) s.syn(client(100 + i), v, STEP);
  return {
    name: 'sched-wrr-changes',
    description: `LVS-DR, wrr with weights 4, 6, 2 (gcd 2) on .11 .12 .13 (added in that order).
48 SYNs; before SYN 12 .12's weight becomes 3 (gcd 1), before SYN 22 .11 is
deleted, before SYN 30 .14 is added with weight 8, before SYN 40 .13 gets
weight 0. Each change restarts the walk at the list head and adjusts cw
(ip_vs_wrr_dest_changed).`,
    setup: [
      '# LVS-DR, wrr: weight edits, deletion and addition mid-run',
      ...base(42, [vip]),
      `ipvsadm -A -t ${vip}:80 -s wrr`,
      ...rs(42, 11, vip, 4),
      ...rs(42, 12, vip, 6),
      ...rs(42, 13, vip, 2),
      'ip neigh add 10.42.0.14 lladdr 02:00:00:00:0d:0e dev server',
      '',
      `@${at(12)} ipvsadm -e -t ${v} -r 10.42.0.12:80 -g -w 3`,
      `@${at(22)} ipvsadm -d -t ${v} -r 10.42.0.11:80`,
      `@${at(30)} ipvsadm -a -t ${v} -r 10.42.0.14:80 -g -w 8`,
      `@${at(40)} ipvsadm -e -t ${v} -r 10.42.0.13:80 -g -w 0`,
    ],
    script: s,
  };
}

function rrDelete(): Spec {
  const vip = '10.43.0.100';
  const v = `${vip}:80`;
  const s = new ClientScript(ROUTER_MAC, CLIENT_IF_MAC);
  for (let i = 0; i < 30; i++) s.syn(client(200 + i), v, STEP);
  return {
    name: 'sched-rr-changes',
    description: `LVS-DR, rr over .11 .12 .13 .14 (added in that order, so the list is .14 .13
.12 .11). 30 SYNs; before SYN 6 .13 (the server picked last) is deleted, so
the walk continues from the server before it (ip_vs_rr_del_dest); before
SYN 13 .15 is added (at the head of the list); before SYN 20 .12 gets
weight 0; before SYN 25 .13 is added again.`,
    setup: [
      '# LVS-DR, rr: deleting the current server, adding, quiescing',
      ...base(43, [vip]),
      `ipvsadm -A -t ${vip}:80 -s rr`,
      ...rs(43, 11, vip, 1),
      ...rs(43, 12, vip, 1),
      ...rs(43, 13, vip, 1),
      ...rs(43, 14, vip, 1),
      'ip neigh add 10.43.0.15 lladdr 02:00:00:00:0d:0f dev server',
      '',
      `@${at(6)} ipvsadm -d -t ${v} -r 10.43.0.13:80`,
      `@${at(13)} ipvsadm -a -t ${v} -r 10.43.0.15:80 -g -w 1`,
      `@${at(20)} ipvsadm -e -t ${v} -r 10.43.0.12:80 -g -w 0`,
      `@${at(25)} ipvsadm -a -t ${v} -r 10.43.0.13:80 -g -w 2`,
    ],
    script: s,
  };
}

function mhFallback(): Spec {
  const vip = '10.44.0.100';
  const v = `${vip}:80`;
  const s = new ClientScript(ROUTER_MAC, CLIENT_IF_MAC);
  // the same 12 client addresses come back in every phase (new ports)
  let n = 0;
  for (let phase = 0; phase < 4; phase++)
    for (let i = 0; i < 12; i++) {
      const [a] = client(300 + i).split(':');
      s.syn(`${a}:${30000 + n++}`, v, STEP);
    }
  return {
    name: 'sched-mh-fallback',
    description: `LVS-DR, mh with -b mh-fallback over .11 .12 .13 .14 (weights 1, 2, 3, 1).
The same 12 client addresses connect in four phases of 12 SYNs: as set up;
after .13 gets weight 0 (it keeps its table entries, its clients fall back
by rehashing); after .12 is deleted (table rebuilt without it); after .12
is added again with weight 4.`,
    setup: [
      '# LVS-DR, mh mh-fallback: quiesced, deleted and re-added servers',
      ...base(44, [vip]),
      `ipvsadm -A -t ${vip}:80 -s mh -b mh-fallback`,
      ...rs(44, 11, vip, 1),
      ...rs(44, 12, vip, 2),
      ...rs(44, 13, vip, 3),
      ...rs(44, 14, vip, 1),
      '',
      `@${at(12)} ipvsadm -e -t ${v} -r 10.44.0.13:80 -g -w 0`,
      `@${at(24)} ipvsadm -d -t ${v} -r 10.44.0.12:80`,
      `@${at(36)} ipvsadm -a -t ${v} -r 10.44.0.12:80 -g -w 4`,
    ],
    script: s,
  };
}

function hashChanges(): Spec {
  const vipSh = '10.45.0.100';
  const vipDh = ['10.45.0.101', '10.45.0.102', '10.45.0.103', '10.45.0.104', '10.45.0.105', '10.45.0.106'];
  const s = new ClientScript(ROUTER_MAC, CLIENT_IF_MAC);
  let n = 0;
  for (let phase = 0; phase < 3; phase++) {
    for (let i = 0; i < 10; i++) {
      const [a] = client(400 + i).split(':');
      s.syn(`${a}:${40000 + n++}`, `${vipSh}:80`, STEP);
    }
    for (let i = 0; i < vipDh.length; i++) s.syn(client(500 + n++), `${vipDh[i]}:80`, STEP);
  }
  const setup = [
    '# LVS-DR, sh and dh tables after weight edits, additions and deletions',
    ...base(45, [vipSh, ...vipDh]),
    `ipvsadm -A -t ${vipSh}:80 -s sh`,
    ...rs(45, 11, vipSh, 1),
    ...rs(45, 12, vipSh, 2),
    ...rs(45, 13, vipSh, 1),
  ];
  for (const h of [21, 22, 23, 24])
    setup.push(`ip neigh add 10.45.0.${h} lladdr 02:00:00:00:0d:${h.toString(16)} dev server`);
  for (const v of vipDh) {
    setup.push(`ipvsadm -A -t ${v}:80 -s dh`);
    for (const h of [21, 22, 23]) setup.push(`ipvsadm -a -t ${v}:80 -r 10.45.0.${h}:80 -g -w 1`);
  }
  setup.push('');
  const per = 10 + vipDh.length;
  setup.push(`@${at(per)} ipvsadm -e -t ${vipSh}:80 -r 10.45.0.12:80 -g -w 5`);
  for (const v of vipDh) setup.push(`@${at(per)} ipvsadm -a -t ${v}:80 -r 10.45.0.24:80 -g -w 1`);
  setup.push(`@${at(2 * per)} ipvsadm -d -t ${vipSh}:80 -r 10.45.0.11:80`);
  for (const v of vipDh) setup.push(`@${at(2 * per)} ipvsadm -d -t ${v}:80 -r 10.45.0.22:80`);
  return {
    name: 'sched-hash-changes',
    description: `LVS-DR: one sh service (.11 .12 .13, weights 1, 2, 1) and six dh services on
other VIPs (.21 .22 .23 each). Three phases of 10 sh SYNs (the same 10 client
addresses each time) and one SYN per dh VIP: as set up; after .12's sh weight
becomes 5 and .24 joins every dh service; after .11 leaves the sh service and
.22 every dh service. sh rebuilds its buckets on edits, dh only on
additions and deletions.`,
    setup,
    script: s,
  };
}

function lblcDelete(): Spec {
  const vip = '10.46.0.100';
  const v = `${vip}:80`;
  const s = new ClientScript(ROUTER_MAC, CLIENT_IF_MAC);
  for (let i = 0; i < 8; i++) s.syn(client(600 + i), v, STEP).ack(client(600 + i), v, STEP);
  for (let i = 8; i < 14; i++) s.syn(client(600 + i), v, STEP);
  for (let i = 14; i < 20; i++) s.syn(client(600 + i), v, STEP);
  return {
    name: 'sched-lblc-changes',
    description: `LVS-DR, lblc over .11 .12 .13 (weights 2, 3, 4), one VIP. 8 established
connections (the cached server .13 becomes overloaded in lblc's sense and the
entry moves to .12), then before frame 16 .12 is deleted (the entry points to
an unavailable server: a new wlc pick), 6 SYNs, then before frame 22 .12
returns (from the trash, with its counters) with weight 1 and the cached .11
is quiesced, 6 SYNs.`,
    setup: [
      '# LVS-DR, lblc: cached server deleted, re-added, quiesced',
      ...base(46, [vip]),
      `ipvsadm -A -t ${vip}:80 -s lblc`,
      ...rs(46, 11, vip, 2),
      ...rs(46, 12, vip, 3),
      ...rs(46, 13, vip, 4),
      '',
      `@${at(16)} ipvsadm -d -t ${v} -r 10.46.0.12:80`,
      `@${at(22)} ipvsadm -a -t ${v} -r 10.46.0.12:80 -g -w 1`,
      `@${at(22)} ipvsadm -e -t ${v} -r 10.46.0.11:80 -g -w 0`,
    ],
    script: s,
  };
}

function lblcrExpire(): Spec {
  const vip = '10.47.0.100';
  const v = `${vip}:80`;
  const s = new ClientScript(ROUTER_MAC, CLIENT_IF_MAC);
  // grow the set: established connections make the member overloaded in lblcr's sense
  for (let i = 0; i < 7; i++) s.syn(client(700 + i), v, STEP).ack(client(700 + i), v, STEP);
  s.wait(4);
  // the set has not changed for more than lblcr_expiration: its most loaded member goes
  for (let i = 7; i < 10; i++) s.syn(client(700 + i), v, STEP);
  s.wait(4);
  for (let i = 10; i < 13; i++) s.syn(client(700 + i), v, STEP);
  return {
    name: 'sched-lblcr-expire',
    description: `LVS-DR, lblcr over .11 .12 .13 (weights 1, 1, 2) with lblcr_expiration = 2 s.
7 established connections grow the VIP's server set; after a 4 s pause the
next SYN finds the set unchanged for longer than lblcr_expiration and drops
its most loaded member first; 3 SYNs, another 4 s pause, 3 SYNs.`,
    setup: [
      '# LVS-DR, lblcr: the server set shrinks after lblcr_expiration',
      '#oracle: timing=1',
      ...base(47, [vip]),
      `ipvsadm -A -t ${vip}:80 -s lblcr`,
      'sysctl -w net.ipv4.vs.lblcr_expiration=2',
      ...rs(47, 11, vip, 1),
      ...rs(47, 12, vip, 1),
      ...rs(47, 13, vip, 2),
    ],
    script: s,
  };
}

export const SPECS: (() => Spec)[] = [
  wlcOverhead,
  wrrChanges,
  rrDelete,
  mhFallback,
  hashChanges,
  lblcDelete,
  lblcrExpire,
];

/** Scenario names, for the tests. */
export const GENERATED_SCENARIOS: string[] = SPECS.map((f) => f().name);

function main(): void {
  for (const f of SPECS) {
    const sp = f();
    const dir = path.join(here, sp.name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'setup'), sp.setup.join('\n') + '\n');
    writeFileSync(path.join(dir, 'DESCRIPTION'), sp.description + '\n');
    writePcap(path.join(dir, 'client.pcap'), sp.script.frames);
    console.log(`${sp.name}: ${sp.script.frames.length} frames`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main();
