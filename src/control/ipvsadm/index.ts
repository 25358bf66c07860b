/**
 * The ipvsadm emulation's public API: argument parsing (args.ts), running
 * commands against a director (exec.ts), listings (list.ts) and the rule
 * format (save.ts).
 */
export {
  parseIpvsadmArgs,
  IpvsadmError,
  Fmt,
  DEFAULT_SCHEDULER,
  DEFAULT_PERSISTENT_TIMEOUT,
  usageText,
  versionText,
  type IpvsadmCommand,
  type IpvsadmCmdName,
  type IpvsadmOptName,
  type IpvsadmService,
  type IpvsadmDest,
} from './args.js';
export {
  runIpvsadm,
  runIpvsadmListing,
  execIpvsadm,
  applyIpvsadmCommand,
  isConfiguring,
  ipvsStrerror,
  restoreLines,
  type IpvsadmResult,
  type KernelFailure,
} from './exec.js';
export {
  connListText,
  listAllText,
  serviceEntryText,
  timeoutText,
  largeNum,
  addrPortName,
  type ConnListEntry,
  type ListState,
  type RateValues,
} from './list.js';
export { saveText, setupRulesText } from './save.js';
