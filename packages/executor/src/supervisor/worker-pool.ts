import { type ChildProcess, fork } from 'node:child_process';
import { AzrError, ResourceClosedError } from '@azr/core/spec';
import {
  type Job,
  type JobResult,
  jobDeadlineMs,
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
  /**
   * Most batches a worker holds at once: the one it runs and the ones queued behind it. More than one keeps a
   * worker busy while the parent receives its results and sends the next batch. Default `2`.
   */
  readonly maxBatchesPerWorker?: number;
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
}

interface Batch {
  readonly id: number;
  readonly pending: readonly Pending[];
  /** The batch's summed job budgets plus the slack: its deadline, counted from when it starts to run. */
  readonly budgetMs: number;
  /** A suspect's batch: nothing else is sent to its worker, so that a loss is blamed on it exactly. */
  readonly alone: boolean;
}

interface Slot {
  readonly child: ChildProcess;
  ready: boolean;
  /**
   * The batches sent and not answered, in the order sent. A worker answers them in that order, so the first
   * one is the one it runs; the deadline timer is that batch's.
   */
  readonly batches: Batch[];
  deadline: NodeJS.Timeout | undefined;
  /** When the running deadline fires (performance.now()). */
  deadlineAt: number;
  /** While the worker starts an interpreter mid-batch ('starting' until 'ready'): the deadline's time left. */
  pausedMs: number | undefined;
  startTimer: NodeJS.Timeout | undefined;
  /** Killed for a missed deadline: late answers are ignored and nothing more is sent to it. */
  killedForDeadline: boolean;
  stderr: string;
}

const STDERR_TAIL = 4000;
const MAX_START_FAILURES = 3;
const DEFAULT_BATCHES_PER_WORKER = 2;

/** Counters of a pool's life, for tests and benchmarks. */
export interface WorkerPoolStatistics {
  readonly workersStarted: number;
  readonly workersLost: number;
  readonly jobsCompleted: number;
}

/**
 * Child processes that run jobs in batches under a hard deadline. A worker that misses its deadline is
 * killed; a worker that dies is replaced. The jobs a lost worker held run again one at a time (suspects), so
 * that only the job that kills its worker is answered with {@link WorkerPoolSettings.lossResult}, and every
 * other job gets its real result. The host process never waits on a program for longer than the deadline.
 *
 * A worker holds up to {@link WorkerPoolSettings.maxBatchesPerWorker} batches, so that it never waits for the
 * parent between two. Only the batch it runs has a deadline: the next one's starts when the first is answered,
 * so a stuck batch never spends the budget of the batches queued behind it. A job is blamed for a loss only
 * when it was the only job its worker held; a suspect runs on a worker that holds nothing else.
 */
export class WorkerPool {
  readonly #settings: WorkerPoolSettings;
  readonly #batchesPerWorker: number;
  /** Jobs not yet sent, in the order submitted. */
  readonly #queue: Pending[] = [];
  /** Jobs of lost workers, each to run alone; they go before the queue. */
  readonly #suspects: Pending[] = [];
  readonly #slots = new Set<Slot>();
  #nextJobId = 1;
  #nextBatchId = 1;
  #startFailures = 0;
  #dispatchScheduled = false;
  #broken: AzrError | undefined;
  #closed = false;
  /**
   * Whether the workers' channels and stderr pipes hold the event loop, as last set; undefined after a worker is
   * spawned.
   */
  #referenced: boolean | undefined;
  #statistics = { workersStarted: 0, workersLost: 0, jobsCompleted: 0 };

  constructor(settings: WorkerPoolSettings) {
    this.#settings = settings;
    this.#batchesPerWorker = Math.max(
      1,
      Math.floor(settings.maxBatchesPerWorker ?? DEFAULT_BATCHES_PER_WORKER),
    );
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
      this.#queue.push({ job: { ...job, id: this.#nextJobId++ } as Job, resolve, reject });
      this.#updateReferences();
      this.#scheduleDispatch();
    });
  }

  /** Stops every worker. Queued and running jobs reject with a ResourceClosedError. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const error = new ResourceClosedError({ resource: this.#settings.name });
    for (const pending of this.#suspects.splice(0)) pending.reject(error);
    for (const pending of this.#queue.splice(0)) pending.reject(error);
    const exits: Promise<void>[] = [];
    for (const slot of this.#slots) {
      clearTimeout(slot.deadline);
      for (const batch of slot.batches.splice(0)) {
        for (const pending of batch.pending) pending.reject(error);
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
      batches: [],
      deadline: undefined,
      deadlineAt: 0,
      pausedMs: undefined,
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
    this.#referenced = undefined;
    this.#updateReferences();
  }

  #onMessage(slot: Slot, message: WorkerMessage): void {
    if (!this.#slots.has(slot)) return;
    switch (message.type) {
      case 'starting':
        // Only a running batch's deadline stops; the start may take the pool's start-up time.
        if (slot.deadline === undefined) return;
        clearTimeout(slot.deadline);
        slot.deadline = undefined;
        slot.pausedMs = Math.max(0, slot.deadlineAt - performance.now());
        slot.startTimer = setTimeout(() => {
          slot.stderr += `\nthe worker did not start an interpreter within ${this.#settings.startupTimeoutMs} ms`;
          slot.killedForDeadline = true;
          slot.child.kill('SIGKILL');
        }, this.#settings.startupTimeoutMs);
        return;
      case 'ready':
        clearTimeout(slot.startTimer);
        if (slot.pausedMs !== undefined) {
          const left = slot.pausedMs;
          slot.pausedMs = undefined;
          this.#startDeadline(slot, left);
        }
        slot.ready = true;
        this.#startFailures = 0;
        this.#scheduleDispatch();
        return;
      case 'fatal':
        slot.stderr += `\n${message.message}`;
        return;
      case 'results': {
        const batch = slot.batches[0];
        // After a missed deadline the batch is the worker's loss, whatever arrives late.
        if (slot.killedForDeadline || batch === undefined || batch.id !== message.batchId) return;
        slot.batches.shift();
        clearTimeout(slot.deadline);
        clearTimeout(slot.startTimer);
        slot.deadline = undefined;
        slot.pausedMs = undefined;
        this.#startDeadline(slot);
        const byId = new Map(batch.pending.map((pending) => [pending.job.id, pending]));
        for (const { id, result } of message.results) {
          const pending = byId.get(id);
          if (pending === undefined) continue;
          byId.delete(id);
          this.#statistics.jobsCompleted += 1;
          pending.resolve(result);
        }
        // A worker that answered only part of a batch is broken: the rest run again elsewhere.
        this.#requeue([...byId.values()]);
        this.#scheduleDispatch();
        return;
      }
    }
  }

  #onExit(slot: Slot, exitCode: number | null, signal: NodeJS.Signals | null): void {
    if (!this.#slots.delete(slot)) return;
    clearTimeout(slot.startTimer);
    clearTimeout(slot.deadline);
    this.#statistics.workersLost += 1;
    // Which of its batches the worker was running when it died is not known for sure (its last answer may
    // still be in the channel), so a job is blamed only when it was the only one the worker held.
    const held = slot.batches.splice(0).flatMap((batch) => batch.pending);
    const [only] = held;
    if (held.length === 1 && only !== undefined) {
      only.resolve(
        this.#settings.lossResult(only.job, {
          timedOut: slot.killedForDeadline,
          exitCode,
          signal,
          stderr: slot.stderr,
        }),
      );
    } else {
      this.#requeue(held);
    }
    if (this.#closed || this.#broken !== undefined) return;
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
    this.#scheduleDispatch();
  }

  #fail(error: AzrError): void {
    this.#broken = error;
    for (const pending of this.#suspects.splice(0)) pending.reject(error);
    for (const pending of this.#queue.splice(0)) pending.reject(error);
    for (const slot of this.#slots) {
      slot.child.kill('SIGKILL');
    }
  }

  /** Jobs whose worker was lost or did not answer them: each runs again alone. */
  #requeue(pending: readonly Pending[]): void {
    if (pending.length === 0) return;
    if (this.#broken !== undefined) {
      for (const item of pending) item.reject(this.#broken);
      return;
    }
    this.#suspects.push(...pending);
    this.#scheduleDispatch();
  }

  /**
   * Dispatches once the current task's submissions are queued, so that jobs submitted together (as when the
   * answers of a batch resolve and their callers submit the next programs) travel in one batch.
   */
  #scheduleDispatch(): void {
    if (this.#dispatchScheduled) return;
    this.#dispatchScheduled = true;
    queueMicrotask(() => {
      this.#dispatchScheduled = false;
      this.#dispatchAll();
    });
  }

  #dispatchAll(): void {
    if (this.#closed) return;
    const usable = [...this.#slots].filter((slot) => slot.ready && !slot.killedForDeadline);
    // A suspect runs on a worker that holds nothing else.
    for (const slot of usable) {
      const suspect = this.#suspects[0];
      if (suspect === undefined) break;
      if (slot.batches.length > 0) continue;
      this.#suspects.shift();
      this.#send(slot, [suspect], true);
    }
    // Idle workers first, then a second batch behind a running one. While a suspect waits for an idle worker,
    // nothing is queued behind running batches, so that workers become idle.
    for (let held = 0; held < this.#batchesPerWorker && this.#queue.length > 0; held += 1) {
      if (held > 0 && this.#suspects.length > 0) break;
      const open = usable.filter(
        (slot) => slot.batches.length === held && !slot.batches.some((batch) => batch.alone),
      );
      // Split what is queued evenly, so that a few jobs do not all wait on one worker.
      for (let index = 0; index < open.length && this.#queue.length > 0; index += 1) {
        const size = Math.min(
          this.#settings.maxBatchSize,
          Math.ceil(this.#queue.length / (open.length - index)),
        );
        this.#send(open[index] as Slot, this.#queue.splice(0, size), false);
      }
    }
    this.#updateReferences();
  }

  #send(slot: Slot, pending: Pending[], alone: boolean): void {
    const budgetMs =
      pending.reduce((total, item) => total + jobDeadlineMs(item.job), 0) + this.#settings.deadlineSlackMs;
    const batch: Batch = { id: this.#nextBatchId++, pending, budgetMs, alone };
    slot.batches.push(batch);
    this.#startDeadline(slot);
    const message: ParentMessage = {
      type: 'batch',
      batchId: batch.id,
      jobs: pending.map((item) => item.job),
    };
    slot.child.send(message);
  }

  /**
   * Starts the deadline of the batch the worker runs now (its budget, or `budgetMs`), if it has one, no
   * deadline runs and the worker is not starting an interpreter.
   */
  #startDeadline(slot: Slot, budgetMs?: number): void {
    const running = slot.batches[0];
    if (running === undefined || slot.deadline !== undefined || slot.pausedMs !== undefined) return;
    const ms = budgetMs ?? running.budgetMs;
    slot.deadlineAt = performance.now() + ms;
    slot.deadline = setTimeout(() => {
      slot.killedForDeadline = true;
      slot.child.kill('SIGKILL');
    }, ms);
  }

  /**
   * While any job is queued or running, the workers' channels and stderr pipes keep the host's event loop alive
   * (so that a script awaiting a result does not exit); when the pool is idle they do not (so that an executor
   * nobody closed does not keep a finished program running).
   */
  #updateReferences(): void {
    let busy = this.#queue.length > 0 || this.#suspects.length > 0;
    for (const slot of this.#slots) {
      busy ||= slot.batches.length > 0;
    }
    // Called on every submission: the channels change only when the pool turns busy or idle.
    if (busy === this.#referenced) return;
    this.#referenced = busy;
    for (const slot of this.#slots) {
      // The stderr pipe is a socket (typed as a plain stream).
      for (const handle of [slot.child.channel, slot.child.stderr] as (Referable | null | undefined)[]) {
        if (busy) handle?.ref?.();
        else handle?.unref?.();
      }
    }
  }
}

type Referable = { ref?: () => void; unref?: () => void };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
