/** The traffic generator (`ipvs-sim gen`): see generator.ts and docs/gen.md. */
export { Generator, generate, type GenConfig, type GenOutput, type GenSummary } from './generator.js';
export {
  DEFAULT_GEN_OPTIONS,
  GenOptionError,
  checkGenOptions,
  parseRange,
  type ClientDist,
  type GenOptions,
  type Range,
} from './options.js';
export { Topology, generatedMac, type ClientSide, type GenService, type ServerEnd } from './topology.js';
