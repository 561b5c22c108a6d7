import { ConfigError, createByteTokenizer } from '@azr/core/spec';
import { describePolicyModelConformance } from '@azr/core/test';
import { describe, expect, it } from 'vitest';
import { initializeLlamaWeights } from '../model/weights.js';
import { createOnnxPolicy } from '../onnx/policy.js';
import { SMALL_TEST_CONFIG } from '../testing/small-model.js';
import { createTfjsPolicy } from '../tfjs/policy.js';
import { createHybridPolicy } from './hybrid-policy.js';

const config = SMALL_TEST_CONFIG;
const tokenizer = createByteTokenizer();

async function pair(source: { directory: string } | undefined) {
  const learner = await createTfjsPolicy({
    model: source ?? {
      config,
      weights: initializeLlamaWeights(config, { seed: 3, standardDeviation: 0.1 }),
      tokenizer,
    },
    backend: 'wasm',
    optimizer: { learningRate: 0.01 },
  });
  const rollout = await createOnnxPolicy({
    model: { config, weights: initializeLlamaWeights(config, { seed: 1 }), tokenizer },
  });
  return createHybridPolicy({ learner, rollout });
}

describePolicyModelConformance('hybrid policy (tfjs learner, onnx rollout)', () => pair(undefined), {
  load: (directory) => pair({ directory }),
  testTimeoutMs: 120_000,
});

describe('the hybrid policy', () => {
  it('generates from the weights the learner has after each update', async () => {
    const policy = await pair(undefined);
    const request = { prompts: ['let x = '], seed: 5, temperature: 1, topP: 1, maxTokens: 8 };
    const { completions } = await policy.doGenerate(request);
    const completion = completions[0];
    if (completion === undefined) throw new Error('no completion');
    const sequence = { promptTokenIds: completion.promptTokenIds, completionTokenIds: completion.tokenIds };
    await policy.doTrainStep({
      sequences: [
        { ...sequence, oldLogProbs: completion.logProbs, advantages: completion.tokenIds.map(() => 1) },
      ],
      temperature: 1,
      loss: { clipRatio: 0.2, entropyCoefficient: 0 },
    });
    expect(policy.lastWeightSyncMs).toBeGreaterThan(0);
    // The learner scores the completion; the rollout engine, forced to the same tokens by greedy decoding
    // on the same weights, must report the same log probabilities.
    const scored = (await policy.doComputeLogProbs({ sequences: [sequence], temperature: 1 })).logProbs[0];
    const again = (await policy.doGenerate({ ...request, greedy: true })).completions[0];
    if (again === undefined || scored === undefined) throw new Error('no completion');
    const rescored = (
      await policy.doComputeLogProbs({
        sequences: [{ promptTokenIds: again.promptTokenIds, completionTokenIds: again.tokenIds }],
        temperature: 1,
      })
    ).logProbs[0] as number[];
    for (const [index, value] of again.logProbs.entries())
      expect(Math.abs(value - (rescored[index] as number))).toBeLessThan(1e-4);
    expect(scored).not.toEqual(completion.logProbs);
    await policy.doDispose();
  });

  it('refuses engines that hold different models', async () => {
    const learner = await createTfjsPolicy({ model: { preset: 'tiny', seed: 1 }, backend: 'wasm' });
    const rollout = await createOnnxPolicy({
      model: { config, weights: initializeLlamaWeights(config, { seed: 1 }), tokenizer },
    });
    await expect(createHybridPolicy({ learner, rollout })).rejects.toSatisfy(
      (error: unknown) => ConfigError.isInstance(error) && error.details.field === 'rollout',
    );
    await learner.doDispose();
    await rollout.doDispose();
  });

  it('refuses a rollout engine with int8 rollouts, whose log probabilities the learner would take as its own', async () => {
    const model = { config, weights: initializeLlamaWeights(config, { seed: 1 }), tokenizer };
    const learner = await createTfjsPolicy({ model, backend: 'wasm' });
    const rollout = await createOnnxPolicy({ model, rolloutPrecision: 'int8' });
    await expect(createHybridPolicy({ learner, rollout })).rejects.toSatisfy(
      (error: unknown) =>
        ConfigError.isInstance(error) && error.details.field === 'rollout' && error.message.includes('int8'),
    );
    await learner.doDispose();
    await rollout.doDispose();
  });
});
