import { createByteTokenizer } from '@azr/core/spec';
import { describePolicyModelConformance } from '@azr/core/test';
import { describe, expect, it } from 'vitest';
import { initializeLlamaWeights } from '../model/weights.js';
import { SMALL_TEST_CONFIG } from '../testing/small-model.js';
import { matMulWithPlainGradient } from './llama-forward.js';
import { createTfjsPolicy } from './policy.js';
import { initializeTfjs } from './runtime.js';

const config = SMALL_TEST_CONFIG;

function create(optimizer: { learningRate: number; epsilon?: number } = { learningRate: 0.01 }) {
  return createTfjsPolicy({
    model: {
      config,
      weights: initializeLlamaWeights(config, { seed: 3, standardDeviation: 0.1 }),
      tokenizer: createByteTokenizer(),
    },
    backend: 'wasm',
    optimizer,
  });
}

describePolicyModelConformance('tfjs policy (wasm)', create, {
  load: (directory) => createTfjsPolicy({ model: { directory }, backend: 'wasm' }),
  testTimeoutMs: 120_000,
});

describe('the tfjs policy', () => {
  it('keeps its tensor count steady across generation and training steps', async () => {
    const { tf } = await initializeTfjs({ backend: 'wasm' });
    const policy = await create();
    const step = async (seed: number) => {
      const { completions } = await policy.doGenerate({
        prompts: ['def f(a):'],
        seed,
        temperature: 1,
        topP: 1,
        maxTokens: 6,
      });
      const completion = completions[0];
      if (completion === undefined) throw new Error('no completion');
      await policy.doTrainStep({
        sequences: [
          {
            promptTokenIds: completion.promptTokenIds,
            completionTokenIds: completion.tokenIds,
            oldLogProbs: completion.logProbs,
            advantages: completion.tokenIds.map(() => 1),
          },
        ],
        temperature: 1,
        loss: { clipRatio: 0.2, entropyCoefficient: 0.01 },
      });
    };
    await step(1);
    const count = tf.memory().numTensors;
    await step(2);
    await step(3);
    expect(tf.memory().numTensors).toBe(count);
    await policy.doDispose();
  });
});

describe('the tfjs policy on a batch', () => {
  it('scores sequences of different lengths together as it scores each alone', async () => {
    const policy = await create();
    const sequences = [
      { promptTokenIds: [10, 20, 30], completionTokenIds: [40, 50] },
      { promptTokenIds: [1], completionTokenIds: [2, 3, 4, 5, 6, 7, 8] },
      { promptTokenIds: [99, 98, 97, 96, 95], completionTokenIds: [256] },
    ];
    const together = (await policy.doComputeLogProbs({ sequences, temperature: 0.7 })).logProbs;
    for (const [index, sequence] of sequences.entries()) {
      const alone = (await policy.doComputeLogProbs({ sequences: [sequence], temperature: 0.7 })).logProbs[0];
      expect(together[index]).toHaveLength(sequence.completionTokenIds.length);
      for (const [position, value] of (alone ?? []).entries())
        expect(Math.abs(value - (together[index]?.[position] as number))).toBeLessThan(1e-5);
    }
    await policy.doDispose();
  });

  it('differentiates products with explicit transposes exactly as tfjs does with its flags', async () => {
    const { tf } = await initializeTfjs({ backend: 'wasm' });
    const product = matMulWithPlainGradient(tf);
    for (const [leftShape, rightShape] of [
      [
        [5, 7],
        [7, 3],
      ],
      [
        [2, 3, 4, 6],
        [2, 3, 6, 5],
      ],
    ] as const) {
      const left = tf.randomNormal([...leftShape], 0, 1, 'float32', 1);
      const right = tf.randomNormal([...rightShape], 0, 1, 'float32', 2);
      const weight = tf.randomNormal(
        [...leftShape.slice(0, -1), rightShape.at(-1) as number],
        0,
        1,
        'float32',
        3,
      );
      const loss = (multiply: typeof product) => (a: typeof left, b: typeof right) =>
        tf.sum(tf.mul(multiply(a, b), weight));
      const [expectedLeft, expectedRight] = tf.grads(loss(tf.matMul))([left, right]);
      const [actualLeft, actualRight] = tf.grads(loss(product))([left, right]);
      for (const [actual, expected] of [
        [actualLeft, expectedLeft],
        [actualRight, expectedRight],
      ] as const) {
        expect(actual?.shape).toEqual(expected?.shape);
        const difference = tf.max(tf.abs(tf.sub(actual as typeof left, expected as typeof left)));
        expect((await difference.data())[0]).toBeLessThan(1e-5);
      }
    }
  });

  it('takes the same step whether the batch runs in one pass or one sequence per micro-batch', async () => {
    // Adam's first step divides each gradient by its own size, so a parameter whose gradient is about epsilon
    // turns float summation-order noise into a visible update; a larger epsilon keeps the comparison about the
    // micro-batching, not about that amplification.
    const optimizer = { learningRate: 0.01, epsilon: 1e-3 };
    const whole = await create(optimizer);
    const split = await createTfjsPolicy({
      model: { config, weights: await whole.readWeights(), tokenizer: createByteTokenizer() },
      backend: 'wasm',
      optimizer,
      microBatchBudget: 1,
    });
    const sequences = [
      { promptTokenIds: [10, 20, 30], completionTokenIds: [40, 50], advantage: 1 },
      { promptTokenIds: [1], completionTokenIds: [2, 3, 4, 5, 6, 7, 8], advantage: -0.5 },
      { promptTokenIds: [99, 98, 97, 96, 95], completionTokenIds: [256], advantage: 2 },
    ].map(({ advantage, ...sequence }) => ({
      ...sequence,
      oldLogProbs: sequence.completionTokenIds.map(() => -5.5),
      advantages: sequence.completionTokenIds.map(() => advantage),
      lossMask: sequence.completionTokenIds.map((_, index) => (index === 1 ? 0 : 1)),
    }));
    const batch = { sequences, temperature: 1, loss: { clipRatio: 0.2, entropyCoefficient: 0.01 } };
    const [left, right] = [await whole.doTrainStep(batch), await split.doTrainStep(batch)];
    for (const key of [
      'loss',
      'policyLoss',
      'entropy',
      'clipFraction',
      'approximateKl',
      'gradientNorm',
    ] as const)
      expect(Math.abs(left[key] - right[key])).toBeLessThan(1e-5);
    expect(left.tokenCount).toBe(right.tokenCount);
    const after = [await whole.readWeights(), await split.readWeights()];
    for (const [name, { data }] of after[0] ?? [])
      for (const [index, value] of data.entries())
        expect(Math.abs(value - (after[1]?.get(name)?.data[index] as number))).toBeLessThan(1e-5);
    await whole.doDispose();
    await split.doDispose();
  });

  it('skips the backward pass of zero-advantage sequences, and still reports them and decays the weights', async () => {
    const policy = await createTfjsPolicy({
      model: {
        config,
        weights: initializeLlamaWeights(config, { seed: 3, standardDeviation: 0.1 }),
        tokenizer: createByteTokenizer(),
      },
      backend: 'wasm',
      optimizer: { learningRate: 0.01, weightDecay: 0.1 },
    });
    const sequences = [
      { promptTokenIds: [10, 20, 30], completionTokenIds: [40, 50, 60] },
      { promptTokenIds: [1], completionTokenIds: [2, 3] },
    ];
    const current = (await policy.doComputeLogProbs({ sequences, temperature: 1 })).logProbs;
    const before = await policy.readWeights();
    const result = await policy.doTrainStep({
      sequences: sequences.map((sequence) => ({
        ...sequence,
        oldLogProbs: sequence.completionTokenIds.map(() => -5),
        advantages: sequence.completionTokenIds.map(() => 0),
      })),
      temperature: 1,
      loss: { clipRatio: 0.2, entropyCoefficient: 0 },
    });
    const kl = current.flat().reduce((total, value) => total + (-5 - value), 0) / 5;
    expect(result).toMatchObject({ loss: 0, policyLoss: 0, clipFraction: 0, gradientNorm: 0, tokenCount: 5 });
    expect(Math.abs(result.approximateKl - kl)).toBeLessThan(1e-5);
    expect(result.entropy).toBeGreaterThan(0);
    // Zero gradients: AdamW's first step moves nothing but the decoupled weight decay (none on norms).
    const after = await policy.readWeights();
    for (const [name, { data }] of before) {
      const factor = name.endsWith('norm.weight') ? 1 : 1 - 0.01 * 0.1;
      for (const [index, value] of data.entries())
        expect(Math.abs((after.get(name)?.data[index] as number) - value * factor)).toBeLessThan(1e-6);
    }
    await policy.doDispose();
  });
});
