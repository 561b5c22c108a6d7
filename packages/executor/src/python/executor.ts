import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import {
  assertNumberInRange,
  type CanonicalLimits,
  DEFAULT_CANONICAL_LIMITS,
  type ExecutionResult,
  type ExecutorV1,
  MissingDependencyError,
  type RunRequest,
  type ValidateProgramRequest,
  type ValidationResult,
} from '@azr/core';
import type { Job, JobResult } from '../protocol.js';
import { workerScript } from '../supervisor/locate.js';
import { type WorkerLoss, WorkerPool, type WorkerPoolStatistics } from '../supervisor/worker-pool.js';
import type { PythonWorkerSettings } from './messages.js';

/** Settings of {@link createPythonExecutor}. */
export interface PythonExecutorSettings {
  /** Worker processes, each with its own Pyodide interpreter (about 4 s to start). Default: the number of CPUs. */
  readonly workers?: number;
  /** Time limit of one call, in milliseconds, unless a request sets its own. Default `100`. */
  readonly timeoutMs?: number;
  /** Caps of the canonical encoding of results. Default {@link DEFAULT_CANONICAL_LIMITS}. */
  readonly limits?: Partial<CanonicalLimits>;
  /** Most calls sent to a worker in one message. Default `16`. */
  readonly maxBatchSize?: number;
  /**
   * Extra time a worker gets beyond its calls' limits before it is killed, in milliseconds. It covers starting
   * a new interpreter after one had to be replaced. Default `20000`.
   */
  readonly deadlineSlackMs?: number;
  /** How long an interrupted call may take to stop before its interpreter is replaced. Default `1000`. */
  readonly interruptGraceMs?: number;
}

/** The Python executor: {@link ExecutorV1} plus counters of its workers. */
export interface PythonExecutor extends ExecutorV1 {
  readonly language: 'python';
  statistics(): WorkerPoolStatistics;
}

function lossResult(job: Job, loss: WorkerLoss): JobResult {
  const error = loss.timedOut
    ? { kind: 'timeout' as const, message: 'the worker stopped responding and was replaced' }
    : /out of memory|allocation failed|heap limit/i.test(loss.stderr)
      ? { kind: 'memory' as const, message: 'the worker ran out of memory and was replaced' }
      : {
          kind: 'crashed' as const,
          message: `the worker died (exit code ${loss.exitCode}, signal ${loss.signal}) and was replaced`,
        };
  return job.type === 'validate' ? { ok: false, error, argsIndex: undefined } : { ok: false, error };
}

/**
 * Creates an executor that runs Python programs in Pyodide (CPython compiled to WebAssembly: no host Python,
 * no file system, no network), inside supervised worker processes.
 *
 * Programs get their own builtins: imports limited to pure standard modules (`math`, `itertools`,
 * `collections`, `functools`, `re`, ...; not `os`, `sys`, `time`, `random`, `datetime`, `subprocess`, threads
 * or the host bridge `js`), and no `open`, `input`, `eval`, `exec` or `compile`. Hash randomisation is off
 * (`PYTHONHASHSEED=0`), so set iteration order is the same in every run. Calls past their time limit are
 * interrupted (`KeyboardInterrupt`); an interpreter that does not stop is replaced. After every call, the
 * attributes of every loaded module and of the classes they define are restored, so a program cannot leave
 * state behind (`math.pi = 3`) for the next one.
 *
 * The Python policy is a first layer, not a wall: Python's introspection lets a determined program reach
 * Pyodide's bridge to the interpreter thread's JavaScript. What it finds there is emptied (no `process`, no
 * network, no timers, no code from strings), and the worker processes run under Node's permission model:
 * they can read only Pyodide's and this package's files, and cannot write files, start processes or load
 * native addons.
 *
 * Python values map onto the canonical encoding as: `None` to `null`, `bool`, `int` (exact), `float` (with
 * `NaN`, `Infinity`, `-0`), `str`, `list` to `[...]`, `tuple` to `Tuple[...]`, `dict` to `Map{...}`, `set` and
 * `frozenset` to `Set[...]`, `bytes` to `Bytes[...]`, `complex` to `Complex(re,im)`, `range` to
 * `Range(start,stop,step)`, exceptions to `Error(...)`, and instances to `ClassName{...}` of their attributes.
 */
export function createPythonExecutor(settings: PythonExecutorSettings = {}): PythonExecutor {
  let pyodideEntry: string;
  try {
    pyodideEntry = join(
      dirname(createRequire(import.meta.url).resolve('pyodide/package.json')),
      'pyodide.mjs',
    );
  } catch (error) {
    throw new MissingDependencyError(
      { packageName: 'pyodide', feature: 'The Python executor of @azr/executor' },
      { cause: error },
    );
  }
  const workers = assertNumberInRange('workers', settings.workers ?? availableParallelism(), {
    minimum: 1,
    maximum: 256,
    integer: true,
  });
  const defaultTimeoutMs = assertNumberInRange('timeoutMs', settings.timeoutMs ?? 100, {
    minimum: 1,
    maximum: 600_000,
  });
  const maxBatchSize = assertNumberInRange('maxBatchSize', settings.maxBatchSize ?? 16, {
    minimum: 1,
    integer: true,
  });
  const deadlineSlackMs = assertNumberInRange('deadlineSlackMs', settings.deadlineSlackMs ?? 20_000, {
    minimum: 0,
  });
  const interruptGraceMs = assertNumberInRange('interruptGraceMs', settings.interruptGraceMs ?? 1000, {
    minimum: 1,
  });
  const limits: CanonicalLimits = { ...DEFAULT_CANONICAL_LIMITS, ...settings.limits };
  for (const key of ['maxDepth', 'maxNodes', 'maxLength'] as const) {
    assertNumberInRange(`limits.${key}`, limits[key], { minimum: 1, integer: true });
  }
  const script = workerScript('python');
  const workerSettings: PythonWorkerSettings = { pyodideEntry, limits, interruptGraceMs };
  const pool = new WorkerPool({
    name: 'Python executor',
    workerPath: script,
    workerArguments: [JSON.stringify(workerSettings)],
    executionArguments: [
      '--experimental-permission',
      '--allow-worker',
      `--allow-fs-read=${join(dirname(pyodideEntry), '*')}`,
      `--allow-fs-read=${join(dirname(dirname(script)), '*')}`,
      '--disallow-code-generation-from-strings',
      '--no-warnings',
    ],
    size: workers,
    maxBatchSize,
    deadlineSlackMs,
    startupTimeoutMs: 60_000,
    environment: { ...process.env, TZ: 'UTC', LANG: 'C', LC_ALL: 'C' },
    lossResult,
  });

  const timeoutOf = (timeoutMs: number | undefined): number =>
    timeoutMs === undefined
      ? defaultTimeoutMs
      : assertNumberInRange('timeoutMs', timeoutMs, { minimum: 1, maximum: 600_000 });

  return {
    specificationVersion: 'v1',
    executorId: 'pyodide',
    language: 'python',
    async run(request: RunRequest): Promise<ExecutionResult> {
      return (await pool.submit({
        type: 'run',
        code: request.code,
        entry: request.entry ?? 'f',
        args: request.args,
        timeoutMs: timeoutOf(request.timeoutMs),
      })) as ExecutionResult;
    },
    async evaluateLiteral(source: string): Promise<ExecutionResult> {
      return (await pool.submit({ type: 'literal', source, timeoutMs: defaultTimeoutMs })) as ExecutionResult;
    },
    async validateProgram(request: ValidateProgramRequest): Promise<ValidationResult> {
      return (await pool.submit({
        type: 'validate',
        code: request.code,
        entry: request.entry ?? 'f',
        argsList: request.argsList,
        timeoutMs: timeoutOf(request.timeoutMs),
      })) as ValidationResult;
    },
    close: () => pool.close(),
    statistics: () => pool.statistics,
  };
}
