import { describe, expect, it } from 'vitest';
import type { CanonicalValue } from '../../spec/canonical-value.js';
import { miniProgram } from '../../task-modes/mini/grammar.js';
import { createMiniTaskModes } from '../../task-modes/mini/modes.js';
import type { InductionTask } from '../../task-modes/tasks.js';
import { MockExecutor } from '../../test/mock-executor.js';
import { MockPolicyModel } from '../../test/mock-policy-model.js';
import type { ScoredSolution } from '../rollouts.js';
import { relabelInHindsight } from './hindsight.js';

const format = { reasoningTag: 'think', answerTag: 'answer' };

describe('relabelInHindsight', () => {
  const modes = createMiniTaskModes();
  const induction = modes[2];
  const task = (expression: string, inputs: string[], outputs: string[]): InductionTask => ({
    mode: 'induction',
    language: 'javascript',
    program: miniProgram(expression, 'javascript'),
    entry: 'f',
    pairs: inputs.map((input, index) => ({ input, output: outputs[index] as CanonicalValue })),
    shownCount: 3,
    message: '',
    id: `${expression}:${inputs.join('')}`,
    step: 1,
  });
  const policy = new MockPolicyModel({ seed: 1 });
  const answer = (of: InductionTask, text: string, index: number): ScoredSolution => ({
    mode: 'induction',
    role: 'solve',
    promptId: `1:induction:solve:${index}`,
    prompt: induction.buildSolvePrompt(of, { format }),
    completion: {
      text,
      promptTokenIds: policy.tokenizer.encode(induction.buildSolvePrompt(of, { format })),
      tokenIds: [...policy.tokenizer.encode(text), policy.tokenizer.endOfSequenceTokenId],
      logProbs: [],
      finishReason: 'end-of-sequence',
    },
    task: of,
    wellFormed: true,
    correct: false,
    reason: 'wrong',
  });
  const input = (hindsightAdvantage: number, batchSize = 8, hindsightLimit?: number) => ({
    policy,
    executor: new MockExecutor(),
    modes,
    format,
    settings: {
      hindsightAdvantage,
      hindsightLimit,
      batchSize,
      language: 'javascript' as const,
      sampling: { temperature: 1, topP: 1, maxTokens: 8 },
    },
  });

  /** Tasks of these programs, each answered wrong with `x*2`, `x*3` and `x*7`, in that order. */
  const wrongAnswers = (expressions: string[]) => {
    // Other inputs each, so that the same answer shows other pairs for each task.
    const tasks = expressions.map((expression, index) =>
      task(
        expression,
        [String(index + 1), '8', '9', '5', '6', '7'],
        ['0', '1', '2', '3', '4', String(index)],
      ),
    );
    const solutions = tasks.flatMap((each, index) =>
      ['x*2', 'x*3', 'x*7'].map((text, at) => answer(each, text, index * 3 + at)),
    );
    return { tasks, solutions };
  };

  it('never pays an answer under its own prompt: one that fits the shown pairs and misses a hidden one', async () => {
    // x+1 on 1, 2, 3 shows 2, 3, 4; the task hides 9 on 5, which x+1 gets wrong (6).
    const tricky = task('x*x-x*x+x+1', ['1', '2', '3', '5', '6', '7'], ['2', '3', '4', '9', '7', '8']);
    const other = task('x+3', ['1', '2', '3', '5', '6', '7'], ['4', '5', '6', '8', '9', '0']);
    const relabelled = await relabelInHindsight(input(1), 1, [
      answer(tricky, 'x+1', 0),
      answer(other, 'x+1', 1),
    ]);
    // Only the answer to the other task is relabelled: under x+1's own pairs.
    expect(relabelled).toHaveLength(1);
    expect(relabelled[0]?.task).toBe(other);
    expect(policy.tokenizer.decode(relabelled[0]?.sequence.promptTokenIds ?? [])).toBe(
      '#IS\nf(1)=2\nf(2)=3\nf(3)=4\nf(x)=',
    );
  });

  it('keeps batchSize a mode, the tasks taking turns, and nothing when off', async () => {
    const { tasks, solutions } = wrongAnswers(['x+3', 'x+4', 'x+5']);
    const relabelled = await relabelInHindsight(input(0.5, 4), 1, solutions);
    expect(relabelled).toHaveLength(4);
    // The first answer of each task, then the second of the first task.
    expect(relabelled.map((each) => each.task)).toEqual([tasks[0], tasks[1], tasks[2], tasks[0]]);
    expect(relabelled.every((each) => each.sequence.advantages.every((value) => value === 0.5))).toBe(true);
    expect(await relabelInHindsight(input(0), 1, solutions)).toEqual([]);
  });

  it('keeps hindsightLimit a mode when it is set, above or below batchSize', async () => {
    const { tasks, solutions } = wrongAnswers(['x+3', 'x+4']);
    const above = await relabelInHindsight(input(1, 2, 5), 1, solutions);
    // Past batchSize (2): both tasks' first and second answers, then the first task's third.
    expect(
      above.map((each) => [
        each.task,
        policy.tokenizer.decode(each.sequence.completionTokenIds.slice(0, -1)),
      ]),
    ).toEqual([
      [tasks[0], 'x*2'],
      [tasks[1], 'x*2'],
      [tasks[0], 'x*3'],
      [tasks[1], 'x*3'],
      [tasks[0], 'x*7'],
    ]);
    expect(await relabelInHindsight(input(1, 8, 1), 1, solutions)).toHaveLength(1);
  });
});
