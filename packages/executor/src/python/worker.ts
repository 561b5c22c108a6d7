// Entry point of a Python worker process, started by createPythonExecutor. Pyodide runs in a worker thread so
// that this thread stays free to interrupt it (through a shared buffer) when a call runs past its limit, and
// to replace it when it does not stop. The parent kills this whole process if it misses its own deadline.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  type Job,
  type JobResult,
  jobBudgetMs,
  type ParentMessage,
  type WorkerMessage,
} from '../protocol.js';
import type { InterpreterData, InterpreterMessage, PythonWorkerSettings } from './messages.js';

const settings = JSON.parse(process.argv[2] ?? '') as PythonWorkerSettings;
const interrupt = new Int32Array(new SharedArrayBuffer(4));

function send(message: WorkerMessage): void {
  process.send?.(message);
}

interface Interpreter {
  readonly thread: Worker;
  readonly ready: Promise<void>;
  pending: { readonly id: number; readonly resolve: (result: JobResult) => void } | undefined;
}

let interpreter: Interpreter | undefined;
let startFailures = 0;

function startInterpreter(): Interpreter {
  const data: InterpreterData = {
    interrupt,
    pyodideEntry: settings.pyodideEntry,
    sandboxPath: fileURLToPath(new URL('./sandbox.py', import.meta.url)),
    limits: settings.limits,
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
  const created: Interpreter = { thread, ready, pending: undefined };
  thread.on('message', (message: InterpreterMessage) => {
    if (message.type === 'ready') {
      startFailures = 0;
      markReady();
    } else if (message.type === 'fatal') {
      markFailed(new Error(message.message));
    } else if (created.pending?.id === message.id) {
      const { resolve } = created.pending;
      created.pending = undefined;
      resolve(message.result);
    }
  });
  const lost = (reason: string): void => {
    markFailed(new Error(reason));
    const pending = created.pending;
    created.pending = undefined;
    if (interpreter === created) interpreter = undefined;
    pending?.resolve(crashed(reason));
  };
  thread.on('error', (error) => lost(`the interpreter failed: ${error.message}`));
  thread.on('exit', (code) => lost(`the interpreter stopped (exit code ${code})`));
  return created;
}

function crashed(reason: string): JobResult {
  const memory = /memory|allocation/i.test(reason);
  return { ok: false, error: { kind: memory ? 'memory' : 'crashed', message: reason } };
}

async function usableInterpreter(): Promise<Interpreter> {
  for (;;) {
    interpreter ??= startInterpreter();
    const current = interpreter;
    try {
      await current.ready;
      return current;
    } catch (error) {
      startFailures += 1;
      if (interpreter === current) interpreter = undefined;
      await current.thread.terminate();
      if (startFailures >= 3) {
        // The parent sees the worker die before it was ready and reports the message.
        send({ type: 'fatal', message: `Pyodide failed to start: ${(error as Error).message}` });
        process.exit(1);
      }
    }
  }
}

async function execute(job: Job): Promise<JobResult> {
  const current = await usableInterpreter();
  Atomics.store(interrupt, 0, 0);
  const budget = jobBudgetMs(job);
  return new Promise<JobResult>((resolve) => {
    let grace: NodeJS.Timeout | undefined;
    const limit = setTimeout(() => {
      Atomics.store(interrupt, 0, 2); // SIGINT: Python raises KeyboardInterrupt at the next bytecode.
      grace = setTimeout(() => {
        // The program swallowed the interrupt or is stuck outside Python: replace the interpreter.
        current.pending = undefined;
        if (interpreter === current) interpreter = undefined;
        void current.thread.terminate();
        resolve(
          job.type === 'validate'
            ? { ok: false, error: timeoutError(budget), argsIndex: undefined }
            : { ok: false, error: timeoutError(budget) },
        );
      }, settings.interruptGraceMs);
    }, budget);
    current.pending = {
      id: job.id,
      resolve: (result) => {
        clearTimeout(limit);
        clearTimeout(grace);
        resolve(
          job.type === 'validate' && 'ok' in result && !result.ok && !('argsIndex' in result)
            ? { ...result, argsIndex: undefined }
            : result,
        );
      },
    };
    current.thread.postMessage(job);
  });
}

function timeoutError(budgetMs: number): { kind: 'timeout'; message: string } {
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
    for (const job of message.jobs) {
      results.push({ id: job.id, result: await execute(job) });
    }
    send({ type: 'results', batchId: message.batchId, results });
  });
});
process.on('disconnect', () => process.exit(0));

usableInterpreter().then(
  () => send({ type: 'ready' }),
  (error: unknown) => send({ type: 'fatal', message: String(error) }),
);
