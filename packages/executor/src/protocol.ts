import type { CanonicalLimits, ExecutionResult, ValidationResult } from '@azr/core/spec';

/** One unit of work for a worker process. Every job carries its own time limit per call. */
export type Job =
  | {
      readonly id: number;
      readonly type: 'run';
      readonly code: string;
      readonly entry: string;
      readonly args: string;
      readonly timeoutMs: number;
    }
  | { readonly id: number; readonly type: 'literal'; readonly source: string; readonly timeoutMs: number }
  | {
      readonly id: number;
      readonly type: 'validate';
      readonly code: string;
      readonly entry: string;
      readonly argsList: readonly string[];
      readonly timeoutMs: number;
    };

/** What a job resolves to. */
export type JobResult = ExecutionResult | ValidationResult;

/** Messages from the parent to a worker. */
export type ParentMessage = {
  readonly type: 'batch';
  readonly batchId: number;
  readonly jobs: readonly Job[];
};

/**
 * Messages from a worker to the parent. `starting`, sent while a batch runs, says the worker is starting an
 * interpreter (not running a program): the batch's deadline stops, the start gets the pool's start-up time, and
 * the next `ready` resumes the deadline with the time it had left.
 */
export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'starting' }
  | {
      readonly type: 'results';
      readonly batchId: number;
      readonly results: readonly { readonly id: number; readonly result: JobResult }[];
    }
  | { readonly type: 'fatal'; readonly message: string };

/** How long a job may take in a worker, all its calls counted, before the parent gives up on the worker. */
export function jobBudgetMs(job: Job): number {
  const calls = job.type === 'validate' ? 2 * Math.max(job.argsList.length, 1) : 1;
  return calls * job.timeoutMs;
}

/**
 * What the parent allows a worker for a job: its budget and, for a validation, one more call per argument list,
 * which the Python worker's second interpreter state may take after the first state used the whole budget.
 */
export function jobDeadlineMs(job: Job): number {
  return jobBudgetMs(job) + (job.type === 'validate' ? job.argsList.length * job.timeoutMs : 0);
}

/** Settings a JavaScript worker process is started with (passed as JSON in its first argument). */
export interface JavaScriptWorkerSettings {
  readonly isolation: 'context' | 'reused' | 'isolate';
  readonly memoryLimitMb: number;
  readonly limits: CanonicalLimits;
}
