// A worker thread that owns one Pyodide interpreter. It is started by the Python worker process (worker.ts),
// which interrupts it through a shared buffer when a call runs past its time limit, and replaces it when it
// stops answering.
import { constants, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type { ExecutionResult, ValidationResult } from '@azr/core/spec';
import type { Job } from '../protocol.js';
import { statusToResult } from '../status.js';
import type { InterpreterData, InterpreterMessage } from './messages.js';

const data = workerData as InterpreterData;

const HOST_GLOBALS = [
  'process',
  'Buffer',
  'fetch',
  'WebSocket',
  'XMLHttpRequest',
  'EventSource',
  'navigator',
  'BroadcastChannel',
  'MessageChannel',
  'MessagePort',
  'setTimeout',
  'setInterval',
  'setImmediate',
  'clearTimeout',
  'clearInterval',
  'clearImmediate',
  'queueMicrotask',
  'require',
  'module',
];

function post(message: InterpreterMessage): void {
  parentPort?.postMessage(message);
}

type PythonCallable = (...parameters: unknown[]) => unknown;

interface PyodideLike {
  setInterruptBuffer(buffer: Int32Array): void;
  runPython(code: string, options?: { globals?: unknown }): unknown;
  makeMemorySnapshot(): Uint8Array;
  toPy(value: unknown): unknown;
  globals: { get(name: string): unknown; delete(name: string): void };
}

interface PythonSequence {
  toJs(options: { depth: number }): unknown[];
}

async function start(): Promise<void> {
  const started = performance.now();
  // Emscripten reads the file-system constants through process.binding, which Node's permission model (on in
  // the worker process) refuses. Answer that one question, then put the refusal back.
  const host = process as unknown as { binding: (name: string) => unknown };
  const binding = host.binding;
  host.binding = (name: string) => (name === 'constants' ? { fs: constants } : binding.call(process, name));
  let pyodide: PyodideLike;
  const quiet = { stdout: () => undefined, stderr: () => undefined, stdin: () => null };
  try {
    const { loadPyodide } = (await import(pathToFileURL(data.pyodideEntry).href)) as {
      loadPyodide: (options: Record<string, unknown>) => Promise<PyodideLike>;
    };
    pyodide =
      data.snapshot === undefined
        ? await loadPyodide({
            env: { PYTHONHASHSEED: data.hashSeed, TZ: 'UTC' },
            ...quiet,
            _makeSnapshot: true,
          })
        : await loadPyodide({ _loadSnapshot: data.snapshot, ...quiet });
  } finally {
    host.binding = binding;
  }
  if (data.snapshot === undefined) {
    // The sandbox in a namespace of its own (not __main__); it leaves its entry points in __main__ for us.
    const namespace = (pyodide.globals.get('dict') as () => unknown)();
    pyodide.runPython(readFileSync(data.sandboxPath, 'utf8'), { globals: namespace });
    // Replacing this interpreter later restores this memory (a fifth of a fresh start's time).
    const snapshot = pyodide.makeMemorySnapshot();
    parentPort?.postMessage({ type: 'snapshot', snapshot } satisfies InterpreterMessage, [
      snapshot.buffer as ArrayBuffer,
    ]);
  }
  const handoff = pyodide.globals.get('__azr_sandbox__') as PythonSequence;
  pyodide.globals.delete('__azr_sandbox__');
  const [run, validate, shadow, literal, verified, lock] = handoff.toJs({ depth: 1 }) as PythonCallable[];
  const sandbox = { run, validate, shadow, literal, clean: verified } as Record<string, PythonCallable>;
  pyodide.setInterruptBuffer(data.interrupt);
  const limits = pyodide.toPy(data.limits);
  (lock as PythonCallable)();
  // A program that gets past the Python policy reaches this thread's JavaScript through Pyodide's bridge. Leave
  // it nothing to use there: no process object, no network, no timers to run code after its call has
  // returned, no channels to other threads. (Code from strings is off for the whole process, so it cannot
  // import a module either.)
  for (const name of HOST_GLOBALS) {
    Reflect.deleteProperty(globalThis, name);
  }

  let clean = true;
  parentPort?.on('message', (job: Job) => {
    clean = true;
    if (data.role === 'shadow' && job.type === 'validate') {
      const statuses = job.argsList.map((args) =>
        call(sandbox.shadow as PythonCallable, job.code, job.entry, args),
      );
      post({ type: 'states', id: job.id, statuses, clean });
      return;
    }
    const result = execute(job);
    post({ type: 'result', id: job.id, result, clean });
  });

  function call(function_: PythonCallable, ...parameters: unknown[]): string {
    const status = function_(...parameters, limits);
    clean &&= (sandbox.clean as PythonCallable)() === true;
    return typeof status === 'string' ? status : 'xthe sandbox returned no status';
  }

  function execute(job: Job): ExecutionResult | ValidationResult {
    switch (job.type) {
      case 'run':
        return statusToResult(call(sandbox.run as PythonCallable, job.code, job.entry, job.args));
      case 'literal':
        return statusToResult(call(sandbox.literal as PythonCallable, job.source));
      case 'validate': {
        if (job.argsList.length === 0) {
          return { ok: false, error: { kind: 'syntax', message: 'argsList is empty' }, argsIndex: undefined };
        }
        const outputs = [];
        for (const [argsIndex, args] of job.argsList.entries()) {
          const result = statusToResult(call(sandbox.validate as PythonCallable, job.code, job.entry, args));
          if (!result.ok) {
            const programFault = result.error.kind === 'syntax' && result.error.message.includes('<program>');
            return { ok: false, error: result.error, argsIndex: programFault ? undefined : argsIndex };
          }
          outputs.push(result.value);
        }
        return { ok: true, outputs };
      }
    }
  }

  // One call before the first real one: a restored interpreter's first call otherwise pays for its code
  // being compiled again in this thread, inside a program's time limit.
  call(sandbox.run as PythonCallable, 'def f(a):\n    return [a, {a: (a,)}]', 'f', '1');
  post({ type: 'ready', startMs: performance.now() - started, fromSnapshot: data.snapshot !== undefined });
}

start().catch((error: unknown) => {
  post({ type: 'fatal', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
});
