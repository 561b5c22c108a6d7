import { createByteTokenizer, type TrainBatch, type TrainStepResult } from '@azr/core/spec';
import { describe, expect, it } from 'vitest';
import { initializeLlamaWeights } from '../model/weights.js';
import {
  activationMemoryLimit,
  DEFAULT_TFJS_ACTIVATION_MEMORY_BUDGET,
  trainingMicroBatches,
} from '../shared/batching.js';
import { SMALL_TEST_CONFIG } from '../testing/small-model.js';
import { createTfjsPolicy } from '../tfjs/policy.js';
import { createOnnxPolicy } from './policy.js';

const config = SMALL_TEST_CONFIG;

/**
 * An onnx and a tfjs policy on the same seeded weights (learning rate 3e-3), and a batch of the onnx policy's
 * completions of `prompts` with each sequence's advantage from `advantage(index)`.
 */
async function enginesAndBatch(
  seed: number,
  prompts: string[],
  maxTokens: number,
  advantage: (index: number) => number,
  entropyCoefficient: number,
  split = false,
) {
  const model = {
    config,
    weights: initializeLlamaWeights(config, { seed, standardDeviation: 0.1 }),
    tokenizer: createByteTokenizer(),
  };
  const optimizer = { learningRate: 3e-3 };
  const onnx = await createOnnxPolicy({ model, optimizer });
  const tfjs = await createTfjsPolicy({ model, backend: 'wasm', optimizer });
  // With `split`, a third policy: the onnx engine with every sequence in a micro-batch of its own.
  const onnxSplit = split
    ? await createOnnxPolicy({ model, optimizer, activationMemoryBudget: 1 })
    : undefined;
  const { completions } = await onnx.doGenerate({ prompts, seed: 2, temperature: 1, topP: 1, maxTokens });
  const batch: TrainBatch = {
    sequences: completions.map((completion, index) => ({
      promptTokenIds: completion.promptTokenIds,
      completionTokenIds: completion.tokenIds,
      oldLogProbs: completion.logProbs,
      advantages: completion.tokenIds.map(() => advantage(index)),
    })),
    temperature: 1,
    loss: { clipRatio: 0.2, entropyCoefficient },
  };
  return { onnx, tfjs, onnxSplit, completions, batch };
}

/** Two engines' results of one update: the same token count, and statistics within 1e-4. */
function expectSameUpdate(left: TrainStepResult, right: TrainStepResult, label: string) {
  expect(left.tokenCount, label).toBe(right.tokenCount);
  for (const field of [
    'loss',
    'policyLoss',
    'entropy',
    'clipFraction',
    'approximateKl',
    'gradientNorm',
  ] as const)
    expect(Math.abs(left[field] - right[field]), `${label} ${field}`).toBeLessThan(1e-4);
}

/** Two policies' weights, entry by entry within 1e-4. */
async function expectSameWeights(
  left: { readWeights(): Promise<ReadonlyMap<string, { data: Float32Array }>> },
  right: { readWeights(): Promise<ReadonlyMap<string, { data: Float32Array }>> },
) {
  const [ours, theirs] = [await left.readWeights(), await right.readWeights()];
  for (const [name, { data }] of ours) {
    const other = theirs.get(name)?.data as Float32Array;
    const largest = data.reduce(
      (most, value, index) => Math.max(most, Math.abs(value - (other[index] as number))),
      0,
    );
    expect(largest, name).toBeLessThan(1e-4);
  }
}

describe('training on the onnx engine', () => {
  it('drives the loss of a fixed batch down step for step as the tfjs engine does', async () => {
    const { onnx, tfjs, completions, batch } = await enginesAndBatch(
      21,
      ['let a = ', 'def f(x):', 'return [', '//'],
      10,
      (index) => (index % 2 === 0 ? 1 : -0.5),
      0.001,
    );
    const losses: [number, number][] = [];
    for (let step = 0; step < 120; step += 1) {
      const [left, right] = [await onnx.doTrainStep(batch), await tfjs.doTrainStep(batch)];
      losses.push([left.loss, right.loss]);
      expect(left.tokenCount).toBe(right.tokenCount);
    }
    const [first, last] = [losses[0] as [number, number], losses.at(-1) as [number, number]];
    expect(last[0]).toBeLessThan(first[0] - 0.05);
    // The two engines follow the same trajectory: measured at most 7e-7 apart over these 120 steps (the loss
    // goes from -0.255 to -0.405); float32 differences could compound through AdamW, hence the margin.
    for (const [step, [left, right]] of losses.entries())
      expect(Math.abs(left - right), `step ${step}`).toBeLessThan(1e-4);
    // Generation follows the trained weights: the reinforced completion became more likely.
    const scored = await onnx.doComputeLogProbs({
      sequences: [
        {
          promptTokenIds: completions[0]?.promptTokenIds ?? [],
          completionTokenIds: completions[0]?.tokenIds ?? [],
        },
      ],
      temperature: 1,
    });
    const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
    expect(sum(scored.logProbs[0] ?? [])).toBeGreaterThan(sum(completions[0]?.logProbs ?? []));
    await onnx.doDispose();
    await tfjs.doDispose();
  }, 120_000);

  it('skips the backward pass of sequences without advantage, and updates and reports as tfjs does', async () => {
    // Sequences 1, 3 and 5 carry no advantage: they count in the token mean and the statistics alone. The split
    // onnx policy runs them in three forward-only calls and the other three in one call of three micro-batches.
    const { onnx, tfjs, onnxSplit, completions, batch } = await enginesAndBatch(
      8,
      ['f(3)=', 'f(x)=x*2', '#DS', 'let b', 'x+1;', 'return'],
      6,
      (index) => (index % 2 === 1 ? 0 : index === 2 ? -1 : 1),
      0,
      true,
    );
    expect(completions).toHaveLength(6);
    for (let step = 0; step < 20; step += 1) {
      const expected = await tfjs.doTrainStep(batch);
      expectSameUpdate(await onnx.doTrainStep(batch), expected, `step ${step}`);
      expectSameUpdate(await (onnxSplit as typeof onnx).doTrainStep(batch), expected, `step ${step}, split`);
    }
    // Statistics cover the inert sequences too: the mean entropy of a random model is far from 0.
    expect((await onnx.doTrainStep(batch)).entropy).toBeGreaterThan(0.5);
    await onnx.doDispose();
    await onnxSplit?.doDispose();
    await tfjs.doDispose();
  }, 120_000);

  it('trains identical sequences once, weighed by their number, as tfjs trains every copy', async () => {
    // The answers to one task: copies of three completions, with the advantages of a group of 8 and a
    // sequence without advantage among them. The onnx engine runs 4 distinct sequences, tfjs all 10.
    const { onnx, tfjs, batch } = await enginesAndBatch(
      13,
      ['f(4)=', 'f(4)=', 'f(4)=', '#IS'],
      3,
      (index) => [1.5, -0.5, -0.5, 0][index] as number,
      0,
    );
    const [first, second, third, fourth] = batch.sequences as TrainBatch['sequences'];
    const copies = {
      ...batch,
      sequences: [first, second, first, third, second, second, fourth, third, second, fourth],
    };
    for (let step = 0; step < 20; step += 1) {
      expectSameUpdate(
        await onnx.doTrainStep(copies as TrainBatch),
        await tfjs.doTrainStep(copies as TrainBatch),
        `step ${step}`,
      );
    }
    await expectSameWeights(onnx, tfjs);
    await onnx.doDispose();
    await tfjs.doDispose();
  }, 120_000);

  it('packs the answers to one prompt into one row, one-token answers included, and updates as tfjs does', async () => {
    // Two prompts with several answers each (distinct ones: nothing merges), of one token and of several, with
    // mixed advantages: the onnx engine runs one row per prompt, tfjs every sequence on its own.
    const model = {
      config,
      weights: initializeLlamaWeights(config, { seed: 23, standardDeviation: 0.1 }),
      tokenizer: createByteTokenizer(),
    };
    const optimizer = { learningRate: 3e-3 };
    const onnx = await createOnnxPolicy({ model, optimizer });
    const tfjs = await createTfjsPolicy({ model, backend: 'wasm', optimizer });
    const answers = [
      { prompt: [35, 68, 83, 10], completion: [55], advantage: 1.5 },
      { prompt: [35, 68, 83, 10], completion: [56], advantage: -0.5 },
      { prompt: [35, 68, 83, 10], completion: [57, 58, 59], advantage: 0.75 },
      { prompt: [35, 68, 83, 10], completion: [60, 61], advantage: -1 },
      { prompt: [102, 40, 52, 41, 61], completion: [51], advantage: -0.25 },
      { prompt: [102, 40, 52, 41, 61], completion: [52, 53], advantage: 0.5 },
    ];
    const scored = await onnx.doComputeLogProbs({
      sequences: answers.map(({ prompt, completion }) => ({
        promptTokenIds: prompt,
        completionTokenIds: completion,
      })),
      temperature: 1,
    });
    const batch: TrainBatch = {
      sequences: answers.map(({ prompt, completion, advantage }, index) => ({
        promptTokenIds: prompt,
        completionTokenIds: completion,
        oldLogProbs: scored.logProbs[index] as number[],
        advantages: completion.map(() => advantage),
      })),
      temperature: 1,
      loss: { clipRatio: 0.2, entropyCoefficient: 0.01 },
    };
    for (let step = 0; step < 10; step += 1)
      expectSameUpdate(await onnx.doTrainStep(batch), await tfjs.doTrainStep(batch), `step ${step}`);
    await expectSameWeights(onnx, tfjs);
    await onnx.doDispose();
    await tfjs.doDispose();
  }, 120_000);

  it('takes the same update with one sequence per micro-batch as in one pass, on both engines', async () => {
    const model = {
      config,
      weights: initializeLlamaWeights(config, { seed: 17, standardDeviation: 0.1 }),
      tokenizer: createByteTokenizer(),
    };
    // A larger epsilon than the default keeps the comparison about the micro-batching: Adam's first step divides
    // each gradient by its own size, which turns float summation-order noise on a gradient near 0 into an update.
    const optimizer = { learningRate: 0.01, epsilon: 1e-3 };
    const sequences = [
      { promptTokenIds: [10, 20, 30], completionTokenIds: [40, 50], advantage: 1 },
      { promptTokenIds: [1], completionTokenIds: [2, 3, 4, 5, 6, 7, 8], advantage: -0.5 },
      { promptTokenIds: [99, 98, 97, 96, 95], completionTokenIds: [256], advantage: 2 },
      { promptTokenIds: [7, 7], completionTokenIds: [8, 9, 10], advantage: 0.25 },
    ].map(({ advantage, ...sequence }) => ({
      ...sequence,
      oldLogProbs: sequence.completionTokenIds.map(() => -5.5),
      advantages: sequence.completionTokenIds.map(() => advantage),
      lossMask: sequence.completionTokenIds.map((_, index) => (index === 1 ? 0 : 1)),
    }));
    const batch: TrainBatch = {
      sequences,
      temperature: 1,
      loss: { clipRatio: 0.2, entropyCoefficient: 0.01 },
    };
    // A budget of one byte sends every sequence through a pass of its own; the defaults run the batch (5 to 8
    // tokens) in one pass.
    expect(trainingMicroBatches(sequences, activationMemoryLimit(config, 1))).toHaveLength(4);
    expect(
      trainingMicroBatches(sequences, activationMemoryLimit(config, DEFAULT_TFJS_ACTIVATION_MEMORY_BUDGET)),
    ).toHaveLength(1);
    const policies = [
      await createOnnxPolicy({ model, optimizer }),
      await createOnnxPolicy({ model, optimizer, activationMemoryBudget: 1 }),
      await createOnnxPolicy({ model, optimizer, activationMemoryBudget: 1, microBatchLoop: false }),
      await createTfjsPolicy({ model, backend: 'wasm', optimizer }),
      await createTfjsPolicy({ model, backend: 'wasm', optimizer, activationMemoryBudget: 1 }),
    ];
    const results: TrainStepResult[] = [];
    for (const policy of policies) results.push(await policy.doTrainStep(batch));
    const weights = await Promise.all(policies.map((policy) => policy.readWeights()));
    const labels = [
      'onnx, one pass',
      'onnx, a pass per sequence, all in one call (the micro-batch loop)',
      'onnx, a pass per sequence, a call each',
      'tfjs, one pass',
      'tfjs, a pass per sequence',
    ];
    for (const index of [1, 2, 3, 4]) {
      const label = labels[index] as string;
      expectSameUpdate(results[index] as TrainStepResult, results[0] as TrainStepResult, label);
      for (const [name, { data }] of weights[0] ?? []) {
        const other = weights[index]?.get(name)?.data as Float32Array;
        const largest = data.reduce(
          (most, value, position) => Math.max(most, Math.abs(value - (other[position] as number))),
          0,
        );
        expect(largest, `${label} ${name}`).toBeLessThan(1e-5);
      }
    }
    // The update moved the weights: the comparison is not between five untouched copies.
    const moved = model.weights.get('model.layers.0.mlp.up_proj.weight')?.data as Float32Array;
    expect(weights[3]?.get('model.layers.0.mlp.up_proj.weight')?.data).not.toEqual(moved);
    for (const policy of policies) await policy.doDispose();
  }, 120_000);

  it('leaves the weights alone on a batch with no completion tokens, on both engines', async () => {
    const model = {
      config,
      weights: initializeLlamaWeights(config, { seed: 4, standardDeviation: 0.1 }),
      tokenizer: createByteTokenizer(),
    };
    const batch: TrainBatch = {
      sequences: [{ promptTokenIds: [1, 2, 3], completionTokenIds: [], oldLogProbs: [], advantages: [] }],
      temperature: 1,
      loss: { clipRatio: 0.2, entropyCoefficient: 0 },
    };
    for (const policy of [
      await createOnnxPolicy({ model, optimizer: { learningRate: 0.1 } }),
      await createTfjsPolicy({ model, backend: 'wasm', optimizer: { learningRate: 0.1 } }),
    ]) {
      const result = await policy.doTrainStep(batch);
      expect(result).toMatchObject({ loss: 0, tokenCount: 0, gradientNorm: 0 });
      const after = await policy.readWeights();
      for (const [name, { data }] of model.weights) expect(after.get(name)?.data, name).toEqual(data);
      await policy.doDispose();
    }
  });
});
