/**
 * Generates docs/schedulers.md: each scheduler's rule in words, what it is
 * good for, and example sequences computed by the schedulers themselves (so
 * the document cannot drift from the code: docs.test.ts regenerates it and
 * compares).
 *
 *   npx tsx test/ipvs/sched/docs.ts --write     # rewrite docs/schedulers.md
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import type { Dest } from '../../../src/ipvs/service.js';
import { SH_PORT } from '../../../src/ipvs/sched/sh.js';
import { MH_FALLBACK } from '../../../src/ipvs/sched/mh.js';
import { Lab } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const DOC_FILE = path.resolve(here, '../../../docs/schedulers.md');

const oct = (d: Dest | null) => (d ? `.${d.addr.w0 & 255}` : '-');

/** "list order: .14 (w 3), .13 (w 0), ..." */
function listing(l: Lab): string {
  return l.svc.dests.map((d) => `.${d.addr.w0 & 255} (w ${d.weight})`).join(', ');
}

function lab(sched: string, weights: number[], flags = 0, seed = 1): Lab {
  const l = new Lab({ seed });
  l.service(sched, flags);
  weights.forEach((w, i) => l.add(`10.0.0.${11 + i}`, w));
  return l;
}

/** n picks, each new connection bound as active (ActiveConn + 1). */
function boundPicks(l: Lab, n: number): string {
  return l.sequence(n, true).join(' ');
}

function block(lines: string[]): string {
  return ['```', ...lines, '```'].join('\n');
}

function counters(l: Lab): string {
  return l.svc.dests.map((d) => `.${d.addr.w0 & 255} ${d.activeConns}`).join(', ');
}

/** Maglev disruption: fraction of flows that change server when one of n equal servers is removed. */
export function mhDisruption(
  n: number,
  flows: number,
): { ownClientsMoved: number; othersMovedMean: number; othersMovedWorst: number } {
  // client addresses spread over the whole space (a multiplicative hash of the flow number)
  const src = (k: number) => (Math.imul(k + 1, 2654435761) ^ Math.imul(k, 40503)) >>> 0;
  const pickOf = (l: Lab, k: number): Dest | null => {
    const f = l.flow;
    f.af = 4;
    f.protocol = 6;
    f.saddr[0] = src(k);
    f.daddr[0] = l.svc.addr.w0;
    f.sport = 1;
    f.dport = 80;
    return l.svc.sched ? l.svc.sched.schedule(l.svc, f, null) : null;
  };
  let worst = 0;
  let sum = 0;
  let own = 1;
  for (let victim = 0; victim < n; victim++) {
    const l = new Lab();
    l.service('mh');
    for (let i = 0; i < n; i++) l.add(`10.1.0.${i + 1}`, 1);
    const before: (Dest | null)[] = [];
    for (let k = 0; k < flows; k++) before.push(pickOf(l, k));
    const gone = l.dest(`10.1.0.${victim + 1}`);
    l.del(`10.1.0.${victim + 1}`);
    let moved = 0;
    let others = 0;
    let ownTotal = 0;
    let ownMoved = 0;
    for (let k = 0; k < flows; k++) {
      const now = pickOf(l, k);
      if (before[k] === gone) {
        ownTotal++;
        if (now !== gone) ownMoved++;
        continue;
      }
      others++;
      if (now !== before[k]) moved++;
    }
    own = Math.min(own, ownTotal ? ownMoved / ownTotal : 1);
    const f = moved / others;
    sum += f;
    worst = Math.max(worst, f);
  }
  return { ownClientsMoved: own, othersMovedMean: sum / n, othersMovedWorst: worst };
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)} %`;
}

interface Section {
  name: string;
  title: string;
  rule: string;
  goodFor: string;
  example: () => string;
}

const SECTIONS: Section[] = [
  {
    name: 'rr',
    title: 'Round robin',
    rule: 'Walk the list from the server picked last (at the start: the head), wrapping around once, and take the next server that has weight > 0 and is not overloaded. Weights are otherwise ignored. A new server goes to the head of the list, so it is reached after the next wrap; deleting the server the walk stands on moves the walk back to the server before it.',
    goodFor: 'Identical servers and short, similar requests.',
    example: () => {
      const l = lab('rr', [1, 2, 0, 3]);
      return block([`list order: ${listing(l)}`, `picks: ${l.sequence(8).join(' ')}`]);
    },
  },
  {
    name: 'wrr',
    title: 'Weighted round robin',
    rule: 'Passes over the list with a current weight cw: a pass takes, in list order, every server (not overloaded) whose weight is at least cw; at the end of the list cw drops by the gcd of the weights and, at 0, wraps to the largest weight (minus gcd - 1). Over a full cycle every server gets exactly weight/gcd picks. Any `ipvsadm -a/-e/-d` restarts the walk at the head and keeps cw on the gcd grid, so right after the servers are added the first pass is a weight >= 1 pass over everybody.',
    goodFor:
      'Servers of different capacity with short connections, when a predictable interleaving is wanted.',
    example: () => {
      const l = lab('wrr', [4, 3, 2, 1, 0]);
      return block([`list order: ${listing(l)}`, `picks: ${l.sequence(14).join(' ')}`]);
    },
  },
  {
    name: 'lc',
    title: 'Least connection',
    rule: 'The server with the smallest overhead `active * 256 + (active + inactive)` among those with weight != 0 that are not overloaded; ties go to the first in list order (the newest server). Weights are otherwise ignored.',
    goodFor: 'Identical servers with connections of very different lengths.',
    example: () => {
      const l = lab('lc', [1, 5, 2]);
      const first = boundPicks(l, 6);
      return block([
        `list order: ${listing(l)}`,
        `6 picks, each connection staying active: ${first}`,
        `active connections then: ${counters(l)}`,
      ]);
    },
  },
  {
    name: 'wlc',
    title: 'Weighted least connection (the default)',
    rule: 'The server with the smallest overhead / weight (same overhead as lc), compared exactly as the kernel does in 64-bit integers (`overheadA * weightB` against `overheadB * weightA`); weight-0 and overloaded servers are skipped; ties go to the first in list order.',
    goodFor:
      'The general case: servers of different capacity, connections of different lengths. ipvsadm uses it when `-s` is omitted.',
    example: () => {
      const l = lab('wlc', [1, 2, 3]);
      const seq = boundPicks(l, 12);
      return block([
        `list order: ${listing(l)}`,
        `12 picks, connections staying active: ${seq}`,
        `active connections then: ${counters(l)}`,
      ]);
    },
  },
  {
    name: 'sed',
    title: 'Shortest expected delay',
    rule: 'As wlc, but the load of a server is `active + 1` (the new connection included; inactive connections ignored): the smallest (active + 1) / weight, first in list order on ties.',
    goodFor:
      'Servers of very different speed: a fast server takes the next job even when it already has more connections.',
    example: () => {
      const l = lab('sed', [1, 3]);
      return block([`list order: ${listing(l)}`, `8 picks, connections staying active: ${boundPicks(l, 8)}`]);
    },
  },
  {
    name: 'nq',
    title: 'Never queue',
    rule: 'The first server in list order with no active connection (weight > 0, not overloaded); when every server is busy, the sed rule.',
    goodFor: 'Making sure idle servers are used before anyone queues; otherwise as sed.',
    example: () => {
      const l = lab('nq', [1, 3]);
      return block([`list order: ${listing(l)}`, `8 picks, connections staying active: ${boundPicks(l, 8)}`]);
    },
  },
  {
    name: 'fo',
    title: 'Weighted failover',
    rule: 'The server with the highest weight among those not overloaded; ties go to the first in list order. Connection counts matter only through the overload flag (`-x`/`-y` thresholds).',
    goodFor:
      'Active/standby setups: all traffic to the preferred server, the next one only when it is quiesced, deleted or over its `-x` threshold.',
    example: () => {
      const l = new Lab();
      l.service('fo');
      l.add('10.0.0.11', 10);
      l.add('10.0.0.12', 30, 3);
      l.add('10.0.0.13', 20);
      return block([
        `list order: ${listing(l)} (.12 with -x 3)`,
        `6 picks, connections staying open: ${boundPicks(l, 6)}`,
      ]);
    },
  },
  {
    name: 'ovf',
    title: 'Weighted overflow',
    rule: 'Skip servers that are overloaded, quiesced, or have more active connections than their weight; of the rest, the highest weight, first in list order on ties.',
    goodFor:
      'Filling servers one after the other up to a fixed number of active connections each (the weight).',
    example: () => {
      const l = lab('ovf', [3, 2, 4]);
      return block([
        `list order: ${listing(l)}`,
        `13 picks, connections staying active: ${boundPicks(l, 13)}`,
      ]);
    },
  },
  {
    name: 'lblc',
    title: 'Locality-based least connection',
    rule: "A cache maps each destination address to a server. The cached server is used while it is still in the service, has weight > 0 and is not overloaded in lblc's sense: more active connections than its weight while some server has fewer than half its weight. Otherwise the wlc pick over all servers is used and cached. Every 60 s a garbage collector runs: above 16384 entries it removes entries unused for 6 minutes; every 30th run it removes entries unused for `lblc_expiration` (24 h). The simulator replays these runs on simulated time as an ideal timer, exactly every 60 s from the service's creation (the kernel's timer wheel can fire a run a second or two late).",
    goodFor:
      'Cache clusters (web proxies) where the same destination should keep hitting the same cache, with a fwmark service covering many destination addresses.',
    example: () => {
      const l = lab('lblc', [2, 3, 1]);
      return block([
        `list order: ${listing(l)}; one destination address`,
        `12 picks, connections staying active: ${boundPicks(l, 12)}`,
      ]);
    },
  },
  {
    name: 'lblcr',
    title: 'Locality-based least connection with replication',
    rule: "As lblc, but a destination address maps to a set of servers: the set's least loaded member (per weight) is used unless it is overloaded in lblc's sense; then the wlc pick over all servers is used and added to the set. A set with more than one member that has not changed for `lblcr_expiration` (24 h) loses its most loaded member.",
    goodFor: 'Cache clusters where a popular destination needs more than one cache.',
    example: () => {
      const l = lab('lblcr', [1, 1, 2]);
      return block([
        `list order: ${listing(l)}; one destination address`,
        `12 picks, connections staying active: ${boundPicks(l, 12)}`,
      ]);
    },
  },
  {
    name: 'dh',
    title: 'Destination hashing',
    rule: 'A 256-bucket table dealt round robin over the list (weights ignored), rebuilt when a server is added or deleted. A connection goes to the owner of bucket `hash_32(destination address, 8)`; if that server is quiesced or overloaded there is no destination (no fallback).',
    goodFor: 'Static partitioning of destinations over caches or firewalls (fwmark services).',
    example: () => {
      const l = lab('dh', [1, 1, 1]);
      const vips = ['10.0.9.1', '10.0.9.2', '10.0.9.3', '10.0.9.4', '10.0.9.5', '10.0.9.6'];
      return block([
        `list order: ${listing(l)}`,
        ...vips.map((v) => `destination ${v} -> ${oct(l.pickDest('192.0.2.1:1000', 0, v))} (any client)`),
      ]);
    },
  },
  {
    name: 'sh',
    title: 'Source hashing',
    rule: 'A 256-bucket table dealt from the list head, each server taking `weight` consecutive buckets per round (a weight-0 server still takes one), rebuilt on every add, edit and delete. A connection goes to the owner of bucket `hash_32(source address [+ source port with sh-port], 8)`; a quiesced or overloaded owner means no destination, unless `sh-fallback` is set: then further buckets are tried by adding an offset.',
    goodFor:
      "Client affinity without a persistence template (`sh-port` spreads one client's connections by port).",
    example: () => {
      const l = lab('sh', [1, 2, 0]);
      const p = lab('sh', [1, 2, 3], SH_PORT);
      const clients = [
        '192.0.2.10',
        '192.0.2.11',
        '198.51.100.7',
        '203.0.113.99',
        '100.64.1.1',
        '192.0.2.10',
      ];
      return block([
        `list order: ${listing(l)}`,
        ...clients.map((c, i) => `client ${c}:${40000 + i} -> ${oct(l.pickDest(`${c}:${40000 + i}`))}`),
        `with -b sh-port (${listing(p)}), client 192.0.2.10 on ports 40000..40007: ${[0, 1, 2, 3, 4, 5, 6, 7].map((i) => oct(p.pickDest(`192.0.2.10:${40000 + i}`))).join(' ')}`,
      ]);
    },
  },
  {
    name: 'mh',
    title: 'Maglev hashing',
    rule: 'A 4093-entry lookup table (another prime from 251 to 131071 when built with a different `CONFIG_IP_VS_MH_TAB_INDEX`) filled the Maglev way: every server walks its own permutation of the entries (offset and skip from `hsiphash` of its address and port with fixed keys) and the servers take turns claiming free entries, `weight / gcd` turns each (scaled to fit 6 bits). A connection goes to entry `hsiphash(source address [+ port with mh-port]) % 4093`. A quiesced server keeps its entries (its clients get no destination, or another server with `mh-fallback`); a server added with weight 0 gets none. The table is rebuilt on every add, edit and delete.',
    goodFor:
      'Consistent hashing: when a server leaves, only its own clients move (plus very few others), and several directors with the same servers agree on the mapping.',
    example: () => {
      const l = lab('mh', [1, 2, 3, 0]);
      const t = (l.svc.schedData as { lookup: (Dest | null)[] }).lookup;
      const counts = l.svc.dests.map((d) => `${oct(d)} ${t.filter((x) => x === d).length}`).join(', ');
      const f = lab('mh', [1, 2, 3], MH_FALLBACK);
      const clients = [
        '192.0.2.10',
        '192.0.2.11',
        '198.51.100.7',
        '203.0.113.99',
        '100.64.1.1',
        '100.64.1.2',
      ];
      const before = clients.map((c) => oct(f.pickDest(`${c}:1`)));
      f.edit('10.0.0.13', 0);
      const after = clients.map((c) => oct(f.pickDest(`${c}:1`)));
      const rows = [5, 10, 20].map((n) => {
        const r = mhDisruption(n, 20000);
        return `${n} servers: others moved ${pct(r.othersMovedMean)} on average, ${pct(r.othersMovedWorst)} at worst; the removed server's clients: ${pct(r.ownClientsMoved)} moved`;
      });
      return [
        block([
          `list order: ${listing(l)}`,
          `table entries per server: ${counts}`,
          ...clients.map((c) => `client ${c} -> ${oct(l.pickDest(`${c}:1`))}`),
          `with -b mh-fallback, same clients: ${before.join(' ')}; after .13 gets weight 0: ${after.join(' ')}`,
        ]),
        '',
        'Disruption when one of N equal servers is deleted (20000 client addresses, every server removed in turn; measured by the test suite):',
        '',
        block(rows),
      ].join('\n');
    },
  },
  {
    name: 'twos',
    title: 'Power of two choices',
    rule: "Draw two servers at random in proportion to their weights (weight > 0, not overloaded; two draws r = random % (total weight + 1), each selecting the first server at which the running weight sum reaches r) and keep the second only if it is strictly less loaded per weight than the first. The random numbers come from the replay's seeded generator (`--seed`), so a replay is reproducible.",
    goodFor:
      'Large pools where checking every server is not worth it; close to least-connection balance at constant cost.',
    example: () => {
      const l = lab('twos', [1, 2, 3], 0, 1);
      return block([
        `list order: ${listing(l)}, seed 1`,
        `12 picks, connections staying active: ${boundPicks(l, 12)}`,
      ]);
    },
  },
];

const INTRO = `# Schedulers

ipvs-sim has the 14 schedulers of Linux 6.1, selected by their ipvsadm name
(\`ipvsadm -A ... -s NAME\`), one file each in \`src/ipvs/sched/\`. Each makes
exactly the decision the kernel makes (\`net/netfilter/ipvs/ip_vs_NAME.c\`,
checked against a real 6.1 kernel: \`test/ipvs/sched/oracle.test.ts\`).

Terms used below:

- **List order.** \`ipvsadm -a\` puts a new real server at the *head* of the
  service's list, so "first in list order" means the most recently added
  server. \`ipvsadm -Ln\` sorts its output; that is not the scheduling order.
- **Usable.** A server with weight 0 (quiesced) or flagged overloaded (its
  active + inactive connections reached \`-x\`, until they fall below \`-y\`, or
  3/4 of \`-x\`) gets no new connections from any scheduler.
- **Overhead.** \`active * 256 + (active + inactive)\`, what lc, wlc, lblc,
  lblcr and twos compare. Upstream sources write \`active * 256 + inactive\`;
  the 6.1 kernel the oracle runs (Debian 6.1.192) behaves as written here
  (scenario \`sched-wlc-overhead\`).
- **Speed.** The kernel scans the whole list on every new connection. The
  load-based schedulers here keep an index ordered with the kernel's
  tie-break (a tournament tree updated when a counter changes), rr/wrr a max
  tree, twos a Fenwick tree, so a pick does not depend on the number of
  servers while the decision stays the kernel's.

The examples are produced by the code (\`test/ipvs/sched/docs.ts\`; the test
suite regenerates them and compares). Servers are \`10.0.0.11\`, \`.12\`, ...
added in that order; "connections staying active" means each picked
connection is counted as active before the next pick, as an established TCP
connection would be.
`;

const OUTRO = `## Details settled against the real kernel

Points the upstream sources or the project's notes left open, and the
oracle scenarios that settle them (\`test/oracle/scenarios\`, and the
scheduler's own in \`test/ipvs/sched/scenarios\`, made with the oracle
harness; every decision of all of them is replayed by
\`test/ipvs/sched/oracle.test.ts\`):

- **Overhead** is \`active * 256 + active + inactive\` on the oracle's kernel
  (\`sched-wlc-overhead\`); none of the other scenarios can tell the two
  formulas apart.
- **dh** buckets are \`hash_32(ntohl(daddr), 8)\` (6.1 uses hash_32, not the
  older multiply-and-mask): \`sched-dh\`, \`sched-hash-changes\`.
- **sh** buckets are \`hash_32(ntohl(saddr) + ntohs(sport), 8)\` with the
  port only for \`sh-port\`; the fallback tries \`(2h + k) & 255\`:
  \`sched-sh\`, \`sched-sh-port\`, \`sched-sh-fallback\`, \`tun-sh\`,
  \`sched-hash-changes\` (an edit rebuilds the buckets).
- **mh** hashes with SipHash-1-3 over the four little-endian bytes of the
  u32 \`offset + port + address\`, truncated to 32 bits, keys
  {2654435761, 2654435761} and {2654446892, 2654446892}: \`sched-mh\`,
  \`sched-mh-port\`, \`sched-mh-fallback\` (quiesced, deleted and re-added
  servers).
- **wrr** after \`-e/-d/-a\` (cw rounding to the gcd grid),
  **rr** after deleting the server the walk stands on, **lblc** with a
  deleted then re-added cached server, **lblcr** dropping its most loaded
  member after \`lblcr_expiration\`: \`sched-wrr-changes\`,
  \`sched-rr-changes\`, \`sched-lblc-changes\`, \`sched-lblcr-expire\`.
- **Overload**: set when active + inactive reaches \`-x\` as a connection is
  bound; cleared when a connection is freed and the total is below \`-y\`
  (or, without \`-y\`, when total * 4 < \`-x\` * 3): \`thresholds\`,
  \`sched-fo\`.
`;

/** The document, unformatted. */
export function generateSchedulerDocsRaw(): string {
  const parts = [INTRO];
  for (const s of SECTIONS) {
    parts.push(`## ${s.name} — ${s.title}\n`);
    parts.push(`**Rule.** ${s.rule}\n`);
    parts.push(`**Good for.** ${s.goodFor}\n`);
    parts.push(`**Example.**\n\n${s.example()}\n`);
  }
  parts.push(OUTRO);
  return parts.join('\n');
}

/** The document as stored (formatted with the project's prettier settings). */
export async function generateSchedulerDocs(): Promise<string> {
  const options = (await prettier.resolveConfig(DOC_FILE)) ?? {};
  return prettier.format(generateSchedulerDocsRaw(), { ...options, parser: 'markdown' });
}

export function readSchedulerDocs(): string {
  return readFileSync(DOC_FILE, 'utf8');
}

if (
  process.argv[1] &&
  fileURLToPath(import.meta.url) === path.resolve(process.argv[1]) &&
  process.argv.includes('--write')
) {
  generateSchedulerDocs().then((md) => {
    writeFileSync(DOC_FILE, md);
    console.log(`wrote ${DOC_FILE}`);
  });
}
