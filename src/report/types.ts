/**
 * The sched-report document: what `ipvs-sim sched-report --json` prints and
 * what the text and HTML formatters read (schema documented in
 * docs/sched-report.md). Plain data only; shares and fractions are numbers
 * between 0 and 1, times are seconds since the first frame.
 */

/** Version of the JSON document; bumped when a field changes meaning or disappears. */
export const SCHED_REPORT_VERSION = 1;

/** What "load" means in the imbalance measure. */
export const LOAD_DEFINITION =
  "overhead: ActiveConn * 256 + ActiveConn + InActConn (the kernel's ip_vs_dest_conn_overhead)";

export interface SchedReport {
  version: number;
  /** The set-up file. */
  setup: string;
  /** The inputs as given (`IFACE=CAPTURE` or `CAPTURE`), or the generator options. */
  inputs: string[];
  /** Generator options when the traffic was generated (`--gen`), else null. */
  generated: string | null;
  seed: number;
  /** What load is in the imbalance measure (LOAD_DEFINITION). */
  load: string;
  /** Interval of the imbalance samples, seconds of simulated time. */
  sampleSeconds: number;
  /** Frames of the inputs (each replay reads them all). */
  framesIn: number;
  /** Last frame time - first frame time. */
  simulatedSeconds: number;
  /** The change the disruption measure compares against; null with --no-disruption. */
  change: ChangeReport | null;
  /** The virtual services, in the set-up's order (those a timed command adds come last). */
  services: ServiceDesc[];
  /** One entry per scheduler, in the order asked for. */
  schedulers: SchedulerReport[];
  /** A malformed capture stopped every replay at this point (the report covers the frames before it). */
  captureError: string | null;
}

export interface ServiceDesc {
  /** `TCP 10.0.0.1:80`, `UDP [2001:db8::1]:53`, `FWM 7`, `FWM 7 IPv6`. */
  service: string;
  /** The scheduler the set-up names (`-s`), which the report replaces in turn. */
  setupScheduler: string;
  persistent: boolean;
}

export interface ChangeReport {
  /** Time of the first change, seconds since the first frame: flows seen before it are "existing". */
  atSeconds: number;
  /** True when no --remove / --add was given (each service loses its last added real server mid-capture). */
  isDefault: boolean;
  /** The timed set-up lines the changed run adds (`@SECONDS ipvsadm …`). */
  commands: string[];
  /** Real servers removed, as `SERVICE -> SERVER`. */
  removed: string[];
  /** Real servers added, as `SERVICE -> SERVER`. */
  added: string[];
}

export interface SchedulerReport {
  /** ipvsadm name. */
  scheduler: string;
  /** New connections (entries bound to a real server) over every service. */
  newConnections: number;
  /** Packets that found no real server (ICMP port unreachable or dropped: ip_vs_leave). */
  refused: number;
  services: ServiceResult[];
}

export interface ServiceResult {
  service: string;
  /** New connections of this service in the run without the change. */
  connections: number;
  servers: ServerShare[];
  /** Largest |share - targetShare| over the servers. */
  maxDeviation: number;
  imbalance: Imbalance;
  /** null for a service that is not persistent. */
  persistence: Persistence | null;
  /** null when there is no change (--no-disruption). */
  disruption: Disruption | null;
}

export interface ServerShare {
  /** `RIP:PORT` (`[RIP]:PORT` for IPv6). */
  server: string;
  /** Weight when the set-up (or the timed command adding it) configured it. */
  weight: number;
  connections: number;
  /** connections / the service's connections (0 when it had none). */
  share: number;
  /** The weight share each new connection was entitled to, averaged over the service's new connections. */
  targetShare: number;
  /** share - targetShare. */
  deviation: number;
}

export interface Imbalance {
  /** Largest sample; null when no sample had load. */
  peak: number | null;
  /** Mean of the samples that had load. */
  mean: number | null;
  /** [seconds, max/mean of load per weight] every sampleSeconds; null when no server had load. */
  samples: [number, number | null][];
}

export interface Persistence {
  /** New connections of the service. */
  newConnections: number;
  /** Those that found a usable persistence template (no scheduling). */
  templateHits: number;
  /** templateHits / newConnections; null without connections. */
  hitRate: number | null;
}

export interface Disruption {
  /** Connections of existing flows opened after the change, made in both runs, not on a removed server. */
  compared: number;
  /** Of those, connections bound to a different real server than in the run without the change. */
  moved: number;
  /** moved / compared; null when nothing was compared. */
  fraction: number | null;
  /** Existing flows with a compared connection. */
  flowsCompared: number;
  /** Of those, flows whose first compared connection went to a different real server. */
  flowsMoved: number;
  /** flowsMoved / flowsCompared; null when nothing was compared. */
  flowFraction: number | null;
  /** Connections left out because their server (in the run without the change) was removed. */
  excluded: number;
  /** Connections of the run without the change that the changed run did not make (no real server, …). */
  unmatched: number;
}
