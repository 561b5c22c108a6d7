import { type ChildProcess, fork } from 'node:child_process';
import { AzrError, ResourceClosedError } from '@azr/core/spec';
import {
  type Job,
  type JobResult,
  jobBudgetMs,
  type ParentMessage,
  type WorkerMessage,
} from '../protocol.js';

/** What the pool knows when a worker died or was killed while running a job alone. */
export interface WorkerLoss {
  /** The worker missed its deadline and was killed. */
  readonly timedOut: boolean;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last lines the worker wrote to stderr. */
  readonly stderr: string;
}

/** Settings of a {@link WorkerPool}. */
export interface WorkerPoolSettings {
  /** Names the pool in errors, e.g. `JavaScript executor`. */
  readonly name: string;
  readonly workerPath: string;
  readonly workerArguments: readonly string[];
  /** Node options of the worker processes (e.g. the permission model). Default none. */
  readonly executionArguments?: readonly string[];
  readonly size: number;
  /** Most jobs sent to a worker at once. */
  readonly maxBatchSize: number;
  /** Added to a batch's summed job budgets before the worker is declared stuck. */
  readonly deadlineSlackMs: number;
  /** How long a new worker may take to say it is ready. */
  readonly startupTimeoutMs: number;
  readonly environment: NodeJS.ProcessEnv;
  /** The result given to a job whose worker died or was killed while running it alone. */
  readonly lossResult: (job: Job, loss: WorkerLoss) => JobResult;
}

interface Pending {
  readonly job: Job;
  readonly resolve: (result: JobResult) => void;
  readonly reject: (error: unknown) => void;
  /** Its batch lost its worker: it runs alone from now on, so a culprit is found exactly. */
  suspect: boolean;
}

interface Slot {
  readonly child: ChildProcess;
  ready: boolean;
  batch: { readonly id: number; readonly pending: Pending[]; readonly timer: NodeJS.Timeout } | undefined;
  startTimer: NodeJS.Timeout | undefined;
  killedForDeadline: boolean;
  stderr: string;
}

const STDERR_TAIL = 4000;
const MAX_START_FAILURES = 3;

/** Counters of a pool's life, for tests and benchmarks. */
export interface WorkerPoolStatistics {
  readonly workersStarted: number;
  readonly workersLost: number;
  readonly jobsCompleted: number;
}

/**
 * Child processes that run jobs in batches under a hard deadline. A worker that misses its deadline is
 * killed; a worker that dies is replaced. The jobs of a lost batch run again one at a time, so that only the
 * job that kills its worker is answered with {@link WorkerPoolSettings.lossResult}, and every other job gets
 * its real result. The host process never waits on a program for longer than the deadline.
 */
export class WorkerPool {
  readonly #settings: WorkerPoolSettings;
  readonly #queue: Pending[] = [];
  readonly #slots = new Set<Slot>();
  #nextJobId = 1;
  #nextBatchId = 1;
  #startFailures = 0;
  #broken: AzrError | undefined;
  #closed = false;
  #statistics = { workersStarted: 0, workersLost: 0, jobsCompleted: 0 };

  constructor(settings: WorkerPoolSettings) {
    this.#settings = settings;
    for (let index = 0; index < settings.size; index += 1) {
      this.#spawn();
    }
  }

  get statistics(): WorkerPoolStatistics {
    return { ...this.#statistics };
  }

  /** Queues a job; resolves with its result. */
  submit(job: DistributiveOmit<Job, 'id'>): Promise<JobResult> {
    if (this.#closed) {
      return Promise.reject(new ResourceClosedError({ resource: this.#settings.name }));
    }
    if (this.#broken !== undefined) {
      return Promise.reject(this.#broken);
    }
    return new Promise<JobResult>((resolve, reject) => {
      this.#queue.push({ job: { ...job, id: this.#nextJobId++ } as Job, resolve, reject, suspect: false });
      this.#updateReferences();
      this.#dispatchAll();
    });
  }

  /** Stops every worker. Queued and running jobs reject with a ResourceClosedError. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const error = new ResourceClosedError({ resource: this.#settings.name });
    for (const pending of this.#queue.splice(0)) pending.reject(error);
    const exits: Promise<void>[] = [];
    for (const slot of this.#slots) {
      if (slot.batch !== undefined) {
        clearTimeout(slot.batch.timer);
        for (const pending of slot.batch.pending) pending.reject(error);
        slot.batch = undefined;
      }
      clearTimeout(slot.startTimer);
      if (slot.child.exitCode === null && slot.child.signalCode === null) {
        exits.push(new Promise((resolve) => slot.child.once('exit', () => resolve())));
        // Keep the event loop alive until the worker is gone, so that awaiting close() means it is.
        slot.child.ref();
        slot.child.kill('SIGKILL');
      }
    }
    this.#slots.clear();
    await Promise.all(exits);
  }

  #spawn(): void {
    const child = fork(this.#settings.workerPath, [...this.#settings.workerArguments], {
      env: this.#settings.environment,
      execArgv: [...(this.#settings.executionArguments ?? [])],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.#statistics.workersStarted += 1;
    const slot: Slot = {
      child,
      ready: false,
      batch: undefined,
      startTimer: undefined,
      killedForDeadline: false,
      stderr: '',
    };
    this.#slots.add(slot);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      slot.stderr = (slot.stderr + chunk).slice(-STDERR_TAIL);
    });
    slot.startTimer = setTimeout(() => {
      slot.stderr += `\nthe worker did not start within ${this.#settings.startupTimeoutMs} ms`;
      child.kill('SIGKILL');
    }, this.#settings.startupTimeoutMs);
    child.on('message', (message: WorkerMessage) => this.#onMessage(slot, message));
    child.on('exit', (exitCode, signal) => this.#onExit(slot, exitCode, signal));
    child.on('error', (error) => {
      slot.stderr += `\n${error.message}`;
    });
    child.unref();
    this.#updateReferences();
  }

  #onMessage(slot: Slot, message: WorkerMessage): void {
    if (!this.#slots.has(slot)) return;
    switch (message.type) {
      case 'ready':
        clearTimeout(slot.startTimer);
        slot.ready = true;
        this.#startFailures = 0;
        this.#dispatch(slot);
        return;
      case 'fatal':
        slot.stderr += `\n${message.message}`;
        return;
      case 'results': {
        const batch = slot.batch;
        if (batch === undefined || batch.id !== message.batchId) return;
        clearTimeout(batch.timer);
        slot.batch = undefined;
        const byId = new Map(batch.pending.map((pending) => [pending.job.id, pending]));
        for (const { id, result } of message.results) {
          byId.get(id)?.resolve(result);
          byId.delete(id);
          this.#statistics.jobsCompleted += 1;
        }
        // A worker that answered only part of a batch is broken: the rest run again elsewhere.
        this.#requeue([...byId.values()]);
        this.#dispatch(slot);
        return;
      }
    }
  }

  #onExit(slot: Slot, exitCode: number | null, signal: NodeJS.Signals | null): void {
    if (!this.#slots.delete(slot)) return;
    clearTimeout(slot.startTimer);
    this.#statistics.workersLost += 1;
    const batch = slot.batch;
    slot.batch = undefined;
    if (batch !== undefined) {
      clearTimeout(batch.timer);
      const [only] = batch.pending;
      if (batch.pending.length === 1 && only !== undefined) {
        only.resolve(
          this.#settings.lossResult(only.job, {
            timedOut: slot.killedForDeadline,
            exitCode,
            signal,
            stderr: slot.stderr,
          }),
        );
      } else {
        this.#requeue(batch.pending);
      }
    }
    if (this.#closed) return;
    if (!slot.ready) {
      this.#startFailures += 1;
      if (this.#startFailures >= MAX_START_FAILURES) {
        this.#fail(
          new AzrError(
            `${this.#settings.name}: its worker process failed to start ${MAX_START_FAILURES} times. ` +
              `Last output: ${slot.stderr.trim().slice(-1000) || `(none; exit code ${exitCode}, signal ${signal})`}`,
            { exitCode, signal },
          ),
        );
        return;
      }
    }
    this.#spawn();
    this.#dispatchAll();
  }

  #fail(error: AzrError): void {
    this.#broken = error;
    for (const pending of this.#queue.splice(0)) pending.reject(error);
    for (const slot of this.#slots) {
      slot.child.kill('SIGKILL');
    }
  }

  #requeue(pending: Pending[]): void {
    for (const item of pending) item.suspect = true;
    this.#queue.unshift(...pending);
    this.#dispatchAll();
  }

  #dispatchAll(): void {
    for (const slot of this.#slots) {
      this.#dispatch(slot);
    }
  }

  #dispatch(slot: Slot): void {
    if (!slot.ready || slot.batch !== undefined || this.#queue.length === 0 || this.#closed) {
      this.#updateReferences();
      return;
    }
    const pending: Pending[] = [];
    if (this.#queue[0]?.suspect) {
      pending.push(this.#queue.shift() as Pending);
    } else {
      while (
        pending.length < this.#settings.maxBatchSize &&
        this.#queue.length > 0 &&
        !this.#queue[0]?.suspect
      ) {
        pending.push(this.#queue.shift() as Pending);
      }
    }
    const budget =
      pending.reduce((total, item) => total + jobBudgetMs(item.job), 0) + this.#settings.deadlineSlackMs;
    const id = this.#nextBatchId++;
    const timer = setTimeout(() => {
      slot.killedForDeadline = true;
      slot.child.kill('SIGKILL');
    }, budget);
    slot.batch = { id, pending, timer };
    slot.killedForDeadline = false;
    this.#updateReferences();
    const message: ParentMessage = { type: 'batch', batchId: id, jobs: pending.map((item) => item.job) };
    slot.child.send(message);
  }

  /**
   * While any job is queued or running, the workers' channels keep the host's event loop alive (so that a
   * script awaiting a result does not exit); when the pool is idle they do not (so that an executor nobody
   * closed does not keep a finished program running).
   */
  #updateReferences(): void {
    let busy = this.#queue.length > 0;
    for (const slot of this.#slots) {
      busy ||= slot.batch !== undefined;
    }
    for (const slot of this.#slots) {
      const channel = slot.child.channel as { ref?: () => void; unref?: () => void } | null | undefined;
      if (busy) channel?.ref?.();
      else channel?.unref?.();
    }
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
