import { describe, expect, it } from 'vitest';
import { InvalidTaskError } from '../errors/errors.js';
import { MockExecutor } from '../test/mock-executor.js';
import { MockPolicyModel } from '../test/mock-policy-model.js';
import { evaluate, passAtK } from './evaluate.js';
import { loadEvaluationSuite } from './suite.js';

const executor = new MockExecutor();

const SUITE = [
  {
    mode: 'deduction',
    language: 'javascript',
    code: 'function f(a) { return a * 2; }',
    input: '3',
    output: '6',
  },
  {
    mode: 'deduction',
    language: 'javascript',
    code: 'function f(a) { return a + "!"; }',
    input: '"hi"',
    output: '"hi!"',
  },
  {
    mode: 'abduction',
    language: 'javascript',
    code: 'function f(a) { return a % 5; }',
    input: '7',
    output: '2',
  },
  {
    mode: 'induction',
    language: 'javascript',
    code: 'function f(a) { return a - 1; }',
    inputs: ['1', '2', '3', '4'],
    outputs: ['0', '1', '2', '3'],
    message: 'One less.',
  },
]
  .map((line) => JSON.stringify(line))
  .join('\n');

describe('evaluation suites', () => {
  it('reads the SDK layout, outputs turned into canonical values', async () => {
    const tasks = await loadEvaluationSuite(SUITE, executor);
    expect(tasks.map((task) => task.mode)).toEqual(['deduction', 'deduction', 'abduction', 'induction']);
    expect(tasks[1]).toMatchObject({ output: '"hi!"', input: '"hi"', entry: 'f', step: 0 });
    expect(tasks[3]).toMatchObject({
      shownCount: 2,
      pairs: [
        { input: '1', output: '0' },
        { input: '2', output: '1' },
        { input: '3', output: '2' },
        { input: '4', output: '3' },
      ],
    });
  });

  it('reads the CRUXEval layout as a deduction and an abduction task per line', async () => {
    const line = JSON.stringify({
      id: 'sample_0',
      code: 'function f(xs) { return xs.length; }',
      input: '[1, 2]',
      output: '2',
    });
    const tasks = await loadEvaluationSuite(line, executor, { language: 'javascript' });
    expect(tasks.map((task) => task.mode)).toEqual(['deduction', 'abduction']);
  });

  it('names the line of a bad task', async () => {
    await expect(
      loadEvaluationSuite(
        `${SUITE}\n{"mode":"deduction","language":"javascript","code":"x","input":"1","output":"[1,"}`,
        executor,
      ),
    ).rejects.toThrow(/line 5: the output/);
    await expect(
      loadEvaluationSuite('{"code": "def f(a): return a", "input": "1", "output": "1"}', executor),
    ).rejects.toThrow(InvalidTaskError);
  });
});

describe('evaluate', () => {
  it('reports greedy accuracy per mode', async () => {
    const tasks = await loadEvaluationSuite(SUITE, executor);
    // Keyed by each solve prompt's section, answered as a model continuing the prompt's opened <think> does.
    const answers: Record<string, string> = {
      '# Input:': 'x</think><answer>```output\n6\n```</answer>',
      '# Output:': 'x</think><answer>```input\n12\n```</answer>',
      '# Input and Output Pairs:':
        'x</think><answer>```javascript\nfunction f(a) { return a - 1; }\n```</answer>',
    };
    const section = (prompt: string) =>
      Object.keys(answers).find((heading) => prompt.includes(`\n${heading}\n`)) ?? '';
    const policy = new MockPolicyModel({ script: (prompt) => answers[section(prompt)] ?? '' });
    const report = await evaluate({ policy, executor, tasks });
    expect(report.modes).toEqual({
      deduction: { tasks: 2, passAtK: { 1: 0.5 } },
      abduction: { tasks: 1, passAtK: { 1: 1 } },
      induction: { tasks: 1, passAtK: { 1: 1 } },
    });
    expect(policy.calls.every((call) => call.method !== 'doGenerate' || call.request.greedy === true)).toBe(
      true,
    );
  });

  it('computes the unbiased pass@k', () => {
    expect(passAtK(10, 0, 5)).toBe(0);
    expect(passAtK(10, 10, 1)).toBe(1);
    expect(passAtK(4, 1, 1)).toBeCloseTo(0.25, 12);
    expect(passAtK(4, 1, 2)).toBeCloseTo(0.5, 12);
    expect(passAtK(5, 2, 2)).toBeCloseTo(0.7, 12); // 1 - C(3,2)/C(5,2) = 1 - 3/10
    expect(passAtK(5, 4, 2)).toBe(1);
  });
});
