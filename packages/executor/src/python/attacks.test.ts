import type { ExecutionErrorKind, ExecutionResult } from '@azr/core/spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPythonExecutor } from './executor.js';

/**
 * Programs that try to escape, hang or crash the Python executor. Each must end within its deadline with a
 * typed failure (or a harmless value), and the executor must serve a normal call right after. Escapes through
 * Python introspection reach Pyodide's bridge; the tests check that nothing of the host is found there.
 */
interface Attack {
  readonly name: string;
  readonly code: string;
  readonly args?: string;
  readonly outcomes: readonly (ExecutionErrorKind | `value:${string}`)[];
  readonly timeoutMs?: number;
}

const REAL_IMPORT = 'import re\n_import = re.__builtins__["__import__"]\n';

const ATTACKS: readonly Attack[] = [
  { name: 'import os', code: 'import os\ndef f():\n    return os.getcwd()', outcomes: ['policy'] },
  { name: 'import sys', code: 'import sys\ndef f():\n    return sys.version', outcomes: ['policy'] },
  { name: 'import subprocess', code: 'import subprocess\ndef f():\n    return 1', outcomes: ['policy'] },
  {
    name: 'import the host bridge',
    code: 'import js\ndef f():\n    return js.process.pid',
    outcomes: ['policy'],
  },
  { name: 'import pyodide', code: 'import pyodide\ndef f():\n    return 1', outcomes: ['policy'] },
  {
    name: '__import__ by hand',
    code: 'def f():\n    return __import__("os").getcwd()',
    outcomes: ['policy'],
  },
  { name: 'relative import', code: 'from . import x\ndef f():\n    return 1', outcomes: ['policy'] },
  { name: 'open a file', code: 'def f():\n    return open("/etc/passwd").read()', outcomes: ['runtime'] },
  { name: 'eval and exec', code: 'def f():\n    return eval("1 + 1")', outcomes: ['runtime'] },
  {
    name: "the real import through a module's builtins, then the host process",
    code: `${REAL_IMPORT}def f():\n    return _import("js").process.pid`,
    outcomes: ['policy'],
  },
  {
    name: 'the real import, then JavaScript from a string',
    code: `${REAL_IMPORT}def f():\n    return str(_import("js").eval("1 + 1"))`,
    outcomes: ['policy'],
  },
  {
    name: 'the real import, then run_js',
    code: `${REAL_IMPORT}def f():\n    return str(_import("pyodide.code", None, None, ["run_js"]).run_js("typeof process"))`,
    outcomes: ['policy'],
  },
  {
    name: 'the real import, then a dynamic import of node:net',
    code: `${REAL_IMPORT}def f():\n    return str(_import("js").Function("return import('node:net')")())`,
    outcomes: ['policy'],
  },
  // Pyodide's file system is its own, in memory: the host's root is not there.
  {
    name: 'the real import, then the file system',
    code: `${REAL_IMPORT}def f():\n    os = _import("os")\n    return sorted(os.listdir("/"))`,
    outcomes: ['policy'],
  },
  {
    name: 'the real import, then timers that outlive the call',
    code: `${REAL_IMPORT}def f():\n    js = _import("js")\n    return str(js.setTimeout)`,
    outcomes: ['policy'],
  },
  { name: 'endless loop', code: 'def f():\n    while True:\n        pass', outcomes: ['timeout'] },
  {
    name: 'endless loop that swallows the interrupt',
    code: 'def f():\n    while True:\n        try:\n            while True:\n                pass\n        except BaseException:\n            pass',
    outcomes: ['timeout'],
  },
  {
    name: 'catastrophic regular expression',
    code: 'import re\ndef f(s):\n    return bool(re.match(r"^(a+)+$", s))',
    args: '"a" * 40 + "b"',
    outcomes: ['timeout'],
  },
  { name: 'deep recursion', code: 'def f(n):\n    return f(n + 1) + 1', args: '0', outcomes: ['runtime'] },
  {
    name: 'one huge allocation',
    code: 'def f():\n    return len(bytearray(2 ** 34))',
    outcomes: ['runtime', 'memory'],
  },
  {
    name: 'growing memory',
    code: 'def f():\n    chunks = []\n    while True:\n        chunks.append(bytearray(10 ** 7))',
    outcomes: ['memory', 'runtime', 'timeout'],
    timeoutMs: 5000,
  },
  {
    name: '100 MB output',
    code: 'def f():\n    return "a" * 10 ** 8',
    outcomes: ['output-too-large'],
    timeoutMs: 2000,
  },
  {
    name: 'deeply nested output',
    code: 'def f():\n    v = []\n    for _ in range(10 ** 5):\n        v = [v]\n    return v',
    outcomes: ['output-too-large'],
  },
  {
    name: 'cyclic output',
    code: 'def f():\n    d = {}\n    d["self"] = d\n    return d',
    outcomes: ['output-too-large'],
  },
  { name: 'the clock', code: 'import time\ndef f():\n    return time.time()', outcomes: ['policy'] },
  { name: 'randomness', code: 'import random\ndef f():\n    return random.random()', outcomes: ['policy'] },
  { name: 'threads', code: 'import threading\ndef f():\n    return 1', outcomes: ['policy'] },
];

function outcomeOf(result: ExecutionResult): string {
  return result.ok ? `value:${result.value}` : result.error.kind;
}

/** Limit of an attack that must be stopped (endless loops, a catastrophic pattern): what it is tested for. */
const ATTACK_TIMEOUT_MS = 300;
/**
 * Limit of every other call: attacks whose verdict is not a timeout, and the follow-up calls that check that
 * the worker still answers correctly, get room for a loaded machine (CI runs test files in parallel on two
 * cores), so that a slow moment does not pass for a verdict.
 */
const GENEROUS_TIMEOUT_MS = 10_000;
const executor = createPythonExecutor({ workers: 1, timeoutMs: GENEROUS_TIMEOUT_MS });
// The worker's first start (a fresh Pyodide, up to 20 s and more on a loaded machine) is not part of any test.
beforeAll(async () => {
  expect(await executor.run({ code: 'def f():\n    return 1', args: '' })).toEqual({ ok: true, value: '1' });
}, 120_000);
afterAll(() => executor.close());

describe('attacks on the Python executor', () => {
  it.each(ATTACKS)('$name', async (attack) => {
    const limit =
      attack.timeoutMs ?? (attack.outcomes.includes('timeout') ? ATTACK_TIMEOUT_MS : GENEROUS_TIMEOUT_MS);
    const started = performance.now();
    const result = await executor.run({
      code: attack.code,
      args: attack.args ?? '',
      timeoutMs: limit,
    });
    const elapsed = performance.now() - started;
    expect(attack.outcomes, JSON.stringify(result)).toContain(outcomeOf(result));
    // Within its deadline: its own limit, plus starting a new interpreter when one had to be replaced.
    expect(elapsed).toBeLessThan(limit + 20_000);
    const next = await executor.run({ code: 'def f(a):\n    return a + 1', args: '41' });
    expect(next).toEqual({ ok: true, value: '42' });
  });

  it('lost no worker process: interpreters were interrupted or replaced inside their process', () => {
    const { workersStarted, workersLost } = executor.statistics();
    expect(workersStarted).toBe(1 + workersLost);
  });
});

describe('no state carries from one Python program to the next', () => {
  it.each([
    [
      'a module attribute',
      'import math\nmath.pi = 3\ndef f():\n    return 0',
      'import math\ndef f():\n    return math.pi',
      '3.141592653589793',
    ],
    [
      'a new module attribute',
      'import math\nmath.leak = 1\ndef f():\n    return 0',
      'import math\ndef f():\n    return hasattr(math, "leak")',
      'false',
    ],
    [
      'a class attribute',
      'from collections import Counter\nCounter.leak = 1\ndef f():\n    return 0',
      'from collections import Counter\ndef f():\n    return hasattr(Counter, "leak")',
      'false',
    ],
    [
      'a replaced function',
      'import functools\nfunctools.reduce = lambda *a: "leaked"\ndef f():\n    return 0',
      'import functools\ndef f():\n    return functools.reduce(lambda a, b: a + b, [1, 2, 3])',
      '6',
    ],
  ])('through %s', async (_, writer, reader, expected) => {
    await executor.run({ code: writer, args: '' });
    expect(await executor.run({ code: reader, args: '' })).toEqual({ ok: true, value: expected });
  });
});

describe('determinism of the Python executor', () => {
  // Starts a second worker: a fresh Pyodide, inside the test.
  it('iterates sets of strings in the same order in every process (hash randomisation is off)', {
    timeout: 120_000,
  }, async () => {
    const code = 'def f(words):\n    return list(set(words))';
    const first = await executor.run({ code, args: '["pear", "apple", "fig", "kiwi", "plum"]' });
    const other = createPythonExecutor({ workers: 1, timeoutMs: GENEROUS_TIMEOUT_MS });
    try {
      expect(await other.run({ code, args: '["pear", "apple", "fig", "kiwi", "plum"]' })).toEqual(first);
    } finally {
      await other.close();
    }
  });
});
