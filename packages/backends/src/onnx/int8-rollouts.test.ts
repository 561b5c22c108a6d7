import { ConfigError, createByteTokenizer, type TrainSequence } from '@azr/core/spec';
import { describePolicyModelConformance } from '@azr/core/test';
import { describe, expect, it } from 'vitest';
import { type LlamaConfig, llamaConfigToJson, parseLlamaConfig } from '../model/config.js';
import { initializeLlamaWeights } from '../model/weights.js';
import { SMALL_TEST_CONFIG } from '../testing/small-model.js';
import { createOnnxPolicy } from './policy.js';
import { dequantizeInt8Blocks, INT8_BLOCK_SIZE, quantizeInt8Blocks } from './quantize.js';

describe('int8 blocks', () => {
  // 45 inputs: one full block and a padded one.
  const [outputs, inputs] = [7, 45];
  let state = 11;
  const matrix = Float32Array.from({ length: outputs * inputs }, () => {
    state = (state * 16807) % 2147483647;
    return (state / 2147483647 - 0.5) * 4;
  });
  const transposed = new Float32Array(matrix.length);
  for (let output = 0; output < outputs; output += 1)
    for (let input = 0; input < inputs; input += 1)
      transposed[input * outputs + output] = matrix[output * inputs + input] as number;

  it('stores each weight within half a step of its block, from either layout', () => {
    const rows = quantizeInt8Blocks(matrix, outputs, inputs, 'rows');
    const columns = quantizeInt8Blocks(transposed, outputs, inputs, 'columns');
    expect(columns.data).toEqual(rows.data);
    expect(columns.scales).toEqual(rows.scales);
    expect(rows.blocks).toBe(2);
    expect(rows.data).toHaveLength(outputs * 2 * INT8_BLOCK_SIZE);
    const restored = dequantizeInt8Blocks(rows);
    for (let output = 0; output < outputs; output += 1)
      for (let input = 0; input < inputs; input += 1) {
        const scale = rows.scales[output * 2 + Math.floor(input / INT8_BLOCK_SIZE)] as number;
        const index = output * inputs + input;
        expect(Math.abs((restored[index] as number) - (matrix[index] as number))).toBeLessThanOrEqual(
          scale / 2 + 1e-7,
        );
      }
    // The padding of the second block is the zero point.
    expect(rows.data[2 * INT8_BLOCK_SIZE - 1]).toBe(128);
  });
});

// The engine tests' small model at width 64: two blocks per product input, as real models have many.
const config = parseLlamaConfig({
  ...llamaConfigToJson(SMALL_TEST_CONFIG),
  hidden_size: 64,
  intermediate_size: 96,
});
const modelOf = (shape: LlamaConfig, seed: number) => ({
  config: shape,
  weights: initializeLlamaWeights(shape, { seed, standardDeviation: 0.1 }),
  tokenizer: createByteTokenizer(),
});
const modelWith = (seed: number) => modelOf(config, seed);
const request = {
  prompts: ['def f(x):', 'return 3 +', 'abc'],
  seed: 5,
  temperature: 1,
  topP: 1,
  maxTokens: 12,
};

// The whole contract holds with int8 rollouts; generation's log probabilities are the int8 graph's, within
// 0.1 of the learner's (the mean difference is checked below).
describePolicyModelConformance(
  'onnx policy with int8 rollouts',
  () => createOnnxPolicy({ model: modelWith(3), rolloutPrecision: 'int8' }),
  {
    load: (directory) => createOnnxPolicy({ model: { directory }, rolloutPrecision: 'int8' }),
    logProbTolerance: 0.1,
  },
);

/**
 * Two policies of the same weights, float32 and int8 rollouts: the int8 one generates, both score. Returns their
 * capabilities, how far the int8 rollouts' log probabilities are from the learner's, and how far the int8
 * policy's own scoring is from the learner's.
 */
async function rolloutDifferences(shape: LlamaConfig, seed: number) {
  const exact = await createOnnxPolicy({ model: modelOf(shape, seed) });
  const int8 = await createOnnxPolicy({ model: modelOf(shape, seed), rolloutPrecision: 'int8' });
  try {
    const { completions } = await int8.doGenerate(request);
    const sequences = completions.map((completion) => ({
      promptTokenIds: completion.promptTokenIds,
      completionTokenIds: completion.tokenIds,
    }));
    const learner = await exact.doComputeLogProbs({ sequences, temperature: 1 });
    const scored = await int8.doComputeLogProbs({ sequences, temperature: 1 });
    const rollout: number[] = [];
    const scoring: number[] = [];
    completions.forEach((completion, row) => {
      completion.logProbs.forEach((logProb, index) => {
        const float32 = learner.logProbs[row]?.[index] as number;
        rollout.push(Math.abs(logProb - float32));
        scoring.push(Math.abs((scored.logProbs[row]?.[index] as number) - float32));
      });
    });
    return {
      capabilities: [exact.capabilities.rolloutLogProbs, int8.capabilities.rolloutLogProbs],
      mean: rollout.reduce((total, value) => total + value, 0) / rollout.length,
      largest: Math.max(...rollout),
      scoring: Math.max(...scoring),
    };
  } finally {
    await exact.doDispose();
    await int8.doDispose();
  }
}

describe('int8 rollouts', () => {
  const untied = parseLlamaConfig({
    ...llamaConfigToJson(config),
    model_type: 'qwen2',
    tie_word_embeddings: false,
    attention_bias: true,
  });
  for (const [label, shape, seed] of [
    ['tied head', config, 3],
    ['untied head, biased projections', untied, 6],
  ] as const)
    it(`sample from 8-bit weights, score with the float32 ones, and say the two differ (${label})`, async () => {
      const { capabilities, mean, largest, scoring } = await rolloutDifferences(shape, seed);
      expect(capabilities).toEqual([undefined, 'approximate']);
      // doComputeLogProbs of the int8 policy is the learner's.
      expect(scoring).toBeLessThan(1e-5);
      // Close (8-bit blocks of 32 on weights of 0.1), and not equal: generation ran on the int8 graph.
      expect(mean).toBeLessThan(0.02);
      expect(largest).toBeGreaterThan(1e-5);
    });

  it('trains with the importance weights, and samples from the updated weights after the update', async () => {
    const policy = await createOnnxPolicy({
      model: modelWith(4),
      rolloutPrecision: 'int8',
      importanceTruncation: 1.5,
      optimizer: { learningRate: 1e-2 },
    });
    try {
      const before = await policy.doGenerate({ ...request, greedy: true });
      const sequences: TrainSequence[] = before.completions.map((completion, index) => ({
        promptTokenIds: completion.promptTokenIds,
        completionTokenIds: completion.tokenIds,
        oldLogProbs: completion.logProbs,
        advantages: completion.tokenIds.map(() => (index === 0 ? 1 : -1)),
      }));
      const result = await policy.doTrainStep({
        sequences,
        temperature: 1,
        loss: { clipRatio: 0.2, entropyCoefficient: 0 },
      });
      // Weights near 1 (the rollouts are close to the learner), none above the cap; the ratio is against the
      // learner itself on this first update, so nothing is clipped and the KL estimate is 0.
      expect(result.importanceWeightMean).toBeGreaterThan(0.9);
      expect(result.importanceWeightMean).toBeLessThanOrEqual(1.5);
      expect(result.truncatedFraction).toBeGreaterThanOrEqual(0);
      expect(result.clipFraction).toBe(0);
      expect(Math.abs(result.approximateKl)).toBeLessThan(1e-6);
      // The rollout session was rebuilt from the updated weights: its log probabilities follow the learner's.
      const after = await policy.doGenerate({ ...request, greedy: true });
      const rescored = await policy.doComputeLogProbs({
        sequences: after.completions.map((completion) => ({
          promptTokenIds: completion.promptTokenIds,
          completionTokenIds: completion.tokenIds,
        })),
        temperature: 1,
      });
      const first = after.completions[0];
      expect(first?.logProbs[0]).toBeCloseTo(rescored.logProbs[0]?.[0] as number, 1);
      const moved = after.completions.some(
        (completion, row) =>
          completion.tokenIds.join() !== before.completions[row]?.tokenIds.join() ||
          Math.abs((completion.logProbs[0] as number) - (before.completions[row]?.logProbs[0] as number)) >
            1e-3,
      );
      expect(moved).toBe(true);
    } finally {
      await policy.doDispose();
    }
  });

  it('refuses an unknown precision, int8 on shared weights, and a cap below 1', async () => {
    const model = modelWith(3);
    await expect(createOnnxPolicy({ model, rolloutPrecision: 'int4' as 'int8' })).rejects.toSatisfy(
      (error: unknown) =>
        ConfigError.isInstance(error) &&
        error.details.field === 'rolloutPrecision' &&
        error.details.allowed?.includes('int8') === true,
    );
    await expect(
      createOnnxPolicy({ model, rolloutPrecision: 'int8', rolloutWeights: 'shared' }),
    ).rejects.toSatisfy(
      (error: unknown) => ConfigError.isInstance(error) && error.details.field === 'rolloutPrecision',
    );
    await expect(
      createOnnxPolicy({ model, rolloutPrecision: 'int8', importanceTruncation: 0.5 }),
    ).rejects.toSatisfy(
      (error: unknown) => ConfigError.isInstance(error) && error.details.field === 'importanceTruncation',
    );
  });
});
