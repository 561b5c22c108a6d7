import { describe, expect, it } from 'vitest';
import { mergeIdenticalSequences, microBatches, trainingMicroBatches, weightedTokens } from './batching.js';

const sequence = (promptLength: number, completionLength = 2) => ({
  promptTokenIds: Array.from({ length: promptLength }, (_, index) => index),
  completionTokenIds: Array.from({ length: completionLength }, () => 1),
});
const lengths = (chunks: ReturnType<typeof sequence>[][]) =>
  chunks.map((chunk) => chunk.map((each) => each.promptTokenIds.length + each.completionTokenIds.length));

describe('micro-batches', () => {
  it('keep the order of scoring calls and split on the budget', () => {
    const sequences = [sequence(60), sequence(10), sequence(12)];
    expect(lengths(microBatches(sequences, 1_000_000, 100))).toEqual([[62, 12, 14]]);
    // 2 x 62^2 = 7688 passes a budget of 7000: the second sequence starts a new run.
    expect(lengths(microBatches(sequences, 7_000, 100))).toEqual([[62], [12, 14]]);
  });

  it('for training, sort by length and never pad a sequence to more than twice its length', () => {
    const sequences = [sequence(60), sequence(10), sequence(70), sequence(12), sequence(20), sequence(11)];
    const chunks = trainingMicroBatches(sequences, 1_000_000, 100);
    expect(lengths(chunks)).toEqual([
      [12, 13, 14, 22],
      [62, 72],
    ]);
    expect(chunks.flat()).toHaveLength(sequences.length);
    for (const chunk of lengths(chunks))
      expect(Math.max(...chunk)).toBeLessThanOrEqual(2 * Math.min(...chunk));
    // The budget still splits a run.
    expect(lengths(trainingMicroBatches(sequences, 2 * 22 ** 2, 100))).toEqual([
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
