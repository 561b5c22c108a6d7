import { describe, expect, it } from 'vitest';
import { microBatches, trainingMicroBatches } from './batching.js';

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
