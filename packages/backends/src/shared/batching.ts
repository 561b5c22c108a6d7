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

/** What a micro-batch split needs to know of one item: its length in tokens and its counted predictions. */
export type PassMeasure<Item> = (item: Item) => {
  readonly length: number;
  readonly completionTokens: number;
};

/** The measure of a sequence: its prompt and completion, and its completion's tokens. */
function sequenceMeasure(sequence: TokenSequence): { length: number; completionTokens: number } {
  const completionTokens = sequence.completionTokenIds.length;
  return { length: sequence.promptTokenIds.length + completionTokens, completionTokens };
}

/**
 * Splits items (sequences, or packed rows with `measure`), in order, into runs that each fit `limit` at the
 * length of their longest item. An item that alone does not fit goes alone.
 */
export function microBatches<Item>(
  items: readonly Item[],
  limit: MicroBatchLimit,
  measure: PassMeasure<Item> = sequenceMeasure as PassMeasure<Item>,
): Item[][] {
  const chunks: Item[][] = [];
  let current: Item[] = [];
  let longest = 0;
  let completionTokens = 0;
  for (const item of items) {
    const { length, completionTokens: completion } = measure(item);
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
    current.push(item);
    longest = Math.max(longest, length);
    completionTokens += completion;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Micro-batches for a training step, whose gradients and statistics are sums and so do not depend on order:
 * items sorted by length, then split as {@link microBatches} does and also wherever a run's longest item would
 * pass twice its shortest, so that short sequences (a solver's answer) are not padded to the length of long
 * ones (a proposer's prompt with its references).
 */
export function trainingMicroBatches<Item>(
  items: readonly Item[],
  limit: MicroBatchLimit,
  measure: PassMeasure<Item> = sequenceMeasure as PassMeasure<Item>,
): Item[][] {
  const length = (item: Item) => measure(item).length;
  const sorted = [...items].sort((first, second) => length(first) - length(second));
  const runs: Item[][] = [];
  let current: Item[] = [];
  for (const item of sorted) {
    const first = current[0];
    if (first !== undefined && length(item) > 2 * length(first)) {
      runs.push(current);
      current = [];
    }
    current.push(item);
  }
  if (current.length > 0) runs.push(current);
  return runs.flatMap((run) => microBatches(run, limit, measure));
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
      sequence.proximalLogProbs ?? null,
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

/** One prediction a packed row's loss reads: at `position` of the row, of `target`. */
export interface PackedPrediction {
  readonly position: number;
  readonly target: number;
  /** Counted (1 or 0) times the merged sequence's count. */
  readonly weight: number;
  /** The rollout's log probability (`oldLogProbs`). */
  readonly oldLogProb: number;
  /** The learner's before the step's first update, when the sequence carries them (`proximalLogProbs`). */
  readonly proximalLogProb?: number;
  readonly advantage: number;
}

/**
 * A row of a packed training graph (`buildLlamaTrainingGraph`'s `packed`): one prompt, then completions of it,
 * each seeing the prompt and its own earlier tokens only. A completion's last token is a target and never an
 * input, so it is not in the row: a one-token answer adds no position at all, only a prediction at the prompt's
 * last position.
 */
export interface PackedRow {
  readonly tokenIds: readonly number[];
  /** Each token's position in its own sequence. */
  readonly positionIds: readonly number[];
  /** 0 on the prompt, `k` on the row's `k`-th completion. */
  readonly segmentIds: readonly number[];
  readonly predictions: readonly PackedPrediction[];
}

/** The measure of a packed row for micro-batch splits: its tokens and its predictions. */
export function packedRowMeasure(row: PackedRow): { length: number; completionTokens: number } {
  return { length: row.tokenIds.length, completionTokens: row.predictions.length };
}

/**
 * Packs the sequences of an update by prompt: the completions of one prompt (the answers to one solve task,
 * after {@link mergeIdenticalSequences}) share a row and so one pass over their prompt, instead of one pass
 * each. A row grows up to four times the length of its longest sequence alone (attention's cost grows with the
 * square of a row's length) and while it alone fits `limit` (the micro-batch memory limit), and holds at least
 * one completion. The loss and the gradient are the
 * same as with one row per sequence: each completion token is predicted from the prompt and the completion's
 * own earlier tokens, at the same positions. Sequences without a prompt token are not packed (their first token
 * has no position to be predicted from).
 */
export function packByPrompt(
  sequences: readonly MergedSequence[],
  limit: MicroBatchLimit = () => true,
): PackedRow[] {
  const groups = new Map<string, MergedSequence[]>();
  for (const sequence of sequences) {
    const key = sequence.promptTokenIds.join(',');
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [sequence]);
    else group.push(sequence);
  }
  const rows: PackedRow[] = [];
  for (const group of groups.values()) {
    const prompt = (group[0] as MergedSequence).promptTokenIds;
    if (prompt.length === 0) {
      throw new ConfigError('A training sequence has no prompt token: its first token cannot be predicted.', {
        field: 'sequences',
      });
    }
    const longest = Math.max(...group.map((sequence) => sequence.completionTokenIds.length));
    const cap = 4 * (prompt.length + longest);
    let row:
      | { tokenIds: number[]; positionIds: number[]; segmentIds: number[]; predictions: PackedPrediction[] }
      | undefined;
    let completions = 0;
    for (const sequence of group) {
      const completion = sequence.completionTokenIds;
      const grown = (row?.tokenIds.length ?? 0) + completion.length - 1;
      const fits = () =>
        grown <= cap &&
        limit({
          sequences: 1,
          length: grown,
          completionTokens: (row?.predictions.length ?? 0) + completion.length,
        });
      if (row !== undefined && completions > 0 && !fits()) {
        rows.push(row);
        row = undefined;
      }
      if (row === undefined) {
        row = {
          tokenIds: [...prompt],
          positionIds: prompt.map((_, position) => position),
          segmentIds: prompt.map(() => 0),
          predictions: [],
        };
        completions = 0;
      }
      completions += 1;
      const start = row.tokenIds.length;
      const weights = weightedTokens(sequence);
      completion.forEach((target, index) => {
        (row as { predictions: PackedPrediction[] }).predictions.push({
          // The first token is predicted by the prompt's last position, the others by the token before them.
          position: index === 0 ? prompt.length - 1 : start + index - 1,
          target,
          weight: weights[index] as number,
          oldLogProb: sequence.oldLogProbs[index] as number,
          ...(sequence.proximalLogProbs === undefined
            ? {}
            : { proximalLogProb: sequence.proximalLogProbs[index] as number }),
          advantage: sequence.advantages[index] as number,
        });
      });
      // Every token but the last is an input of the tokens after it.
      completion.slice(0, -1).forEach((token, index) => {
        row?.tokenIds.push(token);
        row?.positionIds.push(prompt.length + index);
        row?.segmentIds.push(completions);
      });
    }
    if (row !== undefined) rows.push(row);
  }
  return rows;
}
