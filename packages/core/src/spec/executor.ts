import type { CanonicalValue } from './canonical-value.js';
import type { TaskLanguage } from './task-language.js';

/**
 * Why an execution failed.
 *
 * - `syntax`: the program or literal does not parse.
 * - `runtime`: the program threw (the message names the exception).
 * - `timeout`: the call exceeded its time limit.
 * - `memory`: the call exceeded its memory limit.
 * - `policy`: the program uses something the sandbox forbids (a banned module, `eval`, the host's objects).
 * - `output-too-large`: the value exceeds the canonical encoding's caps (size, depth, node count) or is cyclic.
 * - `nondeterministic`: two runs of the same call gave different values.
 * - `crashed`: the worker running the call died; it was replaced and the next call is served normally.
 */
export type ExecutionErrorKind =
  | 'syntax'
  | 'runtime'
  | 'timeout'
  | 'memory'
  | 'policy'
  | 'output-too-large'
  | 'nondeterministic'
  | 'crashed';

/** Every {@link ExecutionErrorKind}. */
export const EXECUTION_ERROR_KINDS: readonly ExecutionErrorKind[] = [
  'syntax',
  'runtime',
  'timeout',
  'memory',
  'policy',
  'output-too-large',
  'nondeterministic',
  'crashed',
];

/** A failed execution: a kind to branch on and a message for people (and for the report). */
export interface ExecutionFailure {
  readonly kind: ExecutionErrorKind;
  readonly message: string;
}

/**
 * The outcome of one execution. Failures of the program are values, not exceptions: a model's bad program is
 * the normal case in self-play. Executors throw only when they themselves cannot work (closed, misconfigured).
 */
export type ExecutionResult =
  | { readonly ok: true; readonly value: CanonicalValue }
  | { readonly ok: false; readonly error: ExecutionFailure };

/** One call of {@link ExecutorV1.run}. */
export interface RunRequest {
  /** Program source that defines the function `entry` (and anything it needs). */
  readonly code: string;
  /** Name of the function to call. Default `f`. */
  readonly entry?: string;
  /**
   * Source text of the argument list in the executor's language, without parentheses: the call made is
   * `entry(<args>)`. For example `"[1, 2], 'x'"`. An empty string calls with no arguments.
   */
  readonly args: string;
  /** Overrides the executor's default time limit for this call, in milliseconds. */
  readonly timeoutMs?: number;
}

/** One call of {@link ExecutorV1.validateProgram}. */
export interface ValidateProgramRequest {
  /** Program source that defines the function `entry`. */
  readonly code: string;
  /** Name of the function to call. Default `f`. */
  readonly entry?: string;
  /** One argument-list source per call to check (see {@link RunRequest.args}). At least one. */
  readonly argsList: readonly string[];
  /** Overrides the executor's default time limit per call, in milliseconds. */
  readonly timeoutMs?: number;
}

/**
 * The outcome of {@link ExecutorV1.validateProgram}: the canonical output of every argument list, or the first
 * failure with the index of the argument list that caused it (`undefined` when the program itself failed,
 * for example on syntax or policy).
 */
export type ValidationResult =
  | { readonly ok: true; readonly outputs: readonly CanonicalValue[] }
  | { readonly ok: false; readonly error: ExecutionFailure; readonly argsIndex: number | undefined };

/**
 * Runs untrusted programs written by the model. The executor is the only source of truth in Absolute Zero:
 * it validates proposals, computes gold outputs and checks answers.
 *
 * Every method is async and safe to call concurrently. Values leave the sandbox only as
 * {@link CanonicalValue} strings. A program can make a call fail, never the executor: after any failure the
 * next call is served normally.
 */
export interface ExecutorV1 {
  readonly specificationVersion: 'v1';
  /** Names the implementation, e.g. `isolated-vm`, `pyodide`, `mock`. */
  readonly executorId: string;
  /** The language programs and literals are written in. */
  readonly language: TaskLanguage;
  /** Calls `entry(<args>)` once and returns the canonical value. */
  run(request: RunRequest): Promise<ExecutionResult>;
  /**
   * Evaluates a value literal written in the executor's language (how a solver's predicted output or input
   * is read) and returns its canonical value. Only literals and pure expressions over them are accepted.
   */
  evaluateLiteral(source: string): Promise<ExecutionResult>;
  /**
   * Checks a program the way a proposal is checked: syntax, the sandbox policy, and determinism. For each
   * argument list, the program is loaded into fresh state and `entry` is called twice there, as the reference
   * implementation does; the two canonical results must be equal, so a result that depends on randomness, the
   * clock, or state the program mutates between calls is rejected as `nondeterministic`. Returns the canonical
   * outputs.
   */
  validateProgram(request: ValidateProgramRequest): Promise<ValidationResult>;
  /** Stops workers and releases resources. Later calls reject with an `AzrError`. Calling it twice is harmless. */
  close(): Promise<void>;
}
