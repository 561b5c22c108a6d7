import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import {
  assertNumberInRange,
  assertOneOf,
  type CanonicalLimits,
  DEFAULT_CANONICAL_LIMITS,
  type ExecutionResult,
  type ExecutorV1,
  MissingDependencyError,
  type RunRequest,
  type ValidateProgramRequest,
  type ValidationResult,
} from '@azr/core';
import type { JavaScriptWorkerSettings, Job, JobResult } from '../protocol.js';
import { workerScript } from '../supervisor/locate.js';
import { type WorkerLoss, WorkerPool, type WorkerPoolStatistics } from '../supervisor/worker-pool.js';

/**
 * How programs are isolated from each other.
 *
 * - `context` (default): a fresh V8 context per call. Nothing a program does can be seen by the next one.
 * - `reused`: one context per worker, created once, with every built-in and the global object frozen, and
 *   each program in its own function scope. About ten times faster; programs cannot create globals (an
 *   assignment to an undeclared variable fails, as in strict mode), and cannot leave state behind.
 * - `isolate`: a new V8 isolate (heap and all) per call. The most separated and by far the slowest; it is the
 *   design the other two are measured against.
 */
export type JavaScriptIsolation = 'context' | 'reused' | 'isolate';

/** Every {@link JavaScriptIsolation}. */
export const JAVASCRIPT_ISOLATIONS: readonly JavaScriptIsolation[] = ['context', 'reused', 'isolate'];

/** Settings of {@link createJavaScriptExecutor}. */
export interface JavaScriptExecutorSettings {
  /** Worker processes, each with its own isolate. Default: the number of CPUs. */
  readonly workers?: number;
  /** Default `context`. */
  readonly isolation?: JavaScriptIsolation;
  /** Time limit of one call, in milliseconds, unless a request sets its own. Default `100`. */
  readonly timeoutMs?: number;
  /** Heap limit of each worker's isolate, in MB. Default `128`. */
  readonly memoryLimitMb?: number;
  /** Caps of the canonical encoding of results. Default {@link DEFAULT_CANONICAL_LIMITS}. */
  readonly limits?: Partial<CanonicalLimits>;
  /** Most calls sent to a worker in one message. Default `16`. */
  readonly maxBatchSize?: number;
  /** Extra time a worker gets beyond its calls' limits before it is killed, in milliseconds. Default `2000`. */
  readonly deadlineSlackMs?: number;
}

/** The JavaScript executor: {@link ExecutorV1} plus counters of its workers. */
export interface JavaScriptExecutor extends ExecutorV1 {
  readonly language: 'javascript';
  /** Workers started and lost, jobs completed. */
  statistics(): WorkerPoolStatistics;
}

function lossResult(job: Job, loss: WorkerLoss): JobResult {
  const outOfMemory =
    loss.signal === 'SIGABRT' ||
    loss.signal === 'SIGTRAP' ||
    /out of memory|heap limit|allocation failed/i.test(loss.stderr);
  const error = loss.timedOut
    ? { kind: 'timeout' as const, message: 'the worker stopped responding and was replaced' }
    : outOfMemory
      ? { kind: 'memory' as const, message: 'the worker ran out of memory and was replaced' }
      : {
          kind: 'crashed' as const,
          message: `the worker died (exit code ${loss.exitCode}, signal ${loss.signal}) and was replaced`,
        };
  return job.type === 'validate' ? { ok: false, error, argsIndex: undefined } : { ok: false, error };
}

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
  const workers = assertNumberInRange('workers', settings.workers ?? availableParallelism(), {
    minimum: 1,
    maximum: 256,
    integer: true,
  });
  const defaultTimeoutMs = assertNumberInRange('timeoutMs', settings.timeoutMs ?? 100, {
    minimum: 1,
    maximum: 600_000,
  });
  const memoryLimitMb = assertNumberInRange('memoryLimitMb', settings.memoryLimitMb ?? 128, {
    minimum: 8,
    maximum: 16_384,
    integer: true,
  });
  const maxBatchSize = assertNumberInRange('maxBatchSize', settings.maxBatchSize ?? 16, {
    minimum: 1,
    integer: true,
  });
  const deadlineSlackMs = assertNumberInRange('deadlineSlackMs', settings.deadlineSlackMs ?? 2000, {
    minimum: 0,
  });
  const limits: CanonicalLimits = { ...DEFAULT_CANONICAL_LIMITS, ...settings.limits };
  for (const key of ['maxDepth', 'maxNodes', 'maxLength'] as const) {
    assertNumberInRange(`limits.${key}`, limits[key], { minimum: 1, integer: true });
  }
  const workerSettings: JavaScriptWorkerSettings = { isolation, memoryLimitMb, limits };
  const pool = new WorkerPool({
    name: 'JavaScript executor',
    workerPath: workerScript('javascript'),
    workerArguments: [JSON.stringify(workerSettings)],
    size: workers,
    maxBatchSize,
    deadlineSlackMs,
    startupTimeoutMs: 30_000,
    environment: { ...process.env, TZ: 'UTC', LANG: 'C', LC_ALL: 'C' },
    lossResult,
  });

  const timeoutOf = (timeoutMs: number | undefined): number =>
    timeoutMs === undefined
      ? defaultTimeoutMs
      : assertNumberInRange('timeoutMs', timeoutMs, { minimum: 1, maximum: 600_000 });

  return {
    specificationVersion: 'v1',
    executorId: `isolated-vm/${isolation}`,
    language: 'javascript',
    async run(request: RunRequest): Promise<ExecutionResult> {
      return (await pool.submit({
        type: 'run',
        code: request.code,
        entry: request.entry ?? 'f',
        args: request.args,
        timeoutMs: timeoutOf(request.timeoutMs),
      })) as ExecutionResult;
    },
    async evaluateLiteral(source: string): Promise<ExecutionResult> {
      return (await pool.submit({ type: 'literal', source, timeoutMs: defaultTimeoutMs })) as ExecutionResult;
    },
    async validateProgram(request: ValidateProgramRequest): Promise<ValidationResult> {
      return (await pool.submit({
        type: 'validate',
        code: request.code,
        entry: request.entry ?? 'f',
        argsList: request.argsList,
        timeoutMs: timeoutOf(request.timeoutMs),
      })) as ValidationResult;
    },
    close: () => pool.close(),
    statistics: () => pool.statistics,
  };
}
