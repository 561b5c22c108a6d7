import type { CanonicalLimits } from '@azr/core/spec';
import type { JobResult } from '../protocol.js';

/**
 * The two interpreter states of a Python worker. `primary` answers every call (hash seed 0, so set order is
 * the same in every process); `shadow` runs each proposal of a validation once more, with another hash seed
 * and another address layout, so that programs whose result depends on either are found.
 */
export type InterpreterRole = 'primary' | 'shadow';

/** What the Python worker process gives an interpreter thread. */
export interface InterpreterData {
  readonly role: InterpreterRole;
  /** Shared with the process's main thread, which writes 2 (SIGINT) into it to interrupt a call. */
  readonly interrupt: Int32Array;
  readonly pyodideEntry: string;
  readonly sandboxPath: string;
  readonly limits: CanonicalLimits;
  /** `PYTHONHASHSEED` of a fresh start (a snapshot keeps the seed it was made with). */
  readonly hashSeed: string;
  /** A memory snapshot of this role's interpreter after start-up: restored instead of a fresh start. */
  readonly snapshot: Uint8Array | undefined;
}

/** Messages from an interpreter thread to the worker process's main thread. */
export type InterpreterMessage =
  | { readonly type: 'ready'; readonly startMs: number; readonly fromSnapshot: boolean }
  | { readonly type: 'snapshot'; readonly snapshot: Uint8Array }
  | {
      readonly type: 'result';
      readonly id: number;
      readonly result: JobResult;
      /** False when the interpreter's state did not verify after the call: it is replaced before the next. */
      readonly clean: boolean;
    }
  | {
      readonly type: 'states';
      readonly id: number;
      /** The shadow's status string for each argument list of a validation. */
      readonly statuses: readonly string[];
      readonly clean: boolean;
    }
  | { readonly type: 'fatal'; readonly message: string };

/** Settings a Python worker process is started with (passed as JSON in its first argument). */
export interface PythonWorkerSettings {
  readonly pyodideEntry: string;
  readonly limits: CanonicalLimits;
  /** How long an interrupted call may take to stop before its interpreter is replaced, in milliseconds. */
  readonly interruptGraceMs: number;
}
