import { describe, expect, it } from 'vitest';
import type { TrainSequence } from '../../spec/policy-model.js';
import { MockPolicyModel } from '../../test/mock-policy-model.js';
import { DEFAULT_TRAINER_SETTINGS } from '../settings.js';
import { update } from './update.js';

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
});
