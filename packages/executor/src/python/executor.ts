import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { assertNumberInRange, MissingDependencyError } from '@azr/core/spec';
import { workerScript } from '../supervisor/locate.js';
import {
  createPoolExecutor,
  lossResult,
  type PoolExecutor,
  type PoolExecutorSettings,
  resolvePoolSettings,
} from '../supervisor/pool-executor.js';
import { WorkerPool } from '../supervisor/worker-pool.js';
import type { PythonWorkerSettings } from './messages.js';

/**
 * Settings of {@link createPythonExecutor}. Also: `workers` (CPUs; each loads Pyodide, about 4 s), `timeoutMs`
 * (100), `limits`, `maxBatchSize` (16), `deadlineSlackMs` (20,000: it covers starting a new interpreter after
 * one had to be replaced).
 */
export interface PythonExecutorSettings extends PoolExecutorSettings {
  /** How long an interrupted call may take to stop before its interpreter is replaced. Default `1000`. */
  readonly interruptGraceMs?: number;
}

/** The Python executor: {@link ExecutorV1} plus counters of its workers. */
export type PythonExecutor = PoolExecutor<'python'>;

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
  const common = resolvePoolSettings(settings, { slackMs: 20_000, maxBatchSize: 16 });
  const interruptGraceMs = assertNumberInRange('interruptGraceMs', settings.interruptGraceMs ?? 1000, {
    minimum: 1,
  });
  const script = workerScript('python');
  const workerSettings: PythonWorkerSettings = { pyodideEntry, limits: common.limits, interruptGraceMs };
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
    size: common.workers,
    maxBatchSize: common.maxBatchSize,
    deadlineSlackMs: common.deadlineSlackMs,
    startupTimeoutMs: 60_000,
    environment: { ...process.env, TZ: 'UTC', LANG: 'C', LC_ALL: 'C' },
    lossResult,
  });
  return createPoolExecutor(pool, {
    executorId: 'pyodide',
    language: 'python',
    defaultTimeoutMs: common.timeoutMs,
  });
}
