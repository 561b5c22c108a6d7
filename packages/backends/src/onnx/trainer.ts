import type { OptimizerSettings, TrainBatch, TrainSequence, TrainStepResult } from '@azr/core/spec';
import type * as OnnxRuntime from 'onnxruntime-node';
import type { LlamaConfig } from '../model/config.js';
import type { LlamaWeights } from '../model/weights.js';
import {
  countedTokens,
  countedTokenTotal,
  emptyTrainStepResult,
  layOutBatch,
  type MergedSequence,
  type MicroBatchLimit,
  mergeIdenticalSequences,
  trainableSequences,
  trainingMicroBatches,
  weightedTokens,
} from '../shared/batching.js';
import type { OptimizerState } from '../shared/optimizer-state.js';
import { applyAdamW } from './adamw.js';
import type { OnnxRuntimeModule } from './runtime.js';
import { type OnnxSessionSettings, openSession } from './session.js';
import { buildLlamaTrainingGraph, TRAINING_GRAPH_NAMES } from './training-graph.js';

type OnnxTensor = OnnxRuntime.Tensor;

/** Everything an onnx training step needs besides the batch. */
export interface OnnxTrainerOptions {
  readonly runtime: OnnxRuntimeModule;
  readonly config: LlamaConfig;
  /** The weights in the graph layout. The trainer updates their arrays in place. */
  readonly weights: LlamaWeights;
  readonly optimizer: OptimizerSettings;
  readonly session: OnnxSessionSettings;
  readonly padding: number;
  /** Which passes fit one micro-batch; bigger batches are split and their gradients summed. */
  readonly microBatchLimit: MicroBatchLimit;
  /**
   * AdamW's state to continue from (a saved policy's). The trainer takes its moments over and updates them in
   * place, rather than holding a second copy of them.
   */
  readonly state?: OptimizerState;
}

/** The onnx engine's trainer: the training graph's gradients, then AdamW on the weights in typed arrays. */
export interface OnnxTrainer {
  step(batch: TrainBatch): Promise<TrainStepResult>;
  /** AdamW's state, for saving. */
  state(): OptimizerState;
  release(): Promise<void>;
}

/**
 * The positions of a right-padded micro-batch whose predictions the loss reads, in the order of the sequences'
 * completion tokens (a sequence's last prompt position predicts its first completion token), and the tokens
 * they predict.
 */
function countedPositions(
  chunk: readonly MergedSequence[],
  length: number,
): { positions: BigInt64Array; targets: BigInt64Array } {
  const total = chunk.reduce((sum, sequence) => sum + sequence.completionTokenIds.length, 0);
  const positions = new BigInt64Array(total);
  const targets = new BigInt64Array(total);
  let next = 0;
  chunk.forEach((sequence, row) => {
    const start = row * length + sequence.promptTokenIds.length - 1;
    sequence.completionTokenIds.forEach((token, index) => {
      positions[next] = BigInt(start + index);
      targets[next] = BigInt(token);
      next += 1;
    });
  });
  return { positions, targets };
}

/**
 * Trains a Llama-family model on onnxruntime: each micro-batch runs the training graph (forward pass, PPO-clip
 * loss, every gradient), gradients are summed over micro-batches, clipped to the global norm, and AdamW
 * (decoupled weight decay, none on norms and biases) updates the weights in place. The weights are graph inputs,
 * so the session is built once; they live in JavaScript typed arrays that onnxruntime reads without a copy.
 * Identical sequences of a batch run once, their tokens weighed by their number (the same loss, gradient and
 * statistics as running each copy). AdamW runs in JavaScript over those arrays (one pass per weight; an
 * ONNX-graph AdamW is not written yet).
 *
 * Memory: the weights; one set of gradients, the first micro-batch's outputs, into which later micro-batches'
 * are summed (each pass's outputs are onnxruntime's and onnxruntime-node's copy of them, dropped once added);
 * AdamW's two moments, allocated at the first update (or taken over from `state`) and updated in place; and the
 * activations of one pass, which the micro-batch limit bounds (`trainingMemoryPlan` counts all of it).
 */
export async function createOnnxTrainer(options: OnnxTrainerOptions): Promise<OnnxTrainer> {
  const { runtime, config, weights, optimizer } = options;
  const names = TRAINING_GRAPH_NAMES;
  let session: OnnxRuntime.InferenceSession | undefined;
  let statisticsSession: OnnxRuntime.InferenceSession | undefined;
  const moments = new Map<string, { first: Float32Array; second: Float32Array }>();
  for (const [name, { first, second }] of options.state?.moments ?? [])
    if (weights.get(name)?.data.length === first.length) moments.set(name, { first, second });
  let optimizerStep = options.state?.step ?? 0;

  /** Runs the training graph on a micro-batch; `statisticsOnly`, its forward part alone (the loss's sums). */
  async function run(
    chunk: readonly MergedSequence[],
    batch: TrainBatch,
    denominator: number,
    statisticsOnly = false,
  ) {
    if (statisticsOnly)
      statisticsSession ??= await openSession(
        runtime,
        await buildLlamaTrainingGraph(config, { gradients: false }),
        options.session,
      );
    else session ??= await openSession(runtime, await buildLlamaTrainingGraph(config), options.session);
    const graph = (statisticsOnly ? statisticsSession : session) as OnnxRuntime.InferenceSession;
    const { ids, length } = layOutBatch(chunk, options.padding);
    const counted = countedPositions(chunk, length);
    const perCounted = [1, counted.positions.length];
    const floats = (values: (sequence: MergedSequence) => readonly number[]) =>
      new runtime.Tensor(
        'float32',
        Float32Array.from(chunk.flatMap((sequence) => [...values(sequence)])),
        perCounted,
      );
    const scalar = (value: number) => new runtime.Tensor('float32', Float32Array.of(value), [1]);
    const feeds: Record<string, OnnxTensor> = {
      [names.inputIds]: new runtime.Tensor('int64', BigInt64Array.from(ids.flat(), BigInt), [
        chunk.length,
        length,
      ]),
      [names.logitPositions]: new runtime.Tensor('int64', counted.positions, [counted.positions.length]),
      [names.targets]: new runtime.Tensor('int64', counted.targets, perCounted),
      [names.mask]: floats(weightedTokens),
      [names.oldLogProbs]: floats((sequence) => sequence.oldLogProbs),
      [names.advantages]: floats((sequence) => sequence.advantages),
      [names.temperature]: scalar(batch.temperature),
      [names.clipRatio]: scalar(batch.loss.clipRatio),
      [names.entropyCoefficient]: scalar(batch.loss.entropyCoefficient),
      [names.denominator]: scalar(denominator),
    };
    for (const [name, { shape, data }] of weights)
      feeds[names.weight(name)] = new runtime.Tensor('float32', data, [...shape]);
    return graph.run(feeds);
  }

  return {
    async step(batch) {
      const started = performance.now();
      const trainable = trainableSequences(batch);
      if (trainable.length === 0) return emptyTrainStepResult(started);
      const tokenCount = countedTokenTotal(trainable);
      // Identical sequences (equal answers to one task) run once, their tokens weighed by their number.
      const sequences = mergeIdenticalSequences(trainable);
      const denominator = Math.max(tokenCount, 1);
      const gradients = new Map<string, Float32Array>();
      const sums = { loss: 0, policyLoss: 0, entropy: 0, clipped: 0, kl: 0 };
      const value = (results: OnnxRuntime.InferenceSession.ReturnType, name: string) =>
        ((results[name] as OnnxTensor).data as Float32Array)[0] as number;
      // A sequence whose counted tokens all have advantage 0 adds nothing to the gradient (without an entropy
      // bonus), such as the answers of a solve task that all got the same reward. Such sequences
      // still count in the token mean and the statistics, from a graph without the backward pass.
      const inert = (sequence: TrainSequence) =>
        batch.loss.entropyCoefficient === 0 &&
        countedTokens(sequence).every((counted, index) => counted === 0 || sequence.advantages[index] === 0);
      const passes = [
        ...trainingMicroBatches(sequences.filter(inert), options.microBatchLimit).map((chunk) => ({
          chunk,
          statisticsOnly: true,
        })),
        ...trainingMicroBatches(
          sequences.filter((sequence) => !inert(sequence)),
          options.microBatchLimit,
        ).map((chunk) => ({ chunk, statisticsOnly: false })),
      ];
      for (const { chunk, statisticsOnly } of passes) {
        batch.signal?.throwIfAborted();
        const results = await run(chunk, batch, denominator, statisticsOnly);
        sums.loss += value(results, names.loss);
        sums.policyLoss += value(results, names.policyLossSum);
        sums.entropy += value(results, names.entropySum);
        sums.clipped += value(results, names.clippedSum);
        sums.kl += value(results, names.klSum);
        if (statisticsOnly) continue;
        for (const name of weights.keys()) {
          const gradient = (results[names.gradient(name)] as OnnxTensor).data as Float32Array;
          const total = gradients.get(name);
          if (total === undefined) gradients.set(name, gradient);
          else
            for (let index = 0; index < total.length; index += 1)
              total[index] = (total[index] as number) + (gradient[index] as number);
        }
      }
      let squares = 0;
      for (const gradient of gradients.values()) for (const entry of gradient) squares += entry * entry;
      const gradientNorm = Math.sqrt(squares);
      const scale = gradientNorm > optimizer.maxGradientNorm ? optimizer.maxGradientNorm / gradientNorm : 1;
      optimizerStep += 1;
      applyAdamW(weights, gradients, moments, optimizerStep, optimizer, scale);
      return {
        loss: sums.loss,
        policyLoss: sums.policyLoss / denominator,
        entropy: sums.entropy / denominator,
        clipFraction: sums.clipped / denominator,
        approximateKl: sums.kl / denominator,
        gradientNorm,
        tokenCount,
        durationMs: performance.now() - started,
      };
    },
    state() {
      return {
        step: optimizerStep,
        moments: new Map(
          [...moments].map(([name, { first, second }]) => [
            name,
            { shape: weights.get(name)?.shape ?? [first.length], first, second },
          ]),
        ),
      };
    },
    async release() {
      await session?.release();
      await statisticsSession?.release();
      session = undefined;
      statisticsSession = undefined;
    },
  };
}
