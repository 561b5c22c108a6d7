import { describe, expect, it } from 'vitest';
import type { TrainSequence, TrainStepResult } from '../../spec/policy-model.js';
import { MockPolicyModel } from '../../test/mock-policy-model.js';
import { DEFAULT_TRAINER_SETTINGS } from '../settings.js';
import { combineUpdateStatistics, update } from './update.js';

const sequences: TrainSequence[] = [0, 1, 2, 3].map((index) => ({
  promptTokenIds: [97, 98],
  completionTokenIds: [99 + index, 100],
  oldLogProbs: [-5.5, -5.6],
  advantages: [index % 2 === 0 ? 1 : -1, index % 2 === 0 ? 1 : -1],
}));

async function run(rolloutLogProbs: 'exact' | 'approximate', miniBatchSize: number | undefined) {
  const policy = new MockPolicyModel({ seed: 1, rolloutLogProbs });
  const before = await policy.doComputeLogProbs({ sequences, temperature: 1 });
  policy.calls.length = 0;
  await update(
    {
      policy,
      settings: {
        ...DEFAULT_TRAINER_SETTINGS,
        miniBatchSize,
        sampling: { ...DEFAULT_TRAINER_SETTINGS.sampling, temperature: 1 },
      },
    },
    sequences,
  );
  return { calls: policy.calls, before: before.logProbs };
}

describe('the update phase', () => {
  it("scores every sequence with the learner before the first of several updates, when the policy's rollouts are approximate", async () => {
    const { calls, before } = await run('approximate', 2);
    expect(calls.map((call) => call.method)).toEqual(['doComputeLogProbs', 'doTrainStep', 'doTrainStep']);
    const trained = calls.flatMap((call) => (call.method === 'doTrainStep' ? call.batch.sequences : []));
    // The second mini-batch carries the log probabilities from before the first update, not after it.
    expect(trained.map((sequence) => sequence.proximalLogProbs)).toEqual(before);
    expect(trained.map((sequence) => sequence.oldLogProbs)).toEqual(
      sequences.map((sequence) => sequence.oldLogProbs),
    );
  });

  it('leaves the first update to the policy, and exact rollouts as they are', async () => {
    for (const [rolloutLogProbs, miniBatchSize] of [
      ['approximate', undefined],
      ['exact', 2],
    ] as const) {
      const { calls } = await run(rolloutLogProbs, miniBatchSize);
      expect(calls.some((call) => call.method === 'doComputeLogProbs')).toBe(false);
      for (const call of calls)
        if (call.method === 'doTrainStep')
          expect(call.batch.sequences.every((sequence) => sequence.proximalLogProbs === undefined)).toBe(
            true,
          );
    }
  });

  it("reports its updates' statistics: token-weighted over mini-batches, the largest gradient norm", async () => {
    const policy = new MockPolicyModel({ seed: 1 });
    const settings = {
      ...DEFAULT_TRAINER_SETTINGS,
      sampling: { ...DEFAULT_TRAINER_SETTINGS.sampling, temperature: 1 },
    };
    // The results of the policy's updates, as the phase received them.
    const results: TrainStepResult[] = [];
    const trainStep = policy.doTrainStep.bind(policy);
    policy.doTrainStep = async (batch) => {
      const result = await trainStep(batch);
      results.push(result);
      return result;
    };
    const whole = await update({ policy, settings }, sequences);
    expect(results).toHaveLength(1);
    const { loss, durationMs, ...statistics } = results[0] as TrainStepResult;
    expect(whole).toEqual({ loss, statistics });
    expect(whole?.statistics.tokenCount).toBe(8);
    results.length = 0;
    const split = await update({ policy, settings: { ...settings, miniBatchSize: 1 } }, sequences);
    expect(results).toHaveLength(4);
    expect(split?.statistics).toEqual(combineUpdateStatistics(results));
    expect(split?.statistics.gradientNorm).toBe(Math.max(...results.map((result) => result.gradientNorm)));
    expect(split?.statistics.entropy).toBeCloseTo(
      results.reduce((total, result) => total + result.entropy * result.tokenCount, 0) / 8,
      12,
    );
    expect(await update({ policy, settings }, [])).toBeUndefined();
  });

  it('combines per-token statistics by tokens, and keeps importance weights only when every update has them', () => {
    const result = (tokenCount: number, value: number, gradientNorm: number, weighted: boolean) => ({
      loss: value,
      policyLoss: value,
      entropy: value * 2,
      clipFraction: value / 10,
      approximateKl: -value,
      gradientNorm,
      ...(weighted ? { importanceWeightMean: value, truncatedFraction: value / 100 } : {}),
      tokenCount,
      durationMs: 1,
    });
    const both = combineUpdateStatistics([result(1, 4, 0.5, true), result(3, 8, 2, true)]);
    expect(both).toEqual({
      policyLoss: 7,
      entropy: 14,
      clipFraction: expect.closeTo(0.7, 12),
      approximateKl: -7,
      gradientNorm: 2,
      importanceWeightMean: 7,
      truncatedFraction: expect.closeTo(0.07, 12),
      tokenCount: 4,
    });
    expect(combineUpdateStatistics([result(1, 4, 0.5, true), result(3, 8, 2, false)])).not.toHaveProperty(
      'importanceWeightMean',
    );
    // Updates that counted no token: a plain mean, not a division by zero.
    expect(combineUpdateStatistics([result(0, 4, 0.5, false), result(0, 8, 2, false)])).toMatchObject({
      policyLoss: 6,
      tokenCount: 0,
    });
  });
});
