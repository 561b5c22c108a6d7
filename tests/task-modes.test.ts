import {
  type CanonicalValue,
  canonicalToLiteral,
  createAbductionMode,
  createDeductionMode,
  createInductionMode,
  DEFAULT_ANSWER_FORMAT,
  LANGUAGE_SYNTAX,
  zeroTriplet,
} from '@azr/core';
import { createJavaScriptExecutor, createPythonExecutor } from '@azr/executor';
import { afterAll, describe, expect, it } from 'vitest';

const format = DEFAULT_ANSWER_FORMAT;
const javascript = createJavaScriptExecutor({ workers: 1 });
const python = createPythonExecutor({ workers: 1, timeoutMs: 1000 });
afterAll(() => Promise.all([javascript.close(), python.close()]));

describe('the task modes with the real Python executor', () => {
  const language = 'python' as const;
  const context = {
    language,
    references: [zeroTriplet('deduction', language)],
    bannedWords: LANGUAGE_SYNTAX.python.bannedWords,
    format,
  };
  const completion =
    '<think>Count the vowels.</think>\n<answer>\n```python\ndef f(s):\n    return {c: s.count(c) for c in "aeiou" if c in s}\n```\n```input\n"banana split"\n```\n</answer>';

  it('runs deduction from proposal to checked answer', async () => {
    const mode = createDeductionMode();
    const parsed = mode.parseProposal(completion, context);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const validated = await mode.validateProposal(parsed.value, python, { language, step: 1 });
    expect(validated).toMatchObject({ ok: true, task: { output: 'Map{"a"=>3,"i"=>1}' } });
    if (!validated.ok) return;
    expect(await mode.checkAnswer(validated.task, "{'i': 1, 'a': 3}", python)).toEqual({ correct: true });
    expect(await mode.checkAnswer(validated.task, "{'a': 3}", python)).toMatchObject({ correct: false });
  });

  it('runs abduction, where any input with the gold output counts', async () => {
    const mode = createAbductionMode();
    const validated = await mode.validateProposal(
      { program: 'def f(xs):\n    return sorted(xs)[-1]', input: '[3, 9, 4]' },
      python,
      { language, step: 1 },
    );
    expect(validated).toMatchObject({ ok: true, task: { output: '9' } });
    if (!validated.ok) return;
    expect(await mode.checkAnswer(validated.task, '[9]', python)).toEqual({ correct: true });
    expect(await mode.checkAnswer(validated.task, '[1, 2]', python)).toMatchObject({ correct: false });
  });

  it("runs induction, with the gold program's imports in front of the solver's code", async () => {
    const mode = createInductionMode({ inputCount: 4 });
    const program = 'import math\n\ndef f(n):\n    return math.factorial(n)';
    const validated = await mode.validateProposal(
      { program, inputs: ['1', '3', '4', '5'], message: 'Multiply all numbers up to n.' },
      python,
      { language, step: 1 },
    );
    expect(validated).toMatchObject({
      ok: true,
      task: { pairs: [{ output: '1' }, { output: '6' }, { output: '24' }, { output: '120' }] },
    });
    if (!validated.ok) return;
    expect(
      await mode.checkAnswer(validated.task, 'def f(n):\n    return math.prod(range(1, n + 1))', python),
    ).toEqual({ correct: true });
    expect(await mode.checkAnswer(validated.task, 'def f(n):\n    return n * 6', python)).toMatchObject({
      correct: false,
    });
  });
});

describe('outputs shown to the solver read back as the same value', () => {
  const shared = [
    '"Hello world"',
    '[1,2.5,-0,NaN,Infinity]',
    'Set[]',
    '12345678901234567890',
    'Map{1=>"x"}',
    'Set["a","b"]',
  ];

  it.each([...shared, 'Map{"a"=>Tuple[1,2],"b"=>Set[1,2]}', 'Tuple[1]'] as CanonicalValue[])(
    'in Python: %s',
    async (value) => {
      expect(await python.evaluateLiteral(canonicalToLiteral(value, 'python'))).toEqual({ ok: true, value });
    },
  );

  it.each([...shared, '{"a":[null,true]}', 'Map{"b"=>Set[1,2]}'] as CanonicalValue[])(
    'in JavaScript: %s',
    async (value) => {
      expect(await javascript.evaluateLiteral(canonicalToLiteral(value, 'javascript'))).toEqual({
        ok: true,
        value,
      });
    },
  );
});
