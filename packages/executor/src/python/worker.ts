// Entry point of a Python worker process, started by createPythonExecutor. Each of its two interpreters (the
// primary, which answers every call, and the shadow, which runs each validated proposal once more with another
// hash seed and address layout) runs in a worker thread, so that this thread stays free to interrupt them
// (through shared buffers) when a call runs past its limit, and to replace them when they do not stop or their
// state does not verify. A replacement restores the interpreter's memory snapshot (taken after its first
// start) rather than starting Pyodide again. The parent kills this whole process if it misses its own deadline.
//
// The primary starts with the process (the parent sends work after its 'ready'); the shadow starts when a
// validation first needs it, so that a worker that only answers `run` never loads a second Pyodide. Start-ups
// are never counted against a job's budget: an interpreter started while a batch runs (the shadow's first
// start, or a replacement) is announced to the parent with 'starting', which stops the batch's deadline until
// the next 'ready', and the call's own limit starts when the interpreter is ready.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ExecutionFailure, ValidationResult } from '@azr/core/spec';
import {
  type Job,
  type JobResult,
  jobBudgetMs,
  type ParentMessage,
  type WorkerMessage,
} from '../protocol.js';
import { statusToResult } from '../status.js';
import type {
  InterpreterData,
  InterpreterMessage,
  InterpreterRole,
  PythonWorkerSettings,
} from './messages.js';

const settings = JSON.parse(process.argv[2] ?? '') as PythonWorkerSettings;
/** The shadow's hash seed: fixed, so that verdicts are the same in every run. */
const SHADOW_HASH_SEED = '20250519';

type Answer =
  | { readonly type: 'result'; readonly result: JobResult }
  | { readonly type: 'states'; readonly statuses: readonly string[] }
  | { readonly type: 'lost'; readonly error: ExecutionFailure };

interface Interpreter {
  readonly role: InterpreterRole;
  readonly thread: Worker;
  readonly ready: Promise<void>;
  /** True once `ready` resolved. */
  started: boolean;
  pending: { readonly id: number; readonly resolve: (answer: Answer) => void } | undefined;
}

const interrupts: Record<InterpreterRole, Int32Array> = {
  primary: new Int32Array(new SharedArrayBuffer(4)),
  shadow: new Int32Array(new SharedArrayBuffer(4)),
};
const snapshots: Partial<Record<InterpreterRole, Uint8Array>> = {};
const interpreters: Record<InterpreterRole, Interpreter | undefined> = {
  primary: undefined,
  shadow: undefined,
};
const startFailures: Record<InterpreterRole, number> = { primary: 0, shadow: 0 };

function send(message: WorkerMessage): void {
  process.send?.(message);
}

function startInterpreter(role: InterpreterRole): Interpreter {
  // An interrupt left in the buffer by a call that was given up on must not stop the new interpreter's start.
  Atomics.store(interrupts[role], 0, 0);
  const data: InterpreterData = {
    role,
    interrupt: interrupts[role],
    pyodideEntry: settings.pyodideEntry,
    sandboxPath: fileURLToPath(new URL('./sandbox.py', import.meta.url)),
    limits: settings.limits,
    hashSeed: role === 'primary' ? '0' : SHADOW_HASH_SEED,
    snapshot: snapshots[role],
  };
  // A deeper stack than the default 4 MB: CPython in WebAssembly recurses on the JavaScript stack, for example
  // when it frees a deeply nested list.
  const thread = new Worker(new URL('./interpreter.js', import.meta.url), {
    workerData: data,
    resourceLimits: { stackSizeMb: 64 },
  });
  let markReady: () => void = () => undefined;
  let markFailed: (error: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    markFailed = reject;
  });
  ready.catch(() => undefined);
  const created: Interpreter = { role, thread, ready, started: false, pending: undefined };
  const answer = (id: number, value: Answer, clean: boolean): void => {
    if (created.pending?.id !== id) return;
    const { resolve } = created.pending;
    created.pending = undefined;
    // A state that did not verify is not used again: the next call gets a restored interpreter.
    if (!clean) retire(created);
    resolve(value);
  };
  thread.on('message', (message: InterpreterMessage) => {
    switch (message.type) {
      case 'ready':
        startFailures[role] = 0;
        created.started = true;
        markReady();
        return;
      case 'snapshot':
        snapshots[role] = message.snapshot;
        return;
      case 'fatal':
        markFailed(new Error(message.message));
        return;
      case 'result':
        answer(message.id, { type: 'result', result: message.result }, message.clean);
        return;
      case 'states':
        answer(message.id, { type: 'states', statuses: message.statuses }, message.clean);
        return;
    }
  });
  const lost = (reason: string): void => {
    markFailed(new Error(reason));
    const pending = created.pending;
    created.pending = undefined;
    if (interpreters[role] === created) interpreters[role] = undefined;
    pending?.resolve({ type: 'lost', error: crashed(reason) });
  };
  thread.on('error', (error) => lost(`the interpreter failed: ${error.message}`));
  thread.on('exit', (code) => lost(`the interpreter stopped (exit code ${code})`));
  return created;
}

function retire(interpreter: Interpreter): void {
  if (interpreters[interpreter.role] === interpreter) interpreters[interpreter.role] = undefined;
  void interpreter.thread.terminate();
}

function crashed(reason: string): ExecutionFailure {
  const memory = /memory|allocation/i.test(reason);
  return { kind: memory ? 'memory' : 'crashed', message: reason };
}

/** True while the worker runs a batch (after its first 'ready'). */
let inBatch = false;

/**
 * The role's interpreter, started (or restored from its snapshot) if there is none. A start during a batch is
 * announced to the parent ('starting', then 'ready'), which stops the batch's deadline meanwhile.
 */
async function usableInterpreter(role: InterpreterRole): Promise<Interpreter> {
  let announced = false;
  try {
    for (;;) {
      interpreters[role] ??= startInterpreter(role);
      const current = interpreters[role];
      if (!current.started && inBatch && !announced) {
        announced = true;
        send({ type: 'starting' });
      }
      try {
        await current.ready;
        return current;
      } catch (error) {
        startFailures[role] += 1;
        if (interpreters[role] === current) interpreters[role] = undefined;
        await current.thread.terminate();
        if (startFailures[role] >= 3) {
          // The parent sees the worker die before it was ready and reports the message.
          send({ type: 'fatal', message: `Pyodide failed to start: ${(error as Error).message}` });
          process.exit(1);
        }
      }
    }
  } finally {
    if (announced) send({ type: 'ready' });
  }
}

/** Runs a job on one interpreter under its time limit; an interpreter that does not stop is replaced. */
async function callInterpreter(role: InterpreterRole, job: Job, budget: number): Promise<Answer> {
  const current = await usableInterpreter(role);
  const interrupt = interrupts[role];
  Atomics.store(interrupt, 0, 0);
  return new Promise<Answer>((resolve) => {
    let grace: NodeJS.Timeout | undefined;
    let interrupted = false;
    const limit = setTimeout(() => {
      interrupted = true;
      Atomics.store(interrupt, 0, 2); // SIGINT: Python raises KeyboardInterrupt at the next bytecode.
      grace = setTimeout(() => {
        // The program swallowed the interrupt or is stuck outside Python: replace the interpreter.
        current.pending = undefined;
        retire(current);
        resolve({ type: 'lost', error: timeoutError(budget) });
      }, settings.interruptGraceMs);
    }, budget);
    current.pending = {
      id: job.id,
      resolve: (answer) => {
        clearTimeout(limit);
        clearTimeout(grace);
        // An interrupt may still be pending inside the interpreter (or have landed in its clean-up): the next
        // call gets a restored one.
        if (interrupted) retire(current);
        resolve(answer);
      },
    };
    current.thread.postMessage(job);
  });
}

function resultOf(job: Job, answer: Answer): JobResult {
  if (answer.type === 'result') {
    const { result } = answer;
    return job.type === 'validate' && 'ok' in result && !result.ok && !('argsIndex' in result)
      ? { ...result, argsIndex: undefined }
      : result;
  }
  const error = answer.type === 'lost' ? answer.error : crashed('the interpreter gave no result');
  return job.type === 'validate' ? { ok: false, error, argsIndex: undefined } : { ok: false, error };
}

/**
 * A validation's verdict from both interpreter states: the primary's (two calls in one state, compared), unless
 * the shadow's call gives another result for some argument list, which makes the program `nondeterministic`.
 */
function judge(primary: ValidationResult, shadow: Answer): ValidationResult {
  if (!primary.ok) return primary;
  if (shadow.type !== 'states') {
    const error = shadow.type === 'lost' ? shadow.error : crashed('the shadow interpreter gave no states');
    return { ok: false, error, argsIndex: undefined };
  }
  for (const [argsIndex, output] of primary.outputs.entries()) {
    const other = statusToResult(shadow.statuses[argsIndex] ?? 'xmissing');
    if (other.ok && other.value === output) continue;
    if (
      !other.ok &&
      (other.error.kind === 'timeout' || other.error.kind === 'memory' || other.error.kind === 'crashed')
    ) {
      return { ok: false, error: other.error, argsIndex };
    }
    const seen = other.ok ? other.value : `${other.error.kind}: ${other.error.message}`;
    return {
      ok: false,
      error: {
        kind: 'nondeterministic',
        message: `two interpreter states (hash seed, address layout) returned ${clip(output)} and ${clip(seen)}`,
      },
      argsIndex,
    };
  }
  return primary;
}

function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

async function execute(job: Job): Promise<JobResult> {
  const budget = jobBudgetMs(job);
  if (job.type !== 'validate' || job.argsList.length === 0) {
    return resultOf(job, await callInterpreter('primary', job, budget));
  }
  // The shadow runs only a proposal that the primary accepted: a rejected one (most failing proposals are
  // syntax, runtime or policy errors) costs one interpreter, not two, and a worker runs one interpreter thread
  // at a time (two workers on two CPUs no longer run four busy threads).
  // The shadow's limit is what the job's budget has left, and at least one limit per call it makes (one per
  // argument list), so that the whole job stays within its budget plus one call per argument list.
  const started = performance.now();
  const primary = resultOf(job, await callInterpreter('primary', job, budget)) as ValidationResult;
  if (!primary.ok) return primary;
  const left = Math.max(budget - (performance.now() - started), job.timeoutMs * job.argsList.length);
  return judge(primary, await callInterpreter('shadow', job, left));
}

function timeoutError(budgetMs: number): ExecutionFailure {
  return {
    kind: 'timeout',
    message: `the call did not stop within ${budgetMs} ms and its interpreter was replaced`,
  };
}

let queue: Promise<void> = Promise.resolve();
process.on('message', (message: ParentMessage) => {
  if (message.type !== 'batch') return;
  queue = queue.then(async () => {
    const results: { id: number; result: JobResult }[] = [];
    inBatch = true;
    try {
      for (const job of message.jobs) {
        results.push({ id: job.id, result: await execute(job) });
      }
    } finally {
      inBatch = false;
    }
    send({ type: 'results', batchId: message.batchId, results });
  });
});
process.on('disconnect', () => process.exit(0));

usableInterpreter('primary').then(
  () => send({ type: 'ready' }),
  (error: unknown) => send({ type: 'fatal', message: String(error) }),
);
