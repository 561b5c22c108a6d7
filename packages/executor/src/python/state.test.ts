import type { ExecutionResult, ValidationResult } from '@azr/core/spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPythonExecutor } from './executor.js';

/**
 * Interpreter-state attacks (issue 19): after any of these programs, the next programs on the same worker get
 * exactly the verdicts they get on a fresh worker. One attacked executor and one fresh one, each started once
 * for the whole file (each start is a Pyodide, a few seconds).
 */
const REAL_SYS = 'import typing\nsys = typing.sys\n';

/** Programs whose verdicts show interpreter-wide state, run and validated after every attack. */
const PROBES: readonly { readonly code: string; readonly args: string }[] = [
  { code: 'import math\ndef f():\n    return [math.pi, math.sqrt(16)]', args: '' },
  { code: 'def f(xs):\n    return [len(xs), sorted(xs), abs(-3), int("7")]', args: '[3, 1, 2]' },
  { code: 'def f(n):\n    return n if n == 0 else 1 + f(n - 1)', args: '500' },
  { code: 'def f(n):\n    return n if n == 0 else 1 + f(n - 1)', args: '5000' },
  { code: 'def f():\n    return len(str(10 ** 4000))', args: '' },
  { code: 'def f():\n    return len(str(10 ** 5000))', args: '' },
  {
    code: 'from collections import Counter\ndef f(s):\n    return Counter(s).most_common(2)',
    args: '"abracadabra"',
  },
  { code: 'import json\ndef f():\n    return json.dumps({"b": [1, 2], "a": None})', args: '' },
  { code: 'from decimal import Decimal\ndef f():\n    return str(Decimal(1) / Decimal(7))', args: '' },
  { code: 'import re\ndef f():\n    return re.sub(r"[aeiou]", "_", "sandbox")', args: '' },
  {
    code: 'import heapq, itertools\ndef f():\n    return heapq.nsmallest(2, itertools.chain([5, 1], [4, 2]))',
    args: '',
  },
  { code: 'def f(w):\n    return list(set(w))', args: '["pear", "apple", "fig", "kiwi", "plum"]' },
  { code: 'import os\ndef f():\n    return 1', args: '' },
  {
    code: `${REAL_SYS}def f():\n    gc = sys.modules["gc"]\n    return [sys.getrecursionlimit(), sys.get_int_max_str_digits(), gc.isenabled(), gc.get_threshold(), len(gc.callbacks), "math" in sys.modules, sys.modules["math"] is not None]`,
    args: '',
  },
];

interface Verdicts {
  readonly runs: readonly ExecutionResult[];
  readonly validations: readonly ValidationResult[];
}

/**
 * Limits: an attack that must be stopped (the interrupt swallower) gets 1 s; every other call (the probes, on
 * both executors) gets room for a loaded machine (CI runs test files in parallel on two cores), so that a slow
 * moment does not pass for a verdict.
 */
const ATTACK_TIMEOUT_MS = 1000;
const GENEROUS_TIMEOUT_MS = 10_000;
const attacked = createPythonExecutor({ workers: 1, timeoutMs: GENEROUS_TIMEOUT_MS, interruptGraceMs: 300 });
let fresh: Verdicts;

async function verdicts(executor: typeof attacked): Promise<Verdicts> {
  const runs: ExecutionResult[] = [];
  const validations: ValidationResult[] = [];
  for (const probe of PROBES) {
    runs.push(await executor.run(probe));
    validations.push(await executor.validateProgram({ code: probe.code, argsList: [probe.args] }));
  }
  return { runs, validations };
}

// Both executors start (each a fresh Pyodide, up to 20 s and more on a loaded machine) before the tests: the
// attacked one answers a run and a validation, so that its shadow interpreter has started too.
beforeAll(async () => {
  const reference = createPythonExecutor({ workers: 1, timeoutMs: GENEROUS_TIMEOUT_MS });
  const warm = async (): Promise<void> => {
    expect(await attacked.run({ code: 'def f():\n    return 1', args: '' })).toEqual({
      ok: true,
      value: '1',
    });
    expect(await attacked.validateProgram({ code: 'def f():\n    return 1', argsList: [''] })).toEqual({
      ok: true,
      outputs: ['1'],
    });
  };
  try {
    [fresh] = await Promise.all([verdicts(reference), warm()]);
  } finally {
    await reference.close();
  }
}, 240_000);
afterAll(() => attacked.close());

function outcome(result: ExecutionResult): string {
  return result.ok ? `value:${result.value}` : result.error.kind;
}

interface Attack {
  readonly name: string;
  readonly code: string;
  readonly outcomes: readonly string[];
}

const POISONING: readonly Attack[] = [
  {
    name: 'sys.modules',
    code: `${REAL_SYS}sys.modules["math"] = None\nsys.modules["json"] = sys.modules["re"]\ndef f():\n    return 0`,
    outcomes: ['value:0'],
  },
  {
    name: 'builtins',
    code: `${REAL_SYS}b = sys.modules["builtins"]\nb.len = lambda x: 42\nb.sorted = list\ndel b.abs\ndef f():\n    return 0`,
    outcomes: ['value:0'],
  },
  {
    name: 'the import machinery',
    code: `${REAL_SYS}class Finder:\n    def find_spec(self, *a):\n        raise ImportError("poisoned")\nsys.meta_path.insert(0, Finder())\nsys.path_hooks.clear()\ndef f():\n    return 0`,
    outcomes: ['value:0'],
  },
  {
    name: 'sys settings: recursion limit and int digits',
    code: `${REAL_SYS}def f():\n    sys.setrecursionlimit(60)\n    sys.set_int_max_str_digits(640)\n    return 0`,
    outcomes: ['value:0'],
  },
  {
    name: 'gc settings and callbacks',
    code: `${REAL_SYS}gc = sys.modules["gc"]\ndef f():\n    gc.disable()\n    gc.set_threshold(1, 1, 1)\n    gc.callbacks.append(lambda *a: None)\n    gc.unfreeze()\n    return 0`,
    outcomes: ['value:0'],
  },
  {
    name: 'a finalizer that poisons after the call',
    code: `${REAL_SYS}class Bomb:\n    def __del__(self):\n        sys.modules["math"] = None\n        sys.setrecursionlimit(70)\ndef f():\n    b = Bomb()\n    b.cycle = b\n    return 0`,
    outcomes: ['value:0'],
  },
  {
    name: 'atexit',
    code: `${REAL_SYS}def f():\n    sys.modules["atexit"].register(print)\n    return 0`,
    outcomes: ['value:0'],
  },
  {
    name: 'class mutation',
    code: 'from collections import Counter\nCounter.most_common = lambda self, n=None: []\ndel Counter.elements\ndef f():\n    return 0',
    outcomes: ['value:0'],
  },
  {
    name: 'module mutation and module containers',
    code: 'import json, re, math\njson.dumps = lambda *a, **k: "x"\nmath.pi = 3\nre._cache.clear()\nre.sub = None\ndef f():\n    return 0',
    outcomes: ['value:0'],
  },
  {
    name: "decimal's contexts",
    code: 'import decimal\ndecimal.getcontext().prec = 3\ndecimal.DefaultContext.prec = 4\ndef f():\n    return 0',
    outcomes: ['value:0'],
  },
  {
    name: "object's subclasses, to a stdlib module's globals",
    code:
      'def f():\n    for cls in ().__class__.__base__.__subclasses__():\n        g = getattr(getattr(cls, "__init__", None), "__globals__", None)\n' +
      '        if isinstance(g, dict) and "sys" in g and hasattr(g["sys"], "modules"):\n            g["sys"].modules["math"] = None\n            g["sys"].setrecursionlimit(80)\n            return 1\n    return 0',
    outcomes: ['value:1'],
  },
  {
    name: 'frames through a traceback',
    code: 'def f():\n    try:\n        1 / 0\n    except Exception as error:\n        frame = error.__traceback__.tb_frame\n        while frame.f_back:\n            frame = frame.f_back\n        frame.f_globals.clear()\n    return 0',
    outcomes: ['policy'],
  },
  {
    name: 'frames through sys._getframe, caught by the program',
    code: `${REAL_SYS}def f():\n    try:\n        sys._getframe(1).f_globals.clear()\n    except BaseException:\n        pass\n    return 0`,
    outcomes: ['policy'],
  },
  {
    name: 'frames through a generator',
    code: 'def f():\n    def g():\n        yield 1\n    it = g()\n    return str(it.gi_frame.f_back)',
    outcomes: ['policy'],
  },
  {
    name: "gc's object lists",
    code: `${REAL_SYS}def f():\n    objects = sys.modules["gc"].get_objects()\n    return len(objects)`,
    outcomes: ['policy'],
  },
  {
    name: 'a new audit hook',
    code: `${REAL_SYS}def f():\n    sys.addaudithook(lambda *a: None)\n    return 0`,
    outcomes: ['policy'],
  },
  {
    name: 'the real import of the host bridge',
    code: 'import re\n_import = re.__builtins__["__import__"]\ndef f():\n    return str(_import("js"))',
    outcomes: ['policy'],
  },
  {
    name: 'a program that swallows interrupts',
    code: 'def f():\n    while True:\n        try:\n            while True:\n                pass\n        except BaseException:\n            pass',
    outcomes: ['timeout'],
  },
];

describe('after an attack on interpreter state, the next programs are judged as on a fresh worker', () => {
  it.each(POISONING)('$name', { timeout: 120_000 }, async (attack) => {
    const timeoutMs = attack.outcomes.includes('timeout') ? ATTACK_TIMEOUT_MS : GENEROUS_TIMEOUT_MS;
    const result = await attacked.run({ code: attack.code, args: '', timeoutMs });
    expect(attack.outcomes, JSON.stringify(result)).toContain(outcome(result));
    const after = await verdicts(attacked);
    expect(after.runs).toEqual(fresh.runs);
    expect(after.validations).toEqual(fresh.validations);
  });

  it('kept its worker process: a policy violation or a replaced interpreter costs no process', () => {
    expect(attacked.statistics().workersLost).toBe(0);
  });
});

describe('validation runs each proposal in two interpreter states', () => {
  it.each([
    ['object identity', 'def f():\n    return id(object()) % 1000', ''],
    ['a string hash', 'def f():\n    return hash("abc") % 7', ''],
    [
      'the set order of strings',
      'def f(w):\n    return list(set(w))',
      '["a", "b", "c", "d", "e", "f", "g", "h", "i"]',
    ],
    [
      'allocation order',
      'class A:\n    pass\ndef f():\n    xs = [A() for _ in range(6)]\n    return [xs.index(x) for x in sorted(xs, key=id)]',
      '',
    ],
    ['a default repr', 'class A:\n    pass\ndef f():\n    return repr(A())', ''],
  ])('rejects a result that depends on %s as nondeterministic', async (_, code, args) => {
    const result = await attacked.validateProgram({ code, argsList: [args] });
    expect(result.ok ? 'ok' : result.error.kind, JSON.stringify(result)).toBe('nondeterministic');
    // The same program still runs: `run` answers from the primary state alone.
    expect((await attacked.run({ code, args })).ok).toBe(true);
  });

  it("accepts what does not depend on them, with the primary state's output", async () => {
    expect(
      await attacked.validateProgram({
        code: 'def f(w):\n    return sorted(set(w))',
        argsList: ['["b", "a"]'],
      }),
    ).toEqual({ ok: true, outputs: ['["a","b"]'] });
  });
});
