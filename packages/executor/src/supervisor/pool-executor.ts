import { availableParallelism } from 'node:os';
import {
  assertNumberInRange,
  type CanonicalLimits,
  DEFAULT_CANONICAL_LIMITS,
  type ExecutionResult,
  type ExecutorV1,
  type RunRequest,
  type TaskLanguage,
  type ValidateProgramRequest,
  type ValidationResult,
} from '@azr/core/spec';
import type { Job, JobResult } from '../protocol.js';
import type { WorkerLoss, WorkerPool, WorkerPoolStatistics } from './worker-pool.js';

/** Settings every executor on a worker pool has. */
export interface PoolExecutorSettings {
  /** Worker processes. Default: the number of CPUs. */
  readonly workers?: number;
  /** Time limit of one call, in milliseconds, unless a request sets its own. Default `100`. */
  readonly timeoutMs?: number;
  /** Caps of the canonical encoding of results. Default {@link DEFAULT_CANONICAL_LIMITS}. */
  readonly limits?: Partial<CanonicalLimits>;
  /** Most calls sent to a worker in one message. Default `64` for JavaScript, `16` for Python. */
  readonly maxBatchSize?: number;
  /** Extra time a worker gets beyond its calls' limits before it is killed, in milliseconds. */
  readonly deadlineSlackMs?: number;
}

/** The validated common settings. */
export interface ResolvedPoolSettings {
  readonly workers: number;
  readonly timeoutMs: number;
  readonly limits: CanonicalLimits;
  readonly maxBatchSize: number;
  readonly deadlineSlackMs: number;
}

const TIMEOUT_RANGE = { minimum: 1, maximum: 600_000 };

/** Merges the common settings with their defaults and validates them (ConfigError naming the field). */
export function resolvePoolSettings(
  settings: PoolExecutorSettings,
  defaults: { readonly slackMs: number; readonly maxBatchSize: number },
): ResolvedPoolSettings {
  const limits: CanonicalLimits = { ...DEFAULT_CANONICAL_LIMITS, ...settings.limits };
  for (const key of ['maxDepth', 'maxNodes', 'maxLength'] as const) {
    assertNumberInRange(`limits.${key}`, limits[key], { minimum: 1, integer: true });
  }
  return {
    workers: assertNumberInRange('workers', settings.workers ?? availableParallelism(), {
      minimum: 1,
      maximum: 256,
      integer: true,
    }),
    timeoutMs: assertNumberInRange('timeoutMs', settings.timeoutMs ?? 100, TIMEOUT_RANGE),
    limits,
    maxBatchSize: assertNumberInRange('maxBatchSize', settings.maxBatchSize ?? defaults.maxBatchSize, {
      minimum: 1,
      integer: true,
    }),
    deadlineSlackMs: assertNumberInRange('deadlineSlackMs', settings.deadlineSlackMs ?? defaults.slackMs, {
      minimum: 0,
    }),
  };
}

/** The answer to a job whose worker process was lost while running it alone. */
export function lossResult(job: Job, loss: WorkerLoss): JobResult {
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

/** An executor on a worker pool: {@link ExecutorV1} plus the pool's counters. */
export interface PoolExecutor<TLanguage extends TaskLanguage> extends ExecutorV1 {
  readonly language: TLanguage;
  statistics(): WorkerPoolStatistics;
}

/** The {@link ExecutorV1} methods over a pool of workers that answer jobs. */
export function createPoolExecutor<TLanguage extends TaskLanguage>(
  pool: WorkerPool,
  identity: { readonly executorId: string; readonly language: TLanguage; readonly defaultTimeoutMs: number },
): PoolExecutor<TLanguage> {
  const timeoutOf = (timeoutMs: number | undefined): number =>
    timeoutMs === undefined
      ? identity.defaultTimeoutMs
      : assertNumberInRange('timeoutMs', timeoutMs, TIMEOUT_RANGE);
  return {
    specificationVersion: 'v1',
    executorId: identity.executorId,
    language: identity.language,
    async run(request: RunRequest): Promise<ExecutionResult> {
      const job = {
        type: 'run' as const,
        code: request.code,
        entry: request.entry ?? 'f',
        args: request.args,
        timeoutMs: timeoutOf(request.timeoutMs),
      };
      return (await pool.submit(job)) as ExecutionResult;
    },
    async evaluateLiteral(source: string): Promise<ExecutionResult> {
      return (await pool.submit({
        type: 'literal',
        source,
        timeoutMs: identity.defaultTimeoutMs,
      })) as ExecutionResult;
    },
    async validateProgram(request: ValidateProgramRequest): Promise<ValidationResult> {
      const job = {
        type: 'validate' as const,
        code: request.code,
        entry: request.entry ?? 'f',
        argsList: request.argsList,
        timeoutMs: timeoutOf(request.timeoutMs),
      };
      return (await pool.submit(job)) as ValidationResult;
    },
    close: () => pool.close(),
    statistics: () => pool.statistics,
  };
}
