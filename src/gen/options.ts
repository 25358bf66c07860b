/**
 * Options of the traffic generator (`ipvs-sim gen`, docs/gen.md): what the
 * command line sets, their defaults, and their checks. Everything here is
 * plain data; the generator (generator.ts) reads it once at start-up.
 */

/** How flows pick their client address among the client population. */
export type ClientDist = 'uniform' | 'zipf' | 'subnet';

/** An inclusive range of numbers (`MIN-MAX` on the command line; `N` means N-N). */
export interface Range {
  min: number;
  max: number;
}

export interface GenOptions {
  /** Seed of every random choice: the same seed (and options and set-up) gives a byte-identical capture. */
  seed: number;
  /** Flows in all: those starting during the capture plus those already under way (`underwayShare`). */
  flows: number;
  /** Simulated seconds over which new flows start (Poisson arrivals, `flows / duration` per second). */
  duration: number;
  /** Stop after this many frames (0: when every flow has ended). */
  maxFrames: number;
  /** Size of the client population (ignored by `subnet`, which uses the hosts of one /24). */
  clients: number;
  clientDist: ClientDist;
  /** Exponent of the Zipf law (`zipf`): client of rank k has weight 1 / k^s. */
  zipfS: number;
  /** Client networks (CIDR, at most one per family); empty: derived from the set-up. */
  clientNets: string[];
  /** Share of flows that are UDP; null: 0.1 when the set-up has TCP and UDP services (else 0 or 1). */
  udpShare: number | null;
  /** Share of flows to IPv6 services; null: 0.2 when the set-up has IPv4 and IPv6 services (else 0 or 1). */
  ipv6Share: number | null;
  /** Requests (request/response exchanges, UDP: datagram pairs) per flow, uniform in the range. */
  requests: Range;
  /** Request sizes in bytes (log-uniform). */
  requestSize: Range;
  /** Response sizes in bytes (log-uniform). */
  responseSize: Range;
  /** Client round-trip time as seen from the director, milliseconds (log-uniform per flow). */
  rttMs: Range;
  /** Mean think time between a response and the next request, milliseconds (exponential). */
  thinkMs: number;
  /** Share of TCP flows ending with a client RST instead of FINs. */
  rstShare: number;
  /** Share of FIN-ended TCP flows where the server closes first. */
  serverCloseShare: number;
  /** Probability that a request (client) or a response (server) carries a retransmitted segment. */
  retransShare: number;
  /** Share of `flows` that started shortly before the capture (their first frames are not in it). */
  underwayShare: number;
  /** Every frame minimum-size (60 bytes): IPv4 only, no TCP options, payloads of at most 6 (TCP) / 18 (UDP) bytes. */
  small: boolean;
  /** Unix time (seconds) of time 0 of the capture. */
  startEpoch: number;
  /** Seed the replay of this capture will use (`ipvs-sim replay --seed`): the NAT shadow director uses it. */
  replaySeed: number;
}

export const DEFAULT_GEN_OPTIONS: Readonly<GenOptions> = {
  seed: 1,
  flows: 1000,
  duration: 10,
  maxFrames: 0,
  clients: 1000,
  clientDist: 'uniform',
  zipfS: 1.2,
  clientNets: [],
  udpShare: null,
  ipv6Share: null,
  requests: { min: 1, max: 4 },
  requestSize: { min: 80, max: 2000 },
  responseSize: { min: 200, max: 100000 },
  rttMs: { min: 1, max: 80 },
  thinkMs: 50,
  rstShare: 0.1,
  serverCloseShare: 0.3,
  retransShare: 0.02,
  underwayShare: 0.05,
  small: false,
  startEpoch: 1700000000,
  replaySeed: 1,
};

/** A bad generator option (the message names it). */
export class GenOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GenOptionError';
  }
}

/** Parses `MIN-MAX` or `N` into a range of non-negative numbers (`integer`: whole numbers only). */
export function parseRange(name: string, text: string, integer: boolean): Range {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(?:-\s*([0-9]+(?:\.[0-9]+)?))?\s*$/.exec(text);
  if (!m) throw new GenOptionError(`${name} takes N or MIN-MAX, got '${text}'`);
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  if (integer && (!Number.isInteger(min) || !Number.isInteger(max)))
    throw new GenOptionError(`${name} takes whole numbers, got '${text}'`);
  if (max < min) throw new GenOptionError(`${name}: MIN is above MAX in '${text}'`);
  return { min, max };
}

function share(name: string, v: number | null): void {
  if (v !== null && !(v >= 0 && v <= 1))
    throw new GenOptionError(`${name} must be between 0 and 1, got ${v}`);
}

function positiveInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min)
    throw new GenOptionError(`${name} must be an integer >= ${min}, got ${v}`);
}

/** Checks every option; throws GenOptionError naming the first bad one. */
export function checkGenOptions(o: GenOptions): void {
  positiveInt('--seed', o.seed, 0);
  if (o.seed > 0xffffffff) throw new GenOptionError(`--seed must be below 2^32, got ${o.seed}`);
  positiveInt('--flows', o.flows, 0);
  if (!(o.duration > 0 && o.duration <= 1e6))
    throw new GenOptionError(`--duration must be above 0 and at most 1e6 seconds, got ${o.duration}`);
  positiveInt('--frames', o.maxFrames, 0);
  positiveInt('--clients', o.clients, 1);
  if (!['uniform', 'zipf', 'subnet'].includes(o.clientDist))
    throw new GenOptionError(`--client-dist takes uniform, zipf or subnet, got '${o.clientDist}'`);
  if (!(o.zipfS > 0 && o.zipfS <= 10))
    throw new GenOptionError(`--zipf-s must be in (0, 10], got ${o.zipfS}`);
  share('--udp', o.udpShare);
  share('--ipv6', o.ipv6Share);
  share('--rst', o.rstShare);
  share('--server-close', o.serverCloseShare);
  share('--retrans', o.retransShare);
  share('--underway', o.underwayShare);
  if (o.requests.min < 1) throw new GenOptionError('--requests: at least 1 request per flow');
  if (o.requests.max > 1e6) throw new GenOptionError('--requests: at most 1000000 requests per flow');
  if (o.requestSize.min < 1 || o.responseSize.min < 1)
    throw new GenOptionError('--request-size / --response-size: at least 1 byte');
  if (o.requestSize.max > 1 << 30 || o.responseSize.max > 1 << 30)
    throw new GenOptionError('--request-size / --response-size: at most 1 GiB');
  if (!(o.rttMs.min >= 0.05 && o.rttMs.max <= 60000))
    throw new GenOptionError('--rtt must lie between 0.05 and 60000 ms');
  if (!(o.thinkMs >= 0 && o.thinkMs <= 3.6e6))
    throw new GenOptionError('--think must lie between 0 and 3600000 ms');
  positiveInt('--start', o.startEpoch, 0);
  if (o.startEpoch > 0xffffffff - 2e6)
    throw new GenOptionError('--start is too late for 32-bit capture timestamps');
  positiveInt('--replay-seed', o.replaySeed, 0);
}
