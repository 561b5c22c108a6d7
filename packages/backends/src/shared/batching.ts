import {
  assertNumberInRange,
  ConfigError,
  type TokenSequence,
  type TrainBatch,
  type TrainSequence,
  type TrainStepResult,
} from '@azr/core/spec';
import type { LlamaConfig } from '../model/config.js';
import { trainingActivationBytes } from './memory-plan.js';

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

/** One pass of a micro-batch: `sequences` right-padded to `length` tokens, with `completionTokens` in all. */
export interface MicroBatchPass {
  readonly sequences: number;
  readonly length: number;
  readonly completionTokens: number;
}

/** Whether a pass fits in one micro-batch. */
export type MicroBatchLimit = (pass: MicroBatchPass) => boolean;

/**
 * Where an engine's training pass computes logits: at `every` position, or at the `completions`' tokens alone
 * (the positions the loss reads), which costs far less with a big vocabulary and long prompts.
 */
export type LogitPositions = 'every' | 'completions';

/**
 * The default {@link MicroBatchSettings.activationMemoryBudget} of the onnx engine: 1 GiB of activations per
 * pass. It keeps what the tiny preset's self-play batches did under the old product budget (a mini-task update,
 * a few hundred sequences of up to a few hundred tokens, stays one pass per length group) while it caps the
 * passes of real vocabularies, whose logits cost 20 bytes per token and vocabulary entry: SmolLM2-135M's
 * 384-token sequences (about 1.1 GB each) and Qwen2.5's (152k tokens, about 2.5 GB each) go one at a time. A
 * fixed number rather than a share of `os.totalmem()`, so that the same seed and config split a batch the same
 * way, and so give the same update, on every machine.
 */
export const DEFAULT_ONNX_ACTIVATION_MEMORY_BUDGET = 2 ** 30;

/**
 * The default {@link MicroBatchSettings.activationMemoryBudget} of the tfjs engine: 256 MiB as the onnx
 * training graph counts them. TensorFlow.js's tape keeps every intermediate of the forward pass, more than that
 * count, and the wasm backend's heap is bounded; this keeps what the old default (`2**20` of `sequences x
 * length^2`) did on the tiny preset: the benchmark batch (16 x 128) in one pass, a 1,024-token sequence alone.
 */
export const DEFAULT_TFJS_ACTIVATION_MEMORY_BUDGET = 2 ** 28;

/** How a policy's settings size its micro-batches: the setting and the deprecated one it replaces. */
export interface MicroBatchSettings {
  /**
   * Bytes of activations one training pass may hold, as {@link trainingMemoryPlan} counts them (its
   * `activations`: what the backward pass reads, kept from the forward pass, and the largest temporaries, which
   * grow with the pass's tokens and, through attention, with `sequences x length^2`). A batch over the budget is
   * split into micro-batches of sequences of similar length whose gradients are summed: the same update, less
   * memory, more passes. A sequence that alone passes the budget still trains, in a pass of its own.
   */
  readonly activationMemoryBudget?: number;
  /**
   * @deprecated Use `activationMemoryBudget`, which counts the vocabulary, the width and the layers. The largest
   * `sequences x length^2` of one pass (with the logits of a pass, `sequences x length x vocabulary`, at most
   * `2**24`). Still honoured, with that meaning, when it is given alone; giving both is a `ConfigError`.
   */
  readonly microBatchBudget?: number;
}

/** Largest `sequences x length x vocabulary` of one pass under the deprecated `microBatchBudget`. */
const LOGITS_BUDGET = 2 ** 24;

/**
 * Passes whose activations, as {@link trainingActivationBytes} counts them for a graph that computes logits at
 * `logits` positions (default `every`) and recomputes its layers' activations or not, stay within `bytes`.
 */
export function activationMemoryLimit(
  config: LlamaConfig,
  bytes: number,
  logits: LogitPositions = 'every',
  recomputeActivations = false,
): MicroBatchLimit {
  return ({ sequences, length, completionTokens }) =>
    trainingActivationBytes(config, {
      sequences,
      length,
      recomputeActivations,
      ...(logits === 'completions' ? { logitPositions: completionTokens } : {}),
    }) <= bytes;
}

/**
 * The deprecated limit: `sequences x length^2` within `budget`, and the logits (`sequences x length x
 * vocabulary`) within `2**24`.
 */
export function productLimit(budget: number, vocabularySize: number): MicroBatchLimit {
  return ({ sequences, length }) =>
    sequences * length ** 2 <= budget && sequences * length * vocabularySize <= LOGITS_BUDGET;
}

/**
 * The micro-batch limit that a policy's settings ask for: `activationMemoryBudget` (or `defaultBudget` bytes) for
 * an engine whose passes compute logits at `logits` positions, or the deprecated `microBatchBudget` when it alone
 * is given. Both at once is a `ConfigError`.
 */
export function microBatchLimit(
  config: LlamaConfig,
  settings: MicroBatchSettings,
  defaultBudget: number,
  logits: LogitPositions = 'every',
  recomputeActivations = false,
): MicroBatchLimit {
  const { activationMemoryBudget, microBatchBudget } = settings;
  if (activationMemoryBudget !== undefined && microBatchBudget !== undefined)
    throw new ConfigError(
      'Give activationMemoryBudget (bytes of activations per training pass) or the deprecated microBatchBudget (sequences x length^2), not both.',
      { field: 'microBatchBudget' },
    );
  if (microBatchBudget !== undefined) {
    assertNumberInRange('microBatchBudget', microBatchBudget, { minimum: 1 });
    return productLimit(microBatchBudget, config.vocabularySize);
  }
  const bytes = activationMemoryBudget ?? defaultBudget;
  assertNumberInRange('activationMemoryBudget', bytes, { minimum: 1 });
  return activationMemoryLimit(config, bytes, logits, recomputeActivations);
}

/**
 * Splits sequences, in order, into runs that each fit `limit` at the length of their longest sequence. A
 * sequence that alone does not fit goes alone.
 */
export function microBatches<Sequence extends TokenSequence>(
  sequences: readonly Sequence[],
  limit: MicroBatchLimit,
): Sequence[][] {
  const chunks: Sequence[][] = [];
  let current: Sequence[] = [];
  let longest = 0;
  let completionTokens = 0;
  for (const sequence of sequences) {
    const completion = sequence.completionTokenIds.length;
    const length = sequence.promptTokenIds.length + completion;
    const grown = {
      sequences: current.length + 1,
      length: Math.max(longest, length),
      completionTokens: completionTokens + completion,
    };
    if (current.length > 0 && !limit(grown)) {
      chunks.push(current);
      current = [];
      longest = 0;
      completionTokens = 0;
    }
    current.push(sequence);
    longest = Math.max(longest, length);
    completionTokens += completion;
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
  limit: MicroBatchLimit,
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
  return runs.flatMap((run) => microBatches(run, limit));
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
