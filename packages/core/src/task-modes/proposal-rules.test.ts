import { describe, expect, it } from 'vitest';
import { MockExecutor } from '../test/mock-executor.js';
import { createDeductionMode } from './deduction.js';
import { applySingleFunctionRule } from './proposal-rules.js';

const python = (program: string) => applySingleFunctionRule(program, 'python');
const javascript = (program: string) => applySingleFunctionRule(program, 'javascript');

describe('the single-function rule on Python', () => {
  it('keeps a program whose one function is f as it is', () => {
    const program = 'import math\n\ndef f(x):\n    return math.floor(x) * 2';
    expect(python(program)).toEqual({ ok: true, program });
  });

  it('renames the function and its recursive calls to f, and leaves longer names and attributes alone', () => {
    const program = [
      'def fib(n, fibonacci=0):',
      '    if n < 2:',
      '        return n + fibonacci + len("fib(")  # fib(n) in a comment',
      '    counts = {}.fromkeys(["a"]).fib if False else None',
      '    return fib (n - 1) + fib(n - 2) + fib_cache(n)',
    ].join('\n');
    expect(python(program)).toEqual({
      ok: true,
      renamedFrom: 'fib',
      program: [
        'def f(n, fibonacci=0):',
        '    if n < 2:',
        '        return n + fibonacci + len("fib(")  # fib(n) in a comment',
        '    counts = {}.fromkeys(["a"]).fib if False else None',
        '    return f (n - 1) + f(n - 2) + fib_cache(n)',
      ].join('\n'),
    });
  });

  it('does not rename a method of another object that has the same name', () => {
    expect(python('def count(s):\n    return s.count("a") + count2(s)')).toEqual({
      ok: true,
      renamedFrom: 'count',
      program: 'def f(s):\n    return s.count("a") + count2(s)',
    });
  });

  it('rejects two top-level functions, a nested helper and a method, naming them', () => {
    expect(python('def g(x):\n    return h(x)\n\ndef h(x):\n    return x + 1')).toEqual({
      ok: false,
      reason: '2 function definitions (g, h); the program must define exactly one',
    });
    expect(python('def f(x):\n    def helper(y):\n        return y * 2\n    return helper(x)')).toEqual({
      ok: false,
      reason: '2 function definitions (f, helper); the program must define exactly one',
    });
    const withMethod =
      'class Box:\n    def __init__(self, v):\n        self.v = v\n\ndef f(x):\n    return Box(x).v';
    expect(python(withMethod)).toMatchObject({ ok: false, reason: expect.stringContaining('(__init__, f)') });
    expect(python('def f(x):\n    return x\n\nasync def g(x):\n    return x')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^2 function definitions/),
    });
  });

  it('allows lambdas and classes without methods, as the reference does', () => {
    const program = 'class Point:\n    pass\n\ndef f(xs):\n    return sorted(xs, key=lambda x: -x)';
    expect(python(program)).toEqual({ ok: true, program });
  });

  it('rejects a program with no function, or whose only function cannot be called as f', () => {
    expect(python('f = lambda x: x')).toEqual({
      ok: false,
      reason: 'no function definition (def); the program must define exactly one function',
    });
    expect(python('class A:\n    def g(self, x):\n        return x')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('its only function (g) is not defined by name at the top level'),
    });
    expect(python('async def g(x):\n    return x')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('is async'),
    });
  });

  it('does not count the word def in strings or comments (a departure for lines inside a triple-quoted string)', () => {
    // The reference reads lines: it would count the docstring's `def helper(` line and reject this program.
    const program = [
      'def g(text):',
      '    """Counts definitions.',
      'def helper(x): is not a function here',
      '    """',
      '    # def other(y): neither is this',
      "    return text.count('def ') + len(f'def {text}')",
    ].join('\n');
    expect(python(program)).toEqual({
      ok: true,
      renamedFrom: 'g',
      program: program.replace('def g(', 'def f('),
    });
    expect(python('x = "def g(): pass"')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('no function'),
    });
  });
});

describe('the single-function rule on JavaScript', () => {
  it('keeps a program whose one function is f as it is', () => {
    const program = 'function f(xs) {\n  return xs.map((x) => x * 2).filter((x) => x > 2);\n}';
    expect(javascript(program)).toEqual({ ok: true, program });
  });

  it('renames the function and its recursive calls, and leaves longer names, strings and properties alone', () => {
    const program = [
      'function fib(n) {',
      '  const fibs = { fib: 1 };',
      "  if (n < 2) return n + fibs.fib + 'fib('.length; // fib(n)",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: JavaScript source under test, with a template literal
      '  return fib(n - 1) + fib (n - 2) + `${fib(0)} fib(`.length + fibonacci(n) + /fib(/.source.length;',
      '}',
    ].join('\n');
    const result = javascript(program);
    expect(result).toEqual({
      ok: true,
      renamedFrom: 'fib',
      program: [
        'function f(n) {',
        '  const fibs = { fib: 1 };',
        "  if (n < 2) return n + fibs.fib + 'fib('.length; // fib(n)",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: JavaScript source under test, with a template literal
        '  return f(n - 1) + f (n - 2) + `${f(0)} fib(`.length + fibonacci(n) + /fib(/.source.length;',
        '}',
      ].join('\n'),
    });
  });

  it('takes an arrow function or a function expression bound to a name at the top level as the function', () => {
    expect(javascript('const double = (x) => x * 2;')).toEqual({
      ok: true,
      renamedFrom: 'double',
      program: 'const f = (x) => x * 2;',
    });
    expect(javascript('const g = function (n) {\n  return n ? n * g(n - 1) : 1;\n};')).toEqual({
      ok: true,
      renamedFrom: 'g',
      program: 'const f = function (n) {\n  return n ? n * f(n - 1) : 1;\n};',
    });
  });

  it('rejects two functions, a helper with a statement body and a method, naming them', () => {
    expect(javascript('function g(x) {\n  return h(x);\n}\nfunction h(x) {\n  return x + 1;\n}')).toEqual({
      ok: false,
      reason: '2 function definitions (g, h); the program must define exactly one',
    });
    expect(
      javascript('function f(xs) {\n  let t = 0;\n  xs.forEach((x) => {\n    t += x;\n  });\n  return t;\n}'),
    ).toMatchObject({
      ok: false,
      reason: '2 function definitions (f, an arrow function); the program must define exactly one',
    });
    const withMethod =
      'class Box {\n  constructor(v) {\n    this.v = v;\n  }\n}\nfunction f(x) {\n  if (x) {\n    return new Box(x).v;\n  }\n  return 0;\n}';
    expect(javascript(withMethod)).toMatchObject({
      ok: false,
      reason: '2 function definitions (a method constructor, f); the program must define exactly one',
    });
  });

  it('rejects a program with no function, or whose only function cannot be called as f', () => {
    expect(javascript('const x = [1, 2].map((v) => v + 1);')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('no function definition'),
    });
    expect(javascript('const o = { g(x) {\n  return x;\n} };')).toMatchObject({
      ok: false,
      reason: expect.stringContaining(
        'its only function (a method g) is not defined by name at the top level',
      ),
    });
    expect(javascript('async function g(x) {\n  return x;\n}')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('is async'),
    });
  });

  it('does not count the word function in strings, templates, regular expressions or comments', () => {
    const program =
      // biome-ignore lint/suspicious/noTemplateCurlyInString: JavaScript source under test, with a template literal
      "function g(s) {\n  /* function h() {} */\n  return s + 'function h() {}' + `function ${s}` + /function/.source;\n}";
    expect(javascript(program)).toMatchObject({ ok: true, renamedFrom: 'g' });
  });
});

describe('deduction validates proposals by the single-function rule', () => {
  const context = { language: 'javascript', step: 1 } as const;

  it('renames the function to f before running it, so the task defines and calls f', async () => {
    const executor = new MockExecutor();
    const validated = await createDeductionMode().validateProposal(
      { program: 'function factorial(n) {\n  return n <= 1 ? 1 : n * factorial(n - 1);\n}', input: '5' },
      executor,
      context,
    );
    expect(validated).toMatchObject({
      ok: true,
      task: {
        program: 'function f(n) {\n  return n <= 1 ? 1 : n * f(n - 1);\n}',
        entry: 'f',
        input: '5',
        output: '120',
      },
    });
    expect(executor.calls).toMatchObject([
      {
        method: 'validateProgram',
        request: { code: 'function f(n) {\n  return n <= 1 ? 1 : n * f(n - 1);\n}' },
      },
    ]);
  });

  it('rejects a proposal with two functions before it reaches the executor, unless the rule is off', async () => {
    const proposal = {
      program: 'function f(n) {\n  return helper(n) + 1;\n}\nfunction helper(n) {\n  return n * 2;\n}',
      input: '5',
    };
    const executor = new MockExecutor();
    expect(await createDeductionMode().validateProposal(proposal, executor, context)).toEqual({
      ok: false,
      reason: '2 function definitions (f, helper); the program must define exactly one',
    });
    expect(executor.calls).toEqual([]);
    expect(
      await createDeductionMode({ singleFunction: false }).validateProposal(proposal, executor, context),
    ).toMatchObject({ ok: true, task: { program: proposal.program, output: '11' } });
  });
});
