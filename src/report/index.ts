/** sched-report (docs/sched-report.md): scheduler quality on real or generated traffic. */
export { schedReport, replayWith, unknownSchedulers, type SchedReportConfig } from './sched_report.js';
export { ChangeError, parseChange, resolveChange, type ChangeSpec, type ResolvedChange } from './change.js';
export { formatText } from './text.js';
export { formatHtml } from './html.js';
export {
  ObservedScheduler,
  RunObserver,
  RunRecord,
  singleSchedulerRegistry,
  serviceKey,
  serverKey,
} from './observer.js';
export { shares, imbalance, persistence, disruption } from './metrics.js';
export * from './types.js';
