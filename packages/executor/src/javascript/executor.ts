import { createRequire } from 'node:module';
import { assertNumberInRange, assertOneOf, MissingDependencyError } from '@azr/core/spec';
import type { JavaScriptWorkerSettings } from '../protocol.js';
import { workerScript } from '../supervisor/locate.js';
import {
  createPoolExecutor,
  lossResult,
  type PoolExecutor,
  type PoolExecutorSettings,
  resolvePoolSettings,
} from '../supervisor/pool-executor.js';
import { WorkerPool } from '../supervisor/worker-pool.js';
/**
 * How programs are isolated from each other.
 *
 * - `reused` (default): one context per worker, created once, with every built-in and the global object frozen,
 *   each program compiled as its own function. Nothing a program can reach can be changed, so nothing it does
 *   can be seen by the next one, and every state a program can be judged in is the same: the second call of a
 *   validation sees what the first saw, and what a fresh worker would show. The worker checks its heap after
 *   every call and starts a new isolate when a program left more than a quarter of the memory limit alive (the
 *   `Symbol.for` registry keeps what it is given), and every 20,000 calls. Programs behave as in a fresh
 *   context: built-in properties that programs commonly override on their own objects (`toString`, `valueOf`,
 *   a plain object's `constructor`, an error's `name` and `message`, ...) can still be set on those objects,
 *   and a sloppy assignment to an undeclared name declares it in the program's own scope. What differs from `context`: a
 *   program cannot change a built-in, or read back a global it set through `globalThis`. Seven to nine times
 *   faster than `context` (BENCHMARKS.md).
 * - `context`: a fresh V8 context per call. Also nothing carries over; a program may change built-ins for its
 *   own call. Creating the context costs about half a millisecond per call.
 * - `isolate`: a new V8 isolate (heap and all) per call. The most separated and by far the slowest; it is the
 *   design the other two are measured against.
 */
export type JavaScriptIsolation = 'context' | 'reused' | 'isolate';

/** Every {@link JavaScriptIsolation}. */
export const JAVASCRIPT_ISOLATIONS: readonly JavaScriptIsolation[] = ['context', 'reused', 'isolate'];

/** Settings of {@link createJavaScriptExecutor}. Also: `workers` (CPUs), `timeoutMs` (100), `limits`, `maxBatchSize` (256), `deadlineSlackMs` (2000). */
export interface JavaScriptExecutorSettings extends PoolExecutorSettings {
  /** Default `reused`. */
  readonly isolation?: JavaScriptIsolation;
  /** Heap limit of each worker's isolate, in MB. Default `128`. */
  readonly memoryLimitMb?: number;
}

/** The JavaScript executor: {@link ExecutorV1} plus counters of its workers. */
export type JavaScriptExecutor = PoolExecutor<'javascript'>;

/**
 * Creates an executor that runs JavaScript programs in isolated-vm, inside supervised worker processes.
 *
 * Programs run with a determinism prelude (no `Math.random`, no clock, no `Intl`, no weak references, no
 * shared memory, no `eval` or `Function` constructor, locale methods replaced by fixed ones, `TZ=UTC`), under
 * a per-call time limit and a per-isolate memory limit, and their values leave the sandbox only as canonical
 * strings built inside it. A worker that misses its deadline or dies is replaced; the executor keeps serving.
 *
 * Workers start in the background; calls made before they are ready wait for them. Call `close()` when done.
 */
export function createJavaScriptExecutor(settings: JavaScriptExecutorSettings = {}): JavaScriptExecutor {
  try {
    createRequire(import.meta.url).resolve('isolated-vm');
  } catch (error) {
    throw new MissingDependencyError(
      { packageName: 'isolated-vm', feature: 'The JavaScript executor of @azr/executor' },
      { cause: error },
    );
  }
  const isolation = assertOneOf('isolation', settings.isolation ?? 'reused', JAVASCRIPT_ISOLATIONS);
  const memoryLimitMb = assertNumberInRange('memoryLimitMb', settings.memoryLimitMb ?? 128, {
    minimum: 8,
    maximum: 16_384,
    integer: true,
  });
  // A validation takes about 30-50 us in a worker, so each message's cost (the parent's wake-ups on a machine
  // whose CPUs the workers fill) weighs on small batches: 64 calls a message validated 1.19-1.44x the programs
  // per second of 16 in 4 of 5 paired runs, and 256 about 1.08x those of 64 (BENCHMARKS.md).
  const common = resolvePoolSettings(settings, { slackMs: 2000, maxBatchSize: 256 });
  const workerSettings: JavaScriptWorkerSettings = { isolation, memoryLimitMb, limits: common.limits };
  const pool = new WorkerPool({
    name: 'JavaScript executor',
    workerPath: workerScript('javascript'),
    workerArguments: [JSON.stringify(workerSettings)],
    size: common.workers,
    maxBatchSize: common.maxBatchSize,
    deadlineSlackMs: common.deadlineSlackMs,
    startupTimeoutMs: 30_000,
    environment: { ...process.env, TZ: 'UTC', LANG: 'C', LC_ALL: 'C' },
    lossResult,
  });
  return createPoolExecutor(pool, {
    executorId: `isolated-vm/${isolation}`,
    language: 'javascript',
    defaultTimeoutMs: common.timeoutMs,
  });
}
