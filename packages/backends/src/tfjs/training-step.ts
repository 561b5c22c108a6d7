import type {
  LogProbsRequest,
  LogProbsResult,
  TokenSequence,
  TrainBatch,
  TrainSequence,
  TrainStepResult,
} from '@azr/core/spec';
import type { LlamaConfig } from '../model/config.js';
import {
  countedTokens,
  countedTokenTotal,
  emptyTrainStepResult,
  layOutBatch,
  type MicroBatchLimit,
  microBatches,
  trainableSequences,
  trainingMicroBatches,
} from '../shared/batching.js';
import type { TfjsAdamW } from './adamw.js';
import { disposeCache, llamaForwardCached, type TfjsLlamaWeights } from './llama-forward.js';
import type { TfjsModule } from './runtime.js';
import type { Tensor, Variable } from './variables.js';

/** What scoring and training a tfjs policy read: its model, as variables, and how batches are laid out. */
export interface TfjsTrainingModel {
  readonly tf: TfjsModule;
  readonly config: LlamaConfig;
  /** The variables, as the forward pass reads them. */
  readonly view: TfjsLlamaWeights;
  readonly variables: ReadonlyMap<string, Variable>;
  readonly padding: number;
  /** Which passes fit one micro-batch (of scoring or training). */
  readonly microBatchLimit: MicroBatchLimit;
}

/** Sums over counted tokens, divided by the batch's token count at the end. */
interface StatisticSums {
  loss: number;
  policyLoss: number;
  entropy: number;
  clipped: number;
  kl: number;
}

/** Tempered log probabilities of each position's next token, and the entropy there, `[batch, length]`. */
function tokenLogProbs(
  model: TfjsTrainingModel,
  ids: number[][],
  targets: number[][],
  temperature: number,
  differentiable: boolean,
): { logProbs: Tensor; entropy: Tensor } {
  const { tf, config, view } = model;
  const { logits, cache } = llamaForwardCached(tf, config, view, ids, undefined, { differentiable });
  disposeCache(cache);
  const logSoftmax = tf.logSoftmax(tf.div(logits, temperature));
  const chosen = tf.sum(
    tf.mul(logSoftmax, tf.oneHot(tf.tensor2d(targets, undefined, 'int32'), config.vocabularySize)),
    -1,
  );
  const entropy = tf.neg(tf.sum(tf.mul(tf.exp(logSoftmax), logSoftmax), -1));
  return { logProbs: chosen, entropy };
}

/** The log probabilities of completion tokens, scored in micro-batches of right-padded sequences. */
export async function computeLogProbs(
  model: TfjsTrainingModel,
  request: LogProbsRequest,
): Promise<LogProbsResult> {
  const { tf, padding, microBatchLimit } = model;
  const scored = request.sequences.filter((sequence) => sequence.completionTokenIds.length > 0);
  const results = new Map<TokenSequence, number[]>();
  for (const chunk of microBatches(scored, microBatchLimit)) {
    const { ids, targets, length } = layOutBatch(chunk, padding);
    const values = tf.tidy(() => tokenLogProbs(model, ids, targets, request.temperature, false).logProbs);
    const grid = await values.data();
    values.dispose();
    chunk.forEach((sequence, row) => {
      const first = row * length + sequence.promptTokenIds.length - 1;
      results.set(sequence, Array.from(grid.subarray(first, first + sequence.completionTokenIds.length)));
    });
  }
  return { logProbs: request.sequences.map((sequence) => results.get(sequence) ?? []) };
}

/**
 * One PPO-clip update (token mean, optional entropy bonus), then AdamW with global-norm clipping. One forward and
 * backward pass per micro-batch, gradients summed: the loss is a token mean over the whole batch either way, and
 * memory stays bounded for long sequences.
 */
export async function trainStep(
  model: TfjsTrainingModel,
  optimizer: TfjsAdamW,
  maxGradientNorm: number,
  batch: TrainBatch,
): Promise<TrainStepResult> {
  const { tf, microBatchLimit } = model;
  const started = performance.now();
  const sequences = trainableSequences(batch);
  if (sequences.length === 0) return emptyTrainStepResult(started);
  const { entropyCoefficient } = batch.loss;
  const tokenCount = countedTokenTotal(sequences);
  const denominator = Math.max(tokenCount, 1);
  const grads: Record<string, Tensor> = {};
  const sums: StatisticSums = { loss: 0, policyLoss: 0, entropy: 0, clipped: 0, kl: 0 };
  // A sequence whose counted tokens all have advantage 0 adds nothing to the gradient (without an entropy
  // bonus): early in self-play, when every proposal is invalid, that is most of the batch. Such sequences
  // get a forward pass for the statistics, not a backward pass.
  const inert = (sequence: TrainSequence) =>
    entropyCoefficient === 0 &&
    countedTokens(sequence).every((counted, index) => counted === 0 || sequence.advantages[index] === 0);
  for (const chunk of trainingMicroBatches(sequences.filter(inert), microBatchLimit)) {
    batch.signal?.throwIfAborted();
    await addInertStatistics(model, chunk, batch, sums);
  }
  for (const chunk of trainingMicroBatches(
    sequences.filter((sequence) => !inert(sequence)),
    microBatchLimit,
  )) {
    batch.signal?.throwIfAborted();
    await addGradients(model, chunk, batch, denominator, sums, grads);
  }
  const loss = sums.loss;
  const statistics = {
    policyLoss: sums.policyLoss / denominator,
    entropy: sums.entropy / denominator,
    clipFraction: sums.clipped / denominator,
    approximateKl: sums.kl / denominator,
  };
  const gradientNorm = tf.tidy(() =>
    Math.sqrt(
      Object.values(grads).reduce(
        (total, gradient) => total + (tf.sum(tf.square(gradient)).dataSync()[0] as number),
        0,
      ),
    ),
  );
  const scale = gradientNorm > maxGradientNorm ? maxGradientNorm / gradientNorm : 1;
  optimizer.apply(grads, scale);
  for (const gradient of Object.values(grads)) gradient.dispose();
  return {
    loss,
    ...statistics,
    gradientNorm,
    tokenCount,
    durationMs: performance.now() - started,
  };
}

/** The entropy and KL of sequences that carry no gradient, from a forward pass alone. */
async function addInertStatistics(
  model: TfjsTrainingModel,
  chunk: readonly TrainSequence[],
  batch: TrainBatch,
  sums: StatisticSums,
): Promise<void> {
  const { tf, padding } = model;
  const { ids, targets, length, place } = layOutBatch(chunk, padding);
  const [counted, old] = [place(countedTokens), place((sequence) => sequence.oldLogProbs)];
  const { logProbs: current, entropy } = tf.tidy(() =>
    tokenLogProbs(model, ids, targets, batch.temperature, false),
  );
  const [currentValues, entropyValues] = [await current.data(), await entropy.data()];
  current.dispose();
  entropy.dispose();
  for (let index = 0; index < chunk.length * length; index += 1) {
    if (counted[index] === 0) continue;
    sums.entropy += entropyValues[index] as number;
    sums.kl += (old[index] as number) - (currentValues[index] as number);
  }
}

/** One forward and backward pass: adds the chunk's gradients to `grads` and its statistics to `sums`. */
async function addGradients(
  model: TfjsTrainingModel,
  chunk: readonly TrainSequence[],
  batch: TrainBatch,
  denominator: number,
  sums: StatisticSums,
  grads: Record<string, Tensor>,
): Promise<void> {
  const { tf, padding } = model;
  const { clipRatio, entropyCoefficient } = batch.loss;
  const trainable = [...model.variables.values()];
  const { ids, targets, length, place } = layOutBatch(chunk, padding);
  const shape: [number, number] = [chunk.length, length];
  const mask = tf.tensor2d(place(countedTokens), shape);
  const old = tf.tensor2d(
    place((sequence) => sequence.oldLogProbs),
    shape,
  );
  const advantages = tf.tensor2d(
    place((sequence) => sequence.advantages),
    shape,
  );
  // Statistics are read after the pass; the loss function keeps the tensors they need.
  let kept: { current: Tensor; entropy: Tensor; surrogate: Tensor; clipped: Tensor } | undefined;
  const { value, grads: chunkGrads } = tf.variableGrads(() => {
    const { logProbs: current, entropy } = tokenLogProbs(model, ids, targets, batch.temperature, true);
    const ratio = tf.exp(tf.sub(current, old));
    const unclipped = tf.mul(ratio, advantages);
    const clippedObjective = tf.mul(tf.clipByValue(ratio, 1 - clipRatio, 1 + clipRatio), advantages);
    const surrogate = tf.neg(tf.minimum(unclipped, clippedObjective));
    const perToken = tf.sub(surrogate, tf.mul(entropy, entropyCoefficient));
    kept = {
      current: tf.keep(current),
      entropy: tf.keep(entropy),
      surrogate: tf.keep(surrogate),
      clipped: tf.keep(tf.cast(tf.less(clippedObjective, unclipped), 'float32')),
    };
    return tf.div(tf.sum(tf.mul(perToken, mask)), denominator) as ReturnType<TfjsModule['scalar']>;
  }, trainable);
  sums.loss += (await value.data())[0] as number;
  value.dispose();
  tf.tidy(() => {
    const { current, entropy, surrogate, clipped } = kept as NonNullable<typeof kept>;
    const masked = (tensor: Tensor) => tf.sum(tf.mul(tensor, mask)).dataSync()[0] as number;
    sums.policyLoss += masked(surrogate);
    sums.entropy += masked(entropy);
    sums.clipped += masked(clipped);
    sums.kl += masked(tf.sub(old, current));
  });
  for (const tensor of [...Object.values(kept ?? {}), mask, old, advantages]) tensor.dispose();
  for (const [name, gradient] of Object.entries(chunkGrads)) {
    const total = grads[name];
    if (total === undefined) grads[name] = gradient;
    else {
      grads[name] = tf.add(total, gradient);
      total.dispose();
      gradient.dispose();
    }
  }
}
