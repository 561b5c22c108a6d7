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
 * - `context` (default): a fresh V8 context per call. Nothing a program does can be seen by the next one.
 * - `reused`: one context per worker, created once, with every built-in and the global object frozen, and
 *   each program in its own function scope. Several times faster (see BENCHMARKS.md); programs cannot create globals (an
 *   assignment to an undeclared variable fails, as in strict mode), and cannot leave state behind.
 * - `isolate`: a new V8 isolate (heap and all) per call. The most separated and by far the slowest; it is the
 *   design the other two are measured against.
 */
export type JavaScriptIsolation = 'context' | 'reused' | 'isolate';

/** Every {@link JavaScriptIsolation}. */
export const JAVASCRIPT_ISOLATIONS: readonly JavaScriptIsolation[] = ['context', 'reused', 'isolate'];

/** Settings of {@link createJavaScriptExecutor}. Also: `workers` (CPUs), `timeoutMs` (100), `limits`, `maxBatchSize` (16), `deadlineSlackMs` (2000). */
export interface JavaScriptExecutorSettings extends PoolExecutorSettings {
  /** Default `context`. */
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
  const isolation = assertOneOf('isolation', settings.isolation ?? 'context', JAVASCRIPT_ISOLATIONS);
  const memoryLimitMb = assertNumberInRange('memoryLimitMb', settings.memoryLimitMb ?? 128, {
    minimum: 8,
    maximum: 16_384,
    integer: true,
  });
  const common = resolvePoolSettings(settings, 2000);
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
