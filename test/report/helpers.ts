/**
 * Test support for sched-report: a DR set-up with N real servers, crafted
 * client traffic (ClientScript from the scheduler tests), temporary files.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClientScript, writePcap } from '../ipvs/sched/pcap_gen.js';

export const DIRECTOR_MAC = '52:54:00:00:40:01';
export const ROUTER_MAC = '52:54:00:00:40:fe';
export const VIP = '172.25.40.100';

export interface LabOptions {
  scheduler?: string;
  /** Weights of the real servers 172.25.40.11, .12, … (in set-up order). */
  weights: number[];
  /** `-p SECONDS`. */
  persistent?: number;
  /** Extra lines (sysctls, timed commands). */
  extra?: string[];
  port?: number;
}

/** A DR director: clients behind a router, the VIP on eth0, real servers .11, .12, … */
export function labSetup(o: LabOptions): string {
  const port = o.port ?? 80;
  const lines = [
    `ip link set eth0 address ${DIRECTOR_MAC}`,
    'ip addr add 172.25.40.1/24 dev eth0',
    `ip addr add ${VIP}/32 dev eth0`,
    `ip neigh add 172.25.40.254 lladdr ${ROUTER_MAC} dev eth0`,
    'ip route add default via 172.25.40.254 dev eth0',
    `ipvsadm -A -t ${VIP}:${port} -s ${o.scheduler ?? 'rr'}${o.persistent ? ` -p ${o.persistent}` : ''}`,
  ];
  o.weights.forEach((w, i) => {
    const rip = `172.25.40.${11 + i}`;
    lines.push(
      `ip neigh add ${rip} lladdr 52:54:00:00:40:${(11 + i).toString(16).padStart(2, '0')} dev eth0`,
    );
    lines.push(`ipvsadm -a -t ${VIP}:${port} -r ${rip}:${port} -g -w ${w}`);
  });
  lines.push(...(o.extra ?? []));
  return lines.join('\n') + '\n';
}

/** Real server i (0-based) of labSetup as `RIP:PORT`. */
export function rip(i: number, port = 80): string {
  return `172.25.40.${11 + i}:${port}`;
}

/** Client k as an address spread over 198.18.0.0/15 (a multiplicative hash, so hashing schedulers spread them). */
export function clientAddr(k: number): string {
  const h = Math.imul(k + 1, 2654435761) >>> 0;
  return `198.${18 + ((h >>> 31) & 1)}.${(h >>> 8) & 255}.${(h & 255) | 1}`;
}

/** A client script whose frames go from the router to the director. */
export function script(t0 = 1700000000): ClientScript {
  return new ClientScript(ROUTER_MAC, DIRECTOR_MAC, t0);
}

/** A connection: SYN then ACK (established), 1 ms apart. */
export function connect(s: ClientScript, client: string, port = 80): ClientScript {
  return s.syn(client, `${VIP}:${port}`).ack(client, `${VIP}:${port}`);
}

/**
 * A frame that is not IPVS's business (an ACK of no connection, answered by
 * the director's stack): marks a time without making a connection.
 */
export function tick(s: ClientScript): ClientScript {
  return s.ack('198.19.255.254:9', `${VIP}:80`, 0);
}

export class TempDir {
  readonly dir: string;
  constructor() {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'ipvs-sim-report-'));
  }
  file(name: string): string {
    return path.join(this.dir, name);
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Writes the script's frames as a pcap in `dir`; returns its path. */
export function writeCapture(dir: TempDir, name: string, s: ClientScript): string {
  const f = dir.file(name);
  writePcap(f, s.frames);
  return f;
}

/** Runs `ipvs-sim ARGS` in-process; returns the exit status and what it printed. */
export async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { main } = await import('../../src/cli/main.js');
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const exitCode = process.exitCode;
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((c: string | Uint8Array) => {
    stdout += typeof c === 'string' ? c : Buffer.from(c).toString();
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => {
    stderr += typeof c === 'string' ? c : Buffer.from(c).toString();
    return true;
  }) as typeof process.stderr.write;
  let code: number;
  try {
    code = await main(args);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = exitCode;
  }
  return { code, stdout, stderr };
}
