import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

/**
 * Weights from which a training call's output copies count: above it the trainer frees each call's
 * copies at once ({@link collectGarbage}), and {@link allocatorAdvice} speaks.
 */
export const LARGE_OUTPUT_BYTES = 256 * 1024 * 1024;

/**
 * Runs V8's garbage collector now. onnxruntime-node (1.30) returns every output of a run as a new JavaScript copy,
 * even an output written into a buffer of the caller's (a preallocated fetch). The training graph's outputs are
 * the size of the model's weights: 2 GB for a 0.5B model in float32. Dropped at once, those copies still stay
 * resident until V8 next collects, which it does only once the following run's copies have been allocated: two
 * weight-sized copies in memory at a time. Collecting after each run keeps it to one, and costs a few
 * milliseconds against runs of seconds.
 *
 * Uses `globalThis.gc` when the process was started with `--expose-gc`; otherwise exposes it once, in a context
 * of its own, so that the program's global object is not touched (the flag stays set for the process: contexts
 * and workers made later also get a `gc`). Where the runtime offers neither, it does nothing.
 */
export function collectGarbage(): void {
  if (collect === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === 'function') collect = exposed;
    else {
      try {
        setFlagsFromString('--expose-gc');
        const found = runInNewContext('gc') as unknown;
        // A runtime that ignores V8 flags (not Node) leaves the copies to its own collector.
        collect = typeof found === 'function' ? (found as () => void) : () => {};
      } catch {
        collect = () => {};
      }
    }
  }
  collect();
}

/** What decides {@link allocatorAdvice}. */
export interface AllocatorSituation {
  /** `process.platform`. */
  readonly platform: string;
  /** Whether the C library is glibc (Node's report has `glibcVersionRuntime` only there). */
  readonly glibc: boolean;
  /** The process's environment. */
  readonly environment: Readonly<Record<string, string | undefined>>;
  /** Bytes of the weights, which each training call's gradient outputs match. */
  readonly weightBytes: number;
  /** Whether a training step runs one onnxruntime call per micro-batch (rather than one call a step). */
  readonly callPerMicroBatch: boolean;
}

/**
 * The advice to start the process with glibc's allocator told to keep freed memory, or undefined where it does not
 * apply. onnxruntime-node copies every output of a call into new memory, and glibc maps big allocations afresh and
 * unmaps them when freed: with one call per micro-batch and weights of hundreds of MB, every call faults in a
 * weights-sized copy. With `MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736` a Qwen2.5-0.5B-shaped step took
 * 33-46 s against 53-94 s (BENCHMARKS.md). The variables only act when set before the process starts, so the SDK
 * can only say so.
 */
export function allocatorAdvice(situation: AllocatorSituation): string | undefined {
  const { platform, glibc, environment, weightBytes, callPerMicroBatch } = situation;
  if (platform !== 'linux' || !glibc || !callPerMicroBatch || weightBytes < LARGE_OUTPUT_BYTES)
    return undefined;
  if (environment.MALLOC_MMAP_MAX_ !== undefined) return undefined;
  const gigabytes = (weightBytes / 2 ** 30).toFixed(1);
  return `Training runs one onnxruntime call per micro-batch, each returning a ${gigabytes} GiB copy of the gradients; glibc maps such copies afresh every call. Start the process with MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 (for example: MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 npx azr train ...) to reuse that memory: a Qwen2.5-0.5B-shaped step took 33-46 s with them against 53-94 s without. Said once per process.`;
}

let advised = false;
let glibcRuntime: boolean | undefined;

/** Whether this process runs on glibc (Node's report names its version only there). Read once. */
function onGlibc(): boolean {
  if (glibcRuntime === undefined) {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: unknown } } | undefined;
    glibcRuntime = typeof report?.header?.glibcVersionRuntime === 'string';
  }
  return glibcRuntime;
}

/** Emits {@link allocatorAdvice} as a process warning (code `AZR_GLIBC_ALLOCATOR`), at most once per process. */
export function adviseAllocator(weightBytes: number, callPerMicroBatch: boolean): void {
  // The cheap conditions first: the report is read only where the advice may apply.
  if (advised || process.platform !== 'linux' || !callPerMicroBatch || weightBytes < LARGE_OUTPUT_BYTES)
    return;
  const advice = allocatorAdvice({
    platform: process.platform,
    glibc: onGlibc(),
    environment: process.env,
    weightBytes,
    callPerMicroBatch,
  });
  if (advice === undefined) return;
  advised = true;
  process.emitWarning(advice, { code: 'AZR_GLIBC_ALLOCATOR' });
}
