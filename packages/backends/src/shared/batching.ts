import type { TokenSequence, TrainBatch, TrainSequence, TrainStepResult } from '@azr/core/spec';

/**
 * Sequences of a scoring or training call as one right-padded batch `[batch, length]`. Position `l` of row `b`
 * predicts token `l + 1` (`targets`); a completion token's prediction sits at `prompt length - 1 + t`. Right
 * padding changes nothing before it under causal attention, so no attention mask is needed. `place` lays a
 * per-completion-token list out on that grid (zero elsewhere).
 */
export function layOutBatch<Sequence extends TokenSequence>(sequences: readonly Sequence[], padding: number) {
  const rows = sequences.map((sequence) => [...sequence.promptTokenIds, ...sequence.completionTokenIds]);
  const length = Math.max(...rows.map((row) => row.length));
  const ids = rows.map((row) => [...row, ...new Array<number>(length - row.length).fill(padding)]);
  const targets = ids.map((row) => [...row.slice(1), padding]);
  const place = (values: (sequence: Sequence, index: number) => readonly number[]) => {
    const grid = new Float32Array(sequences.length * length);
    sequences.forEach((sequence, row) => {
      const start = row * length + sequence.promptTokenIds.length - 1;
      grid.set(values(sequence, row), start);
    });
    return grid;
  };
  return { ids, targets, length, place };
}

/** Largest `sequences x length x vocabulary` of one pass: logits and their gradients are this big, several times. */
const LOGITS_BUDGET = 2 ** 24;

/**
 * Splits sequences, in order, into runs whose `count x longest^2` stays within `budget` and whose logits
 * (`count x longest x vocabulary`) within {@link LOGITS_BUDGET} (a sequence longer than that allows goes alone).
 */
export function microBatches<Sequence extends TokenSequence>(
  sequences: readonly Sequence[],
  budget: number,
  vocabularySize: number,
): Sequence[][] {
  const chunks: Sequence[][] = [];
  let current: Sequence[] = [];
  let longest = 0;
  for (const sequence of sequences) {
    const length = sequence.promptTokenIds.length + sequence.completionTokenIds.length;
    const nextLongest = Math.max(longest, length);
    const count = current.length + 1;
    if (
      current.length > 0 &&
      (count * nextLongest ** 2 > budget || count * nextLongest * vocabularySize > LOGITS_BUDGET)
    ) {
      chunks.push(current);
      current = [];
      longest = 0;
    }
    current.push(sequence);
    longest = Math.max(longest, length);
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Micro-batches for a training step, whose gradients and statistics are sums and so do not depend on order:
 * sequences sorted by length, then split as {@link microBatches} does and also wherever a run's longest
 * sequence would pass twice its shortest, so that short sequences (a solver's answer) are not padded to the
 * length of long ones (a proposer's prompt with its references).
 */
export function trainingMicroBatches<Sequence extends TokenSequence>(
  sequences: readonly Sequence[],
  budget: number,
  vocabularySize: number,
): Sequence[][] {
  const length = (sequence: Sequence) => sequence.promptTokenIds.length + sequence.completionTokenIds.length;
  const sorted = [...sequences].sort((first, second) => length(first) - length(second));
  const runs: Sequence[][] = [];
  let current: Sequence[] = [];
  for (const sequence of sorted) {
    const first = current[0];
    if (first !== undefined && length(sequence) > 2 * length(first)) {
      runs.push(current);
      current = [];
    }
    current.push(sequence);
  }
  if (current.length > 0) runs.push(current);
  return runs.flatMap((run) => microBatches(run, budget, vocabularySize));
}

/** Which completion tokens of a training sequence count in the loss: its `lossMask`, or all of them (1 or 0 each). */
export function countedTokens(sequence: TrainSequence): number[] {
  return sequence.completionTokenIds.map((_, index) => ((sequence.lossMask?.[index] ?? 1) === 0 ? 0 : 1));
}

/** How many tokens of a batch count in the loss: the denominator of its token mean. */
export function countedTokenTotal(sequences: readonly TrainSequence[]): number {
  return sequences.reduce(
    (total, sequence) => total + countedTokens(sequence).reduce((sum, value) => sum + value, 0),
    0,
  );
}

/** A training sequence that stands for `count` identical sequences of its batch. */
export interface MergedSequence extends TrainSequence {
  readonly count: number;
}

/**
 * The sequences of a training batch with identical ones merged: the same prompt, completion, old log
 * probabilities, advantages and counted tokens give the same per-token loss and gradient, so an update can run
 * such a sequence once and weigh its tokens by how many there were ({@link weightedTokens}). Self-play batches
 * hold many: the answers to one solve task share its prompt, and a one-digit answer takes one of ten values.
 * Sequences keep the order of their first occurrence; nothing is merged that differs in any number.
 */
export function mergeIdenticalSequences(sequences: readonly TrainSequence[]): MergedSequence[] {
  const merged = new Map<string, { sequence: TrainSequence; count: number }>();
  for (const sequence of sequences) {
    const key = JSON.stringify([
      sequence.promptTokenIds,
      sequence.completionTokenIds,
      sequence.oldLogProbs,
      sequence.advantages,
      countedTokens(sequence),
    ]);
    const entry = merged.get(key);
    if (entry === undefined) merged.set(key, { sequence, count: 1 });
    else entry.count += 1;
  }
  return [...merged.values()].map(({ sequence, count }) => ({ ...sequence, count }));
}

/** The weight of each completion token of a merged sequence in the loss's sums: counted (1 or 0) times its count. */
export function weightedTokens(sequence: MergedSequence): number[] {
  return countedTokens(sequence).map((counted) => counted * sequence.count);
}

/** The sequences of a training batch that have completion tokens: the ones an update learns from. */
export function trainableSequences(batch: TrainBatch): TrainSequence[] {
  return batch.sequences.filter((sequence) => sequence.completionTokenIds.length > 0);
}

/** The result of an update over a batch with no completion tokens: both engines skip such an update. */
export function emptyTrainStepResult(startedAt: number): TrainStepResult {
  return {
    loss: 0,
    policyLoss: 0,
    entropy: 0,
    clipFraction: 0,
    approximateKl: 0,
    gradientNorm: 0,
    tokenCount: 0,
    durationMs: performance.now() - startedAt,
  };
}
