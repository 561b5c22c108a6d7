import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/errors.js';
import { createProposerReward, createSolverReward } from './rewards.js';

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
