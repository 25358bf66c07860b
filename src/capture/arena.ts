/**
 * Capture arenas: one block of memory carved into reader buffers, writer
 * batch buffers and scratch space (see `sharedCaptureBuffers` in writer.ts),
 * with a byte-copy primitive inside it that costs little per call.
 *
 * Copying a frame from a reader's buffer into a writer's batch is the one
 * per-frame copy of a replay. Inside one ArrayBuffer, `copyWithin` does it
 * without allocating, but it is a C++ builtin: ~20 ns of entry and argument
 * handling per call on Node 20, as much as moving an average 600-byte frame.
 * A WebAssembly function doing `memory.copy` over the same bytes is entered
 * from optimised JS through an inlined wrapper, ~10 ns cheaper per call
 * (both end in libc's memmove). So an arena is a `WebAssembly.Memory` when
 * the engine allows one (a plain ArrayBuffer otherwise), and `arenaCopier`
 * gives the copy function of the arena an ArrayBuffer belongs to.
 */

/** The parts of the WebAssembly JS API used here (the project's `lib` has no DOM types). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (desc: { initial: number; maximum: number; shared?: boolean }) => WasmMemory;
};

/** A WebAssembly.Memory; a shared one's buffer is a SharedArrayBuffer. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}

/** `copy(dst, src, len)`: moves `len` bytes from arena offset `src` to `dst` (regions may overlap). */
export type ArenaCopy = (dst: number, src: number, len: number) => void;

/**
 * A module importing a memory `m.mem` and exporting `copy(dst: i32, src: i32,
 * len: i32)`, whose body is `memory.copy` (bulk memory, in every Node >= 16).
 */
const COPY_MODULE = Uint8Array.of(
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version 1
  ...[0x01, 0x07, 0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00], // types: (i32 i32 i32) -> ()
  ...[0x02, 0x0a, 0x01, 0x01, 0x6d, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00, 0x00], // import m.mem, memory, min 0
  ...[0x03, 0x02, 0x01, 0x00], // one function of type 0
  ...[0x07, 0x08, 0x01, 0x04, 0x63, 0x6f, 0x70, 0x79, 0x00, 0x00], // export "copy" = function 0
  ...[0x0a, 0x0e, 0x01, 0x0c, 0x00], // code: one body of 12 bytes, no locals
  ...[0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfc, 0x0a, 0x00, 0x00, 0x0b], // local.get 0 1 2; memory.copy 0 0; end
);

/**
 * COPY_MODULE importing a shared memory instead (limits flag 3: shared, with
 * a maximum; min 0, max 65536 pages), for arenas several threads use.
 */
const SHARED_COPY_MODULE = Uint8Array.of(
  ...COPY_MODULE.subarray(0, 17),
  ...[0x02, 0x0d, 0x01, 0x01, 0x6d, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x03, 0x00, 0x80, 0x80, 0x04], // import m.mem, shared
  ...COPY_MODULE.subarray(29),
);

const WASM_PAGE = 65536;
/** Largest arena backed by WebAssembly memory (32-bit offsets); larger ones are plain. */
const MAX_WASM_ARENA = 2 ** 31;

let copyModule: object | null | undefined;
let sharedCopyModule: object | null | undefined;
const copiers = new WeakMap<ArrayBufferLike, ArenaCopy>();

/**
 * `n` zeroed bytes for an arena: the start of a WebAssembly memory (with its
 * copy function registered for `arenaCopier`), or a plain Uint8Array when
 * WebAssembly is unavailable or refuses (address-space limits, n over 2 GiB).
 */
export function captureArena(n: number): Uint8Array {
  if (n > 0 && n <= MAX_WASM_ARENA && copyModule !== null) {
    try {
      copyModule ??= new WebAssembly.Module(COPY_MODULE);
      const pages = Math.ceil(n / WASM_PAGE);
      const mem = new WebAssembly.Memory({ initial: pages, maximum: pages });
      const copy = new WebAssembly.Instance(copyModule, { m: { mem } }).exports.copy as ArenaCopy;
      copiers.set(mem.buffer, copy);
      return new Uint8Array(mem.buffer, 0, n);
    } catch {
      // no WebAssembly (e.g. --jitless) or no address space: a plain arena copies with copyWithin
      if (copyModule === undefined) copyModule = null;
    }
  }
  return new Uint8Array(n);
}

/** The copy function of the arena whose ArrayBuffer is `buffer`, or null for any other buffer. */
export function arenaCopier(buffer: ArrayBufferLike): ArenaCopy | null {
  return copiers.get(buffer) ?? null;
}

/**
 * An arena several threads share (a sharded replay: the workers' readers and
 * output batches and the main thread's writers): `bytes` views the whole of a
 * SharedArrayBuffer, `handle` is what to send to another thread (through
 * workerData) for `adoptSharedArena`. A shared WebAssembly memory with its
 * copy function when the engine allows one, else a plain SharedArrayBuffer
 * (copied with copyWithin). Nothing is transferred, so no ArrayBuffer is ever
 * detached: detaching one makes V8 check every typed-array access of the
 * thread for detachment from then on, which slowed the replay by 5-13 %.
 */
export function sharedArena(n: number): { bytes: Uint8Array; handle: WasmMemory | SharedArrayBuffer } {
  if (n > 0 && n <= MAX_WASM_ARENA && sharedCopyModule !== null) {
    try {
      const pages = Math.ceil(n / WASM_PAGE);
      const mem = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
      return { bytes: adoptSharedArena(mem), handle: mem };
    } catch {
      if (sharedCopyModule === undefined) sharedCopyModule = null;
    }
  }
  const sab = new SharedArrayBuffer(n);
  return { bytes: new Uint8Array(sab), handle: sab };
}

/**
 * The whole of a shared arena made by `sharedArena` (in this thread or
 * another), its copy function registered for `arenaCopier` in this thread.
 */
export function adoptSharedArena(handle: WasmMemory | SharedArrayBuffer): Uint8Array {
  if (handle instanceof SharedArrayBuffer) return new Uint8Array(handle);
  if (!copiers.has(handle.buffer)) {
    sharedCopyModule ??= new WebAssembly.Module(SHARED_COPY_MODULE);
    const copy = new WebAssembly.Instance(sharedCopyModule, { m: { mem: handle } }).exports.copy as ArenaCopy;
    copiers.set(handle.buffer, copy);
  }
  return new Uint8Array(handle.buffer);
}
