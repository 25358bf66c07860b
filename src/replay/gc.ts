/**
 * A full garbage collection on request, for the moments a replay has just
 * dropped a lot of memory: the columns a large connection table replaced
 * when it grew (ConnTableOptions.release, src/ipvs/conn.ts). Their memory
 * lies outside the JavaScript heap, and V8 frees it only after a major
 * collection, which a replay that allocates nothing per packet rarely
 * triggers: until then the old and the new columns are resident together.
 *
 * Node offers the collector only to a process started with --expose-gc.
 * Where that flag is absent it is set here at run time and the `gc` function
 * taken from a new context, the way Node's v8.setFlagsFromString documents
 * for flags set after start-up; where that does not work either, the
 * request does nothing and the table grows as before.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

let collector: (() => void) | null | undefined;

function findCollector(): (() => void) | null {
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === 'function') return own as () => void;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

/** Runs a full garbage collection; false when the engine gives no way to request one. */
export function collectGarbageNow(): boolean {
  if (collector === undefined) collector = findCollector();
  if (collector === null) return false;
  collector();
  return true;
}
