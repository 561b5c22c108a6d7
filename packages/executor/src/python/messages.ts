import type { CanonicalLimits } from '@azr/core/spec';
import type { JobResult } from '../protocol.js';

/** What the Python worker process gives its interpreter thread. */
export interface InterpreterData {
  /** Shared with the process's main thread, which writes 2 (SIGINT) into it to interrupt a call. */
  readonly interrupt: Int32Array;
  readonly pyodideEntry: string;
  readonly sandboxPath: string;
  readonly limits: CanonicalLimits;
}

/** Messages from the interpreter thread to the worker process's main thread. */
export type InterpreterMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly id: number; readonly result: JobResult }
  | { readonly type: 'fatal'; readonly message: string };

/** Settings a Python worker process is started with (passed as JSON in its first argument). */
export interface PythonWorkerSettings {
  readonly pyodideEntry: string;
  readonly limits: CanonicalLimits;
  /** How long an interrupted call may take to stop before its interpreter is replaced, in milliseconds. */
  readonly interruptGraceMs: number;
}
