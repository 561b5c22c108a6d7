import { describe, expect, it } from 'vitest';
import type { AdvantageSample } from '../spec/advantage-estimator.js';
import {
  createAdvantageEstimator,
  createGrpoAdvantageEstimator,
  createTrrAdvantageEstimator,
} from './estimators.js';

function sample(
  mode: string,
  role: 'propose' | 'solve',
  reward: number,
  tokenCount = 1,
  promptId = 'p',
): AdvantageSample {
  return { group: { mode, role }, promptId, reward, tokenCount };
}

describe('TRR++', () => {
  it('normalises each (mode x role) group by its own mean and deviation', () => {
    // deduction/solve: rewards 1, -0.5 -> mean 0.25, deviation 0.75 -> +1, -1.
    // abduction/propose: rewards 0.5, 0.5, -1 -> mean 0, variance 0.5 -> 0.7071, 0.7071, -1.4142.
    const advantages = createTrrAdvantageEstimator({ epsilon: 0 }).compute([
      sample('deduction', 'solve', 1),
      sample('abduction', 'propose', 0.5),
      sample('deduction', 'solve', -0.5),
      sample('abduction', 'propose', 0.5),
      sample('abduction', 'propose', -1),
    ]);
    const [first, second, third, fourth, fifth] = advantages;
    expect(first).toBeCloseTo(1, 10);
    expect(third).toBeCloseTo(-1, 10);
    expect(second).toBeCloseTo(Math.SQRT1_2, 10);
    expect(fourth).toBeCloseTo(Math.SQRT1_2, 10);
    expect(fifth).toBeCloseTo(-Math.SQRT2, 10);
  });

  it('gives exactly zero to a group whose rewards are all equal, and handles empty input', () => {
    const estimator = createTrrAdvantageEstimator();
    expect(
      estimator.compute([
        sample('induction', 'solve', -1),
        sample('induction', 'solve', -1),
        sample('deduction', 'solve', 1),
      ]),
    ).toEqual([0, 0, 0]);
    expect(estimator.compute([])).toEqual([]);
  });

  it('weights by tokens when asked, as the reference code does', () => {
    // Rewards 1 (3 tokens) and 0 (1 token): mean 0.75, variance 0.1875.
    const advantages = createTrrAdvantageEstimator({ weighting: 'token', epsilon: 0 }).compute([
      sample('d', 'solve', 1, 3),
      sample('d', 'solve', 0, 1),
    ]);
    expect(advantages.map((value) => Number(value.toFixed(4)))).toEqual([0.5774, -1.7321]);
  });

  it('keeps the roles of one mode apart', () => {
    const advantages = createTrrAdvantageEstimator({ epsilon: 0 }).compute([
      sample('d', 'propose', 1),
      sample('d', 'propose', 0),
      sample('d', 'solve', 5),
      sample('d', 'solve', 5),
    ]);
    expect(advantages).toEqual([1, -1, 0, 0]);
  });
});

describe('GRPO', () => {
  it('normalises the rollouts of each prompt together', () => {
    const advantages = createGrpoAdvantageEstimator({ epsilon: 0 }).compute([
      sample('d', 'solve', 1, 1, 'a'),
      sample('d', 'solve', 0, 1, 'a'),
      sample('d', 'solve', 1, 1, 'b'),
    ]);
    expect(advantages).toEqual([1, -1, 0]);
  });

  it("multiplies proposals' advantages by proposerWeight, under both estimators", () => {
    const samples = [
      sample('deduction', 'propose', 1, 1, 'a'),
      sample('deduction', 'propose', -1, 1, 'b'),
      sample('deduction', 'solve', 1, 1, 't'),
      sample('deduction', 'solve', 0, 1, 't'),
    ];
    expect(createGrpoAdvantageEstimator({ epsilon: 0, proposerWeight: 4 }).compute(samples)).toEqual([
      4, -4, 1, -1,
    ]);
    expect(createTrrAdvantageEstimator({ epsilon: 0, proposerWeight: 0.5 }).compute(samples)).toEqual([
      0.5, -0.5, 1, -1,
    ]);
    expect(() => createGrpoAdvantageEstimator({ proposerWeight: -1 })).toThrow(/proposerWeight/);
  });

  it('normalises single-rollout prompts (proposals) per (mode x role) group, so that proposers learn', () => {
    const advantages = createGrpoAdvantageEstimator({ epsilon: 0 }).compute([
      sample('deduction', 'propose', 1, 1, 'a'),
      sample('deduction', 'propose', -1, 1, 'b'),
      sample('deduction', 'solve', 1, 1, 't'),
      sample('deduction', 'solve', -0.5, 1, 't'),
      sample('abduction', 'propose', 0.5, 1, 'a'),
    ]);
    // Two proposals of deduction against each other; the solve group of task t alone; a lone abduction
    // proposal has no one to be compared with.
    expect(advantages.map((value) => Number(value.toFixed(6)))).toEqual([1, -1, 1, -1, 0]);
  });

  it('is chosen by name, with the names listed for an unknown one', () => {
    expect(createAdvantageEstimator('grpo').estimatorId).toBe('grpo');
    expect(createAdvantageEstimator('trr++').estimatorId).toBe('trr++');
    expect(() => createAdvantageEstimator('ppo' as never)).toThrow(/"trr\+\+", "grpo"/);
  });
});
