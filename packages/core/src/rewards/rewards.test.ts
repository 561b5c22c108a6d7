import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/errors.js';
import type { RewardInput } from '../spec/reward.js';
import { miniProgram } from '../task-modes/mini/grammar.js';
import { createMiniTaskModes } from '../task-modes/mini/modes.js';
import {
  createComplexityReward,
  createDiversityReward,
  createProposerReward,
  createSolverReward,
} from './rewards.js';

describe('proposer reward', () => {
  const outcomes = [
    { status: 'malformed' as const },
    { status: 'invalid' as const },
    { status: 'valid' as const, solveRate: 0 },
    { status: 'valid' as const, solveRate: 0.125 },
    { status: 'valid' as const, solveRate: 0.875 },
    { status: 'valid' as const, solveRate: 1 },
  ];

  it('follows the reference code by default', () => {
    expect(createProposerReward()(outcomes)).toEqual([-1, -1, -0.5, 0.875, 0.125, -0.5]);
  });

  it('follows the paper when asked', () => {
    expect(createProposerReward({ proposerRewardVariant: 'paper' })(outcomes)).toEqual([
      -1, -0.5, 0, 0.875, 0.125, 0,
    ]);
  });

  it('uses the configured penalties and refuses bad settings', () => {
    expect(createProposerReward({ malformedReward: -2, wellFormedWrongReward: -0.25 })(outcomes)).toEqual([
      -2, -2, -0.25, 0.875, 0.125, -0.25,
    ]);
    expect(() => createProposerReward({ proposerRewardVariant: 'mine' as never })).toThrow(ConfigError);
    expect(() => createProposerReward()([{ status: 'valid', solveRate: 1.5 }])).toThrow(/solveRate/);
  });
});

describe('solver reward', () => {
  it('rewards correct answers and penalises wrong and malformed ones', () => {
    expect(
      createSolverReward()([
        { wellFormed: true, correct: true },
        { wellFormed: true, correct: false },
        { wellFormed: false, correct: true },
        { wellFormed: false, correct: false },
      ]),
    ).toEqual([1, -0.5, -1, -1]);
  });
});

describe('complexity reward', () => {
  const modes = createMiniTaskModes();
  const proposal = (
    expression: string,
    solveRate: number,
    mode = 'deduction',
  ): Extract<RewardInput, { role: 'propose' }> => ({
    role: 'propose',
    mode,
    prompt: '',
    completion: '',
    tokenCount: 1,
    outcome: { status: 'valid', solveRate },
    task: { id: 't', program: miniProgram(expression, 'javascript') } as never,
  });

  it("pays a learnable proposal its program's operators, and nothing to the rest", async () => {
    const { name, weight, reward } = createComplexityReward(modes, 0.25);
    expect([name, weight]).toEqual(['complexity', 0.25]);
    const values = await reward([
      proposal('x*3+1-x', 0.5),
      proposal('x', 0.5, 'abduction'),
      proposal('x*3+1', 1),
      proposal('x*3+1', 0),
      { ...proposal('x', 0.5), outcome: { status: 'invalid' } },
      {
        role: 'solve',
        mode: 'deduction',
        prompt: '',
        completion: '',
        tokenCount: 1,
        outcome: { wellFormed: true, correct: true },
        task: proposal('x+1', 0.5).task as never,
      },
    ]);
    expect(values).toEqual([3, 0, undefined, undefined, undefined, undefined]);
    expect(() => createComplexityReward(modes, -1)).toThrow(ConfigError);
  });

  it("pays a valid proposal the share of its mode's other valid proposals that compute another function", async () => {
    const { name, weight, reward } = createDiversityReward(modes, 0.5);
    expect([name, weight]).toEqual(['diversity', 0.5]);
    const values = await reward([
      // Deduction: x twice (x+0 computes x too), x*3 once, 7 once; any solve rate.
      proposal('x', 1),
      proposal('x+0', 0),
      proposal('x*3', 0.5),
      proposal('7', 1),
      // Abduction's only valid proposal; an invalid one is not counted.
      proposal('x', 1, 'abduction'),
      { ...proposal('x', 0.5, 'abduction'), outcome: { status: 'invalid' } },
    ]);
    // x: 2 of its 3 others compute another function; x*3 and 7: all 3.
    expect(values).toEqual([1 - 1 / 3, 1 - 1 / 3, 1, 1, 1, undefined]);
    // Every proposal of one function: nothing.
    expect(await reward([proposal('3', 1), proposal('3', 1), proposal('1+2', 1)])).toEqual([0, 0, 0]);
    expect(() => createDiversityReward(modes, -1)).toThrow(ConfigError);
  });
});
