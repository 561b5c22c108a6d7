import assert from 'node:assert/strict';
import { AzrError } from '../errors/azr-error.js';
import type { ExecutionErrorKind, ExecutionResult, ExecutorV1 } from '../spec/executor.js';
import type { TaskLanguage } from '../spec/task-language.js';

/** One behaviour the executor contract promises, checked against a fresh executor. */
export interface ConformanceCheck<TSubject> {
  readonly name: string;
  readonly run: (subject: TSubject) => Promise<void>;
  /**
   * The check ends its subject's life (it closes it): it gets a subject of its own also where a runner shares
   * one subject between checks (`shareExecutor` of `describeExecutorConformance`).
   */
  readonly ownSubject?: boolean;
}

/** Options of the executor conformance suite. */
export interface ExecutorConformanceOptions {
  /**
   * How long a call of an endless program may take to come back as `timeout`, in milliseconds, counting
   * worker replacement. Default `10_000`.
   */
  readonly timeoutDeadlineMs?: number;
}

type Programs = Record<TaskLanguage, string>;

const IDENTITY: Programs = {
  javascript: 'function f(a) {\n  return a;\n}',
  python: 'def f(a):\n    return a',
};

function expectValue(result: ExecutionResult, expected: string, what: string): void {
  assert.ok(result.ok, `${what}: expected a value, got ${JSON.stringify(result)}`);
  assert.equal(result.value, expected, `${what}: wrong canonical value`);
}

function expectFailure(result: ExecutionResult, kinds: readonly ExecutionErrorKind[], what: string): void {
  assert.ok(
    !result.ok,
    `${what}: expected a failure of kind ${kinds.join(' or ')}, got ${JSON.stringify(result)}`,
  );
  assert.ok(
    kinds.includes(result.error.kind),
    `${what}: expected kind ${kinds.join(' or ')}, got "${result.error.kind}" (${result.error.message})`,
  );
  assert.equal(typeof result.error.message, 'string', `${what}: failures carry a message`);
}

async function withDeadline<T>(promise: Promise<T>, deadlineMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${deadlineMs} ms`)), deadlineMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The behaviours every {@link ExecutorV1} must show, written once for both task languages. Each check gets a
 * fresh executor, or one shared with the checks before it (each check holds whatever earlier calls did to it:
 * timeouts, stateful programs), except a check marked `ownSubject`. Use {@link describeExecutorConformance} to run them under vitest, or call `run` yourself.
 *
 * Long on purpose: it is the list of checks, one short entry each over the options' shared programs; the list
 * reads as the contract's specification, which splitting would scatter.
 */
export function executorConformanceChecks(
  options: ExecutorConformanceOptions = {},
): readonly ConformanceCheck<ExecutorV1>[] {
  const deadlineMs = options.timeoutDeadlineMs ?? 10_000;
  return [
    {
      name: 'declares the v1 contract and its language',
      run: async (executor) => {
        assert.equal(executor.specificationVersion, 'v1');
        assert.ok(executor.executorId.length > 0, 'executorId is empty');
        assert.ok(
          ['javascript', 'python'].includes(executor.language),
          `unknown language ${executor.language}`,
        );
      },
    },
    {
      name: 'runs the zero triplet: the identity program on a hello-world string',
      run: async (executor) => {
        const result = await executor.run({ code: IDENTITY[executor.language], args: "'Hello world'" });
        expectValue(result, '"Hello world"', 'identity');
      },
    },
    {
      name: 'calls a named entry function with several arguments',
      run: async (executor) => {
        const code: Programs = {
          javascript: 'function g(a, b) {\n  return a * b + 1;\n}',
          python: 'def g(a, b):\n    return a * b + 1',
        };
        expectValue(
          await executor.run({ code: code[executor.language], entry: 'g', args: '6, 7' }),
          '43',
          'g(6, 7)',
        );
      },
    },
    {
      name: 'encodes collections canonically: key order and set order do not matter',
      run: async (executor) => {
        const code: Programs = {
          javascript:
            'function f(flip) {\n  const o = flip ? { b: [1, 2], a: "x" } : { a: "x", b: [1, 2] };\n' +
            '  const s = flip ? new Set([3, 1, 2]) : new Set([2, 3, 1]);\n  return [o, s];\n}',
          python:
            'def f(flip):\n    o = {"b": [1, 2], "a": "x"} if flip else {"a": "x", "b": [1, 2]}\n' +
            '    s = {3, 1, 2} if flip else {2, 3, 1}\n    return [o, s]',
        };
        const flipped = await executor.run({
          code: code[executor.language],
          args: executor.language === 'python' ? 'True' : 'true',
        });
        const straight = await executor.run({
          code: code[executor.language],
          args: executor.language === 'python' ? 'False' : 'false',
        });
        assert.ok(flipped.ok && straight.ok, `both calls succeed: ${JSON.stringify([flipped, straight])}`);
        assert.equal(flipped.value, straight.value, 'equal collections must encode equally');
        assert.match(flipped.value, /Set\[1,2,3\]/, 'set members are sorted');
      },
    },
    {
      name: 'encodes numbers by value, with tags for NaN, infinities and negative zero',
      run: async (executor) => {
        const code: Programs = {
          javascript: 'function f() {\n  return [1.0, 2.5, NaN, Infinity, -Infinity, -0, 10 ** 21];\n}',
          python:
            'def f():\n    return [1.0, 2.5, float("nan"), float("inf"), float("-inf"), -0.0, 10 ** 21]',
        };
        expectValue(
          await executor.run({ code: code[executor.language], args: '' }),
          '[1,2.5,NaN,Infinity,-Infinity,-0,1000000000000000000000]',
          'numbers',
        );
      },
    },
    {
      name: 'reads literals into the same encoding as program outputs',
      run: async (executor) => {
        const literal =
          executor.language === 'python' ? "{'b': [1, 2.0], 'a': None}" : '{ b: [1, 2.0], a: null }';
        const code: Programs = {
          javascript: 'function f() {\n  return { a: null, b: [1, 2] };\n}',
          python: 'def f():\n    return {"a": None, "b": [1, 2]}',
        };
        const fromLiteral = await executor.evaluateLiteral(literal);
        const fromProgram = await executor.run({ code: code[executor.language], args: '' });
        assert.ok(
          fromLiteral.ok && fromProgram.ok,
          `both succeed: ${JSON.stringify([fromLiteral, fromProgram])}`,
        );
        assert.equal(fromLiteral.value, fromProgram.value);
      },
    },
    {
      name: 'reports a syntax error in a program or a literal as kind "syntax"',
      run: async (executor) => {
        const broken: Programs = {
          javascript: 'function f(a) {\n  return a +;\n}',
          python: 'def f(a):\n    return a +',
        };
        expectFailure(
          await executor.run({ code: broken[executor.language], args: '1' }),
          ['syntax'],
          'program',
        );
        expectFailure(await executor.evaluateLiteral('[1, 2'), ['syntax'], 'literal');
      },
    },
    {
      name: 'reports an exception as kind "runtime" with the exception in the message',
      run: async (executor) => {
        const code: Programs = {
          javascript: 'function f(a) {\n  throw new TypeError("bad input " + a);\n}',
          python: 'def f(a):\n    raise TypeError("bad input " + str(a))',
        };
        const result = await executor.run({ code: code[executor.language], args: '7' });
        expectFailure(result, ['runtime'], 'throwing program');
        assert.ok(
          !result.ok && result.error.message.includes('TypeError'),
          'the message names the exception',
        );
      },
    },
    {
      name: 'stops an endless loop as kind "timeout" and serves the next call',
      run: async (executor) => {
        const code: Programs = {
          javascript: 'function f() {\n  while (true) {}\n}',
          python: 'def f():\n    while True:\n        pass',
        };
        const result = await withDeadline(
          executor.run({ code: code[executor.language], args: '', timeoutMs: 100 }),
          deadlineMs,
          'endless loop',
        );
        expectFailure(result, ['timeout'], 'endless loop');
        expectValue(await executor.run({ code: IDENTITY[executor.language], args: '1' }), '1', 'next call');
      },
    },
    {
      name: 'refuses outputs beyond the encoding caps as kind "output-too-large"',
      run: async (executor) => {
        const code: Programs = {
          javascript: 'function f() {\n  return "a".repeat(5000000);\n}',
          python: 'def f():\n    return "a" * 5000000',
        };
        expectFailure(
          await executor.run({ code: code[executor.language], args: '' }),
          ['output-too-large'],
          'huge',
        );
        const cyclic: Programs = {
          javascript: 'function f() {\n  const a = [];\n  a.push(a);\n  return a;\n}',
          python: 'def f():\n    a = []\n    a.append(a)\n    return a',
        };
        expectFailure(
          await executor.run({ code: cyclic[executor.language], args: '' }),
          ['output-too-large'],
          'cyclic value',
        );
      },
    },
    {
      name: 'keeps the host out of reach',
      run: async (executor) => {
        const code: Programs = {
          javascript:
            'function f() {\n  return [typeof process, typeof require, typeof globalThis.process];\n}',
          python: 'def f():\n    import js\n    return js.process.pid',
        };
        const result = await executor.run({ code: code[executor.language], args: '' });
        if (executor.language === 'javascript') {
          expectValue(result, '["undefined","undefined","undefined"]', 'host globals');
        } else {
          expectFailure(result, ['policy', 'runtime'], 'host bridge');
        }
      },
    },
    {
      name: 'validates a deterministic program and returns one output per argument list',
      run: async (executor) => {
        const code: Programs = {
          javascript: 'function f(n) {\n  return n * n;\n}',
          python: 'def f(n):\n    return n * n',
        };
        const result = await executor.validateProgram({
          code: code[executor.language],
          argsList: ['2', '3', '-4'],
        });
        assert.ok(result.ok, `validation failed: ${JSON.stringify(result)}`);
        assert.deepEqual(result.outputs, ['4', '9', '16']);
      },
    },
    {
      name: 'rejects a program whose result can differ between runs',
      run: async (executor) => {
        const code: Programs = {
          javascript: 'function f() {\n  return Math.random();\n}',
          python: 'import random\ndef f():\n    return random.random()',
        };
        const result = await executor.validateProgram({ code: code[executor.language], argsList: [''] });
        assert.ok(!result.ok, 'a random program must not validate');
        assert.ok(
          ['nondeterministic', 'policy', 'runtime'].includes(result.error.kind),
          `unexpected kind ${result.error.kind}`,
        );
      },
    },
    {
      name: 'rejects a program whose result depends on state it mutates between calls',
      run: async (executor) => {
        const code: Programs = {
          javascript: 'let calls = 0;\nfunction f(a) {\n  calls += 1;\n  return a + calls;\n}',
          python: 'calls = [0]\ndef f(a):\n    calls[0] += 1\n    return a + calls[0]',
        };
        const result = await executor.validateProgram({ code: code[executor.language], argsList: ['1'] });
        assert.ok(!result.ok, 'a stateful program must not validate');
        assert.equal(result.error.kind, 'nondeterministic');
        assert.equal(result.argsIndex, 0);
        expectValue(
          await executor.run({ code: code[executor.language], args: '1' }),
          '2',
          'a single run is fine',
        );
      },
    },
    {
      name: 'names the argument list that failed validation',
      run: async (executor) => {
        const code: Programs = {
          javascript: 'function f(n) {\n  if (n > 1) throw new RangeError("too big");\n  return n;\n}',
          python: 'def f(n):\n    if n > 1:\n        raise ValueError("too big")\n    return n',
        };
        const result = await executor.validateProgram({
          code: code[executor.language],
          argsList: ['1', '2'],
        });
        assert.ok(!result.ok, 'validation must fail');
        assert.equal(result.argsIndex, 1);
        assert.equal(result.error.kind, 'runtime');
      },
    },
    {
      name: 'answers many concurrent calls, each with its own result',
      run: async (executor) => {
        const code: Programs = {
          javascript: 'function f(n) {\n  return [n, String(n)];\n}',
          python: 'def f(n):\n    return [n, str(n)]',
        };
        const results = await Promise.all(
          Array.from({ length: 64 }, (_, index) =>
            executor.run({ code: code[executor.language], args: `${index}` }),
          ),
        );
        results.forEach((result, index) => {
          expectValue(result, `[${index},"${index}"]`, `call ${index}`);
        });
      },
    },
    {
      name: 'does not carry state from one call to the next',
      run: async (executor) => {
        const code: Programs = {
          javascript:
            'var counter = (globalThis.counter || 0) + 1;\nglobalThis.counter = counter;\nfunction f() {\n  return counter;\n}',
          python:
            'import builtins\nbuiltins.counter = getattr(builtins, "counter", 0) + 1\ndef f():\n    return builtins.counter',
        };
        for (const call of ['first call', 'second call']) {
          const result = await executor.run({ code: code[executor.language], args: '' });
          // A Python executor may refuse `import builtins` by policy instead; what it must not do is count.
          if (executor.language === 'python' && !result.ok) {
            expectFailure(result, ['policy'], call);
          } else {
            expectValue(result, '1', call);
          }
        }
      },
    },
    {
      name: 'rejects calls after close() with an AzrError, and close() twice is harmless',
      ownSubject: true,
      run: async (executor) => {
        await executor.close();
        await executor.close();
        await assert.rejects(
          executor.run({ code: IDENTITY[executor.language], args: '1' }),
          (error: unknown) => AzrError.isInstance(error),
        );
      },
    },
  ];
}
