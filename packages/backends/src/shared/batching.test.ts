import { ConfigError } from '@azr/core/spec';
import { describe, expect, it } from 'vitest';
import { LLAMA_PRESETS, parseLlamaConfig } from '../model/config.js';
import { SMALL_TEST_CONFIG } from '../testing/small-model.js';
import {
  activationMemoryLimit,
  DEFAULT_ONNX_ACTIVATION_MEMORY_BUDGET,
  DEFAULT_TFJS_ACTIVATION_MEMORY_BUDGET,
  mergeIdenticalSequences,
  microBatches,
  microBatchLimit,
  packByPrompt,
  productLimit,
  trainingMicroBatches,
  weightedTokens,
} from './batching.js';
import { trainingActivationBytes } from './memory-plan.js';

const sequence = (promptLength: number, completionLength = 2) => ({
  promptTokenIds: Array.from({ length: promptLength }, (_, index) => index),
  completionTokenIds: Array.from({ length: completionLength }, () => 1),
});
const lengths = (chunks: ReturnType<typeof sequence>[][]) =>
  chunks.map((chunk) => chunk.map((each) => each.promptTokenIds.length + each.completionTokenIds.length));

describe('micro-batches', () => {
  it('keep the order of scoring calls and split on the budget', () => {
    const sequences = [sequence(60), sequence(10), sequence(12)];
    expect(lengths(microBatches(sequences, productLimit(1_000_000, 100)))).toEqual([[62, 12, 14]]);
    // 2 x 62^2 = 7688 passes a budget of 7000: the second sequence starts a new run.
    expect(lengths(microBatches(sequences, productLimit(7_000, 100)))).toEqual([[62], [12, 14]]);
  });

  it('for training, sort by length and never pad a sequence to more than twice its length', () => {
    const sequences = [sequence(60), sequence(10), sequence(70), sequence(12), sequence(20), sequence(11)];
    const chunks = trainingMicroBatches(sequences, productLimit(1_000_000, 100));
    expect(lengths(chunks)).toEqual([
      [12, 13, 14, 22],
      [62, 72],
    ]);
    expect(chunks.flat()).toHaveLength(sequences.length);
    for (const chunk of lengths(chunks))
      expect(Math.max(...chunk)).toBeLessThanOrEqual(2 * Math.min(...chunk));
    // The budget still splits a run.
    expect(lengths(trainingMicroBatches(sequences, productLimit(2 * 22 ** 2, 100)))).toEqual([
      [12, 13, 14],
      [22],
      [62],
      [72],
    ]);
  });
});

describe('identical training sequences', () => {
  const train = (completion: number[], oldLogProbs: number[], advantage: number, lossMask?: number[]) => ({
    promptTokenIds: [7, 8, 9],
    completionTokenIds: completion,
    oldLogProbs,
    advantages: completion.map(() => advantage),
    ...(lossMask === undefined ? {} : { lossMask }),
  });

  it('merge into one with their count, in order of first occurrence', () => {
    const right = train([3, 256], [-0.5, -0.25], 1);
    const wrong = train([4, 256], [-2, -0.25], -0.5);
    const merged = mergeIdenticalSequences([right, wrong, right, right, wrong]);
    expect(merged.map(({ completionTokenIds, count }) => [completionTokenIds, count])).toEqual([
      [[3, 256], 3],
      [[4, 256], 2],
    ]);
    expect(weightedTokens(merged[0] as (typeof merged)[number])).toEqual([3, 3]);
  });

  it('stay apart when any number differs: prompt, log probability, advantage or counted token', () => {
    const base = train([3, 256], [-0.5, -0.25], 1);
    const others = [
      { ...base, promptTokenIds: [7, 8, 1] },
      train([3, 256], [-0.5, -0.2500001], 1),
      train([3, 256], [-0.5, -0.25], 0.5),
      train([3, 256], [-0.5, -0.25], 1, [1, 0]),
    ];
    const merged = mergeIdenticalSequences([base, ...others, base]);
    expect(merged.map((each) => each.count)).toEqual([2, 1, 1, 1, 1]);
    // A mask of all ones counts every token, as no mask does.
    expect(mergeIdenticalSequences([base, train([3, 256], [-0.5, -0.25], 1, [1, 1])])).toHaveLength(1);
    expect(weightedTokens(merged[4] as (typeof merged)[number])).toEqual([1, 0]);
  });
});

describe('micro-batches sized from an activation memory budget', () => {
  const bigVocabulary = parseLlamaConfig({
    model_type: 'qwen2',
    vocab_size: 151_936,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
  });
  const batch = Array.from({ length: 16 }, (_, index) => sequence(90 + index, 10));

  it('fit as many sequences in a pass as the plan allows, fewer for a bigger vocabulary', () => {
    const budget = 64 * 2 ** 20;
    const perSequence = (config: typeof SMALL_TEST_CONFIG) =>
      trainingActivationBytes(config, { sequences: 1, length: 115 });
    // The byte vocabulary: a 115-token sequence holds about 1.4 MB, so the whole batch fits one pass.
    expect(perSequence(SMALL_TEST_CONFIG)).toBeLessThan(budget / 16);
    expect(trainingMicroBatches(batch, activationMemoryLimit(SMALL_TEST_CONFIG, budget))).toHaveLength(1);
    // Qwen2.5's vocabulary at the same width: its logits alone cost 5 x 151,936 x 4 bytes per token, about
    // 350 MB for one sequence, over the budget: every sequence goes alone.
    expect(perSequence(bigVocabulary)).toBeGreaterThan(budget);
    const alone = trainingMicroBatches(batch, activationMemoryLimit(bigVocabulary, budget));
    expect(alone.map((chunk) => chunk.length)).toEqual(new Array(16).fill(1));
    // In between, each pass holds what fits: 3 sequences of 105 tokens and up fit 1 GiB, 4 do not.
    const gibibyte = trainingMicroBatches(batch, activationMemoryLimit(bigVocabulary, 2 ** 30));
    expect(gibibyte.map((chunk) => chunk.length)).toEqual([3, 3, 3, 3, 3, 1]);
    for (const chunk of gibibyte) {
      const longest = Math.max(
        ...chunk.map((each) => each.promptTokenIds.length + each.completionTokenIds.length),
      );
      expect(
        trainingActivationBytes(bigVocabulary, { sequences: chunk.length, length: longest }),
      ).toBeLessThan(2 ** 30);
    }
  });

  it('count the logits at the completions alone for an engine that computes them there', () => {
    // Long prompts, short completions: 16 sequences of 100 prompt tokens and 10 completion tokens.
    const every = trainingMicroBatches(batch, activationMemoryLimit(bigVocabulary, 2 ** 30));
    const completions = trainingMicroBatches(
      batch,
      activationMemoryLimit(bigVocabulary, 2 ** 30, 'completions'),
    );
    expect(every).toHaveLength(6);
    // Logits at 10 positions a sequence rather than up to 115: the whole batch in one pass.
    expect(completions).toHaveLength(1);
    expect(
      trainingActivationBytes(bigVocabulary, { sequences: 16, length: 115, logitPositions: 160 }),
    ).toBeLessThan(2 ** 30);
  });

  it('run a sequence that alone passes the budget in a pass of its own, in length order for training', () => {
    const sequences = [sequence(30), sequence(10), sequence(20)];
    expect(lengths(microBatches(sequences, activationMemoryLimit(SMALL_TEST_CONFIG, 1)))).toEqual([
      [32],
      [12],
      [22],
    ]);
    expect(lengths(trainingMicroBatches(sequences, activationMemoryLimit(SMALL_TEST_CONFIG, 1)))).toEqual([
      [12],
      [22],
      [32],
    ]);
  });

  it('come from a policy setting, the deprecated product budget alone keeping its meaning', () => {
    const sequences = [sequence(60), sequence(10), sequence(12)];
    const split = (settings: Parameters<typeof microBatchLimit>[1]) =>
      lengths(microBatches(sequences, microBatchLimit(SMALL_TEST_CONFIG, settings, 2 ** 30)));
    expect(split({})).toEqual([[62, 12, 14]]);
    expect(split({ activationMemoryBudget: 1 })).toEqual([[62], [12], [14]]);
    // 2 x 62^2 passes 7000, as before.
    expect(split({ microBatchBudget: 7_000 })).toEqual([[62], [12, 14]]);
    expect(() => split({ activationMemoryBudget: 2 ** 20, microBatchBudget: 7_000 })).toThrow(ConfigError);
    expect(() => split({ activationMemoryBudget: 0 })).toThrow(/activationMemoryBudget/);
    expect(() => split({ microBatchBudget: Number.NaN })).toThrow(/microBatchBudget/);
  });

  it("by default on tfjs keep the old default's passes: the benchmark batch in one, a 1,024-token sequence alone", () => {
    const limit = (config: typeof SMALL_TEST_CONFIG) =>
      activationMemoryLimit(config, DEFAULT_TFJS_ACTIVATION_MEMORY_BUDGET);
    const benchmark = Array.from({ length: 16 }, () => sequence(8, 120));
    for (const config of [LLAMA_PRESETS.benchmark, LLAMA_PRESETS.tiny])
      expect(trainingMicroBatches(benchmark, limit(config))).toHaveLength(1);
    const long = [sequence(900, 124), sequence(900, 124)];
    expect(lengths(trainingMicroBatches(long, limit(LLAMA_PRESETS.tiny)))).toEqual([[1024], [1024]]);
  });

  it("by default keep the tiny preset's self-play updates in the passes the old product budget made", () => {
    // An update like the default run's (`azr train`: 120 to 200 distinct sequences of 13 to 38 tokens in each
    // of its first 40 steps, every one of which the new default split as the old budget did).
    const update = Array.from({ length: 195 }, (_, index) => sequence(12 + (index % 20), 6 + (index % 7)));
    const tiny = LLAMA_PRESETS.tiny;
    const old = trainingMicroBatches(update, productLimit(2 ** 22, tiny.vocabularySize));
    const now = trainingMicroBatches(
      update,
      activationMemoryLimit(tiny, DEFAULT_ONNX_ACTIVATION_MEMORY_BUDGET),
    );
    expect(lengths(now)).toEqual(lengths(old));
  });

  it('packs the completions of one prompt into rows: the prompt once, each completion seeing it and itself', () => {
    const sequence = (prompt: number[], completion: number[], advantage: number, count = 1) => ({
      promptTokenIds: prompt,
      completionTokenIds: completion,
      oldLogProbs: completion.map((_, index) => -1 - index),
      advantages: completion.map(() => advantage),
      count,
    });
    const rows = packByPrompt([
      sequence([1, 2, 3], [7], 1, 3),
      sequence([9, 9], [4, 5], -1),
      sequence([1, 2, 3], [8, 6, 5], 0.5),
    ]);
    expect(rows).toEqual([
      {
        // The one-token answer adds no position; the three-token one adds its first two tokens.
        tokenIds: [1, 2, 3, 8, 6],
        positionIds: [0, 1, 2, 3, 4],
        segmentIds: [0, 0, 0, 2, 2],
        predictions: [
          { position: 2, target: 7, weight: 3, oldLogProb: -1, advantage: 1 },
          { position: 2, target: 8, weight: 1, oldLogProb: -1, advantage: 0.5 },
          { position: 3, target: 6, weight: 1, oldLogProb: -2, advantage: 0.5 },
          { position: 4, target: 5, weight: 1, oldLogProb: -3, advantage: 0.5 },
        ],
      },
      {
        tokenIds: [9, 9, 4],
        positionIds: [0, 1, 2],
        segmentIds: [0, 0, 1],
        predictions: [
          { position: 1, target: 4, weight: 1, oldLogProb: -1, advantage: -1 },
          { position: 2, target: 5, weight: 1, oldLogProb: -2, advantage: -1 },
        ],
      },
    ]);
    // A row stops growing at four times its longest sequence: sixteen 4-token answers to a 4-token prompt take
    // 2 rows, and 8 rows under a memory limit that admits 10 positions a row.
    const many = Array.from({ length: 16 }, (_, index) => sequence([1, 2, 3, 4], [10 + index, 1, 2, 3], 1));
    const packed = packByPrompt(many);
    expect(packed.map((row) => row.tokenIds.length)).toEqual([31, 25]);
    expect(packed.flatMap((row) => row.predictions)).toHaveLength(64);
    const limited = packByPrompt(many, ({ length }) => length <= 10);
    expect(limited.map((row) => row.tokenIds.length)).toEqual(Array.from({ length: 8 }, () => 10));
    // A sequence without a prompt token has no position to predict its first token from: a typed error.
    expect(() => packByPrompt([sequence([], [5, 6], 1)])).toThrow(ConfigError);
  });
});
