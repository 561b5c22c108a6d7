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
  toPy(value: unknown): unknown;
  globals: { get(name: string): unknown };
}

async function start(): Promise<void> {
  // Emscripten reads the file-system constants through process.binding, which Node's permission model (on in
  // the worker process) refuses. Answer that one question, then put the refusal back.
  const host = process as unknown as { binding: (name: string) => unknown };
  const binding = host.binding;
  host.binding = (name: string) => (name === 'constants' ? { fs: constants } : binding.call(process, name));
  let pyodide: PyodideLike;
  try {
    const { loadPyodide } = (await import(pathToFileURL(data.pyodideEntry).href)) as {
      loadPyodide: (options: Record<string, unknown>) => Promise<PyodideLike>;
    };
    pyodide = await loadPyodide({
      env: { PYTHONHASHSEED: '0', TZ: 'UTC' },
      stdout: () => undefined,
      stderr: () => undefined,
      stdin: () => null,
    });
  } finally {
    host.binding = binding;
  }
  pyodide.setInterruptBuffer(data.interrupt);
  pyodide.runPython(readFileSync(data.sandboxPath, 'utf8'));
  const sandbox = {
    run: pyodide.globals.get('run') as PythonCallable,
    validate: pyodide.globals.get('validate') as PythonCallable,
    literal: pyodide.globals.get('literal') as PythonCallable,
  };
  const limits = pyodide.toPy(data.limits);
  // A program that gets past the Python policy reaches this thread's JavaScript through Pyodide's bridge. Leave
  // it nothing to use there: no process object, no network, no timers to run code after its call has
  // returned, no channels to other threads. (Code from strings is off for the whole process, so it cannot
  // import a module either.)
  for (const name of HOST_GLOBALS) {
    Reflect.deleteProperty(globalThis, name);
  }

  parentPort?.on('message', (job: Job) => {
    post({ type: 'result', id: job.id, result: execute(job) });
  });

  function call(function_: PythonCallable, ...parameters: unknown[]): string {
    const status = function_(...parameters, limits);
    return typeof status === 'string' ? status : 'xthe sandbox returned no status';
  }

  function execute(job: Job): ExecutionResult | ValidationResult {
    switch (job.type) {
      case 'run':
        return statusToResult(call(sandbox.run, job.code, job.entry, job.args));
      case 'literal':
        return statusToResult(call(sandbox.literal, job.source));
      case 'validate': {
        if (job.argsList.length === 0) {
          return { ok: false, error: { kind: 'syntax', message: 'argsList is empty' }, argsIndex: undefined };
        }
        const outputs = [];
        for (const [argsIndex, args] of job.argsList.entries()) {
          const result = statusToResult(call(sandbox.validate, job.code, job.entry, args));
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

  post({ type: 'ready' });
}

start().catch((error: unknown) => {
  post({ type: 'fatal', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
});
