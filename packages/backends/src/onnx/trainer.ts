import type { OptimizerSettings, TrainBatch, TrainSequence, TrainStepResult } from '@azr/core/spec';
import type * as OnnxRuntime from 'onnxruntime-node';
import type { LlamaConfig } from '../model/config.js';
import type { LlamaWeights } from '../model/weights.js';
import {
  countedTokens,
  countedTokenTotal,
  emptyTrainStepResult,
  type MicroBatchLimit,
  mergeIdenticalSequences,
  type PackedRow,
  packByPrompt,
  packedRowMeasure,
  trainableSequences,
  trainingMicroBatches,
} from '../shared/batching.js';
import type { OptimizerState } from '../shared/optimizer-state.js';
import { applyAdamW } from './adamw.js';
import { collectGarbage } from './release-outputs.js';
import type { OnnxRuntimeModule } from './runtime.js';
import { type OnnxSessionSettings, openSession } from './session.js';
import { buildLlamaTrainingGraph, TRAINING_GRAPH_NAMES } from './training-graph.js';

type OnnxTensor = OnnxRuntime.Tensor;

/** Above this much weight, the trainer frees each pass's output copies at once (see `collectGarbage`). */
const COLLECT_AFTER_PASS_BYTES = 256 * 1024 * 1024;

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
  /** Recompute each layer's activations in the backward pass (see `buildLlamaTrainingGraph`). Default false. */
  readonly recomputeActivations?: boolean;
  /**
   * The rollouts come from other weights (int8): each token's advantage is weighed by
   * `min(pi_learner / pi_rollout, cap)` (truncated importance sampling), and the PPO ratio is taken against the
   * learner's log probabilities (a sequence's `proximalLogProbs`, or the current weights' on a sequence without
   * them). Without it, the ratio is taken against `oldLogProbs` as they are.
   */
  readonly importanceCorrection?: { readonly cap: number };
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
 * Trains a Llama-family model on onnxruntime: each micro-batch runs the training graph (forward pass, PPO-clip
 * loss, every gradient), gradients are summed over micro-batches, clipped to the global norm, and AdamW
 * (decoupled weight decay, none on norms and biases) updates the weights in place. The weights are graph inputs,
 * so the session is built once; they live in JavaScript typed arrays that onnxruntime reads without a copy.
 * Identical sequences of a batch run once, their tokens weighed by their number (the same loss, gradient and
 * statistics as running each copy), and the completions of one prompt share a packed row (`packByPrompt`: the
 * prompt runs once for all of them, each completion seeing the prompt and itself). AdamW runs in JavaScript over those arrays (one pass per weight; an
 * ONNX-graph AdamW is not written yet).
 *
 * Memory: the weights; one set of gradients, running sums that the graph adds each micro-batch's gradients to
 * and onnxruntime writes over in place (allocated once; onnxruntime-node also returns a copy of each pass's
 * outputs, which is dropped at once); AdamW's two moments, allocated at the first update (or taken over from
 * `state`) and updated in place; and the activations of one pass, which the micro-batch limit bounds
 * (`trainingMemoryPlan` counts all of it).
 */
export async function createOnnxTrainer(options: OnnxTrainerOptions): Promise<OnnxTrainer> {
  const { runtime, config, weights, optimizer } = options;
  const correction = options.importanceCorrection;
  const names = TRAINING_GRAPH_NAMES;
  let session: OnnxRuntime.InferenceSession | undefined;
  let statisticsSession: OnnxRuntime.InferenceSession | undefined;
  const moments = new Map<string, { first: Float32Array; second: Float32Array }>();
  for (const [name, { first, second }] of options.state?.moments ?? [])
    if (weights.get(name)?.data.length === first.length) moments.set(name, { first, second });
  let optimizerStep = options.state?.step ?? 0;
  let weightBytes = 0;
  for (const { data } of weights.values()) weightBytes += data.byteLength;
  /** The running sum of a weight's gradient over a step's micro-batches, allocated once and reused. */
  const sums = new Map<string, Float32Array>();
  function gradientSums(name: string): Float32Array {
    let sum = sums.get(name);
    if (sum === undefined) {
      sum = new Float32Array(weights.get(name)?.data.length ?? 0);
      sums.set(name, sum);
    }
    return sum;
  }

  /** Runs the training graph on a micro-batch of packed rows; `statisticsOnly`, its forward part alone. */
  async function run(
    chunk: readonly PackedRow[],
    batch: TrainBatch,
    denominator: number,
    statisticsOnly = false,
  ) {
    if (statisticsOnly)
      statisticsSession ??= await openSession(
        runtime,
        await buildLlamaTrainingGraph(config, { gradients: false, packed: true }),
        options.session,
      );
    else
      session ??= await openSession(
        runtime,
        await buildLlamaTrainingGraph(config, {
          accumulate: true,
          packed: true,
          recomputeActivations: options.recomputeActivations === true,
        }),
        options.session,
      );
    const graph = (statisticsOnly ? statisticsSession : session) as OnnxRuntime.InferenceSession;
    // Rows right-padded to one length (padding after a row's tokens is seen by none of them).
    const length = Math.max(...chunk.map((row) => row.tokenIds.length));
    const grid = (values: (row: PackedRow) => readonly number[], pad: number) => {
      const data = new BigInt64Array(chunk.length * length).fill(BigInt(pad));
      chunk.forEach((row, index) => {
        values(row).forEach((value, position) => {
          data[index * length + position] = BigInt(value);
        });
      });
      return new runtime.Tensor('int64', data, [chunk.length, length]);
    };
    const predictions = chunk.flatMap((row, index) =>
      row.predictions.map((prediction) => ({
        ...prediction,
        position: index * length + prediction.position,
      })),
    );
    const perCounted = [1, predictions.length];
    const floats = (value: (prediction: (typeof predictions)[number]) => number) =>
      new runtime.Tensor('float32', Float32Array.from(predictions, value), perCounted);
    const scalar = (value: number) => new runtime.Tensor('float32', Float32Array.of(value), [1]);
    const feeds: Record<string, OnnxTensor> = {
      [names.inputIds]: grid((row) => row.tokenIds, options.padding),
      [names.positionIds]: grid((row) => row.positionIds, 0),
      [names.segmentIds]: grid((row) => row.segmentIds, 0),
      [names.logitPositions]: new runtime.Tensor(
        'int64',
        BigInt64Array.from(predictions, (prediction) => BigInt(prediction.position)),
        [predictions.length],
      ),
      [names.targets]: new runtime.Tensor(
        'int64',
        BigInt64Array.from(predictions, (prediction) => BigInt(prediction.target)),
        perCounted,
      ),
      [names.mask]: floats((prediction) => prediction.weight),
      [names.oldLogProbs]: floats((prediction) => prediction.proximalLogProb ?? prediction.oldLogProb),
      [names.proximalFromCurrent]: floats((prediction) =>
        correction !== undefined && prediction.proximalLogProb === undefined ? 1 : 0,
      ),
      [names.behaviourLogProbs]: floats((prediction) => prediction.oldLogProb),
      [names.advantages]: floats((prediction) => prediction.advantage),
      [names.temperature]: scalar(batch.temperature),
      [names.clipRatio]: scalar(batch.loss.clipRatio),
      [names.entropyCoefficient]: scalar(batch.loss.entropyCoefficient),
      [names.importanceCap]: scalar(correction?.cap ?? 0),
      [names.denominator]: scalar(denominator),
    };
    for (const [name, { shape, data }] of weights)
      feeds[names.weight(name)] = new runtime.Tensor('float32', data, [...shape]);
    if (statisticsOnly) return statisticsOf(await graph.run(feeds));
    // The running sums go in and onnxruntime writes the new sums over them. (onnxruntime-node still returns a
    // copy of every output; the trainer drops those at once.)
    const fetches: Record<string, OnnxTensor | null> = {
      [names.loss]: null,
      [names.policyLossSum]: null,
      [names.entropySum]: null,
      [names.clippedSum]: null,
      [names.klSum]: null,
      [names.importanceWeightSum]: null,
      [names.truncatedSum]: null,
    };
    for (const [name, { shape }] of weights) {
      const sum = new runtime.Tensor('float32', gradientSums(name), [...shape]);
      feeds[names.gradientSum(name)] = sum;
      fetches[names.gradient(name)] = sum;
    }
    return statisticsOf(await graph.run(feeds, fetches));
  }

  /** The loss's sums of a run (what the trainer keeps of its outputs). */
  function statisticsOf(results: OnnxRuntime.InferenceSession.ReturnType) {
    const value = (name: string) => ((results[name] as OnnxTensor).data as Float32Array)[0] as number;
    return {
      loss: value(names.loss),
      policyLoss: value(names.policyLossSum),
      entropy: value(names.entropySum),
      clipped: value(names.clippedSum),
      kl: value(names.klSum),
      importanceWeight: value(names.importanceWeightSum),
      truncated: value(names.truncatedSum),
    };
  }

  // Steps run one after the other: they share the running sums, the sessions and the weights they update.
  let previous: Promise<unknown> = Promise.resolve();
  return {
    step(batch) {
      const next = previous.then(() => step(batch));
      previous = next.catch(() => undefined);
      return next;
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

  async function step(batch: TrainBatch): Promise<TrainStepResult> {
    const started = performance.now();
    const trainable = trainableSequences(batch);
    if (trainable.length === 0) return emptyTrainStepResult(started);
    const tokenCount = countedTokenTotal(trainable);
    // Identical sequences (equal answers to one task) run once, their tokens weighed by their number.
    const sequences = mergeIdenticalSequences(trainable);
    const denominator = Math.max(tokenCount, 1);
    for (const sum of sums.values()) sum.fill(0);
    let gradients: ReadonlyMap<string, Float32Array> = new Map();
    const totals = {
      loss: 0,
      policyLoss: 0,
      entropy: 0,
      clipped: 0,
      kl: 0,
      importanceWeight: 0,
      truncated: 0,
    };
    // A sequence whose counted tokens all have advantage 0 adds nothing to the gradient (without an entropy
    // bonus), such as the answers of a solve task that all got the same reward. Such sequences
    // still count in the token mean and the statistics, from a graph without the backward pass.
    const inert = (sequence: TrainSequence) =>
      batch.loss.entropyCoefficient === 0 &&
      countedTokens(sequence).every((counted, index) => counted === 0 || sequence.advantages[index] === 0);
    // The completions of one prompt share a packed row: the prompt runs once for all of them.
    const passesOf = (group: typeof sequences, statisticsOnly: boolean) =>
      trainingMicroBatches(
        packByPrompt(group, options.microBatchLimit),
        options.microBatchLimit,
        packedRowMeasure,
      ).map((chunk) => ({
        chunk,
        statisticsOnly,
      }));
    const passes = [
      ...passesOf(sequences.filter(inert), true),
      ...passesOf(
        sequences.filter((sequence) => !inert(sequence)),
        false,
      ),
    ];
    for (const { chunk, statisticsOnly } of passes) {
      batch.signal?.throwIfAborted();
      const statistics = await run(chunk, batch, denominator, statisticsOnly);
      totals.loss += statistics.loss;
      totals.policyLoss += statistics.policyLoss;
      totals.entropy += statistics.entropy;
      totals.clipped += statistics.clipped;
      totals.kl += statistics.kl;
      totals.importanceWeight += statistics.importanceWeight;
      totals.truncated += statistics.truncated;
      if (statisticsOnly) continue;
      gradients = sums;
      // The run's copies of the new sums (see collectGarbage) are garbage from here: free them before the next
      // run makes its own, or AdamW allocates its moments. (A small model's copies are left to V8: a full
      // collection would cost more than they weigh.)
      if (weightBytes >= COLLECT_AFTER_PASS_BYTES) collectGarbage();
    }
    let squares = 0;
    for (const gradient of gradients.values()) for (const entry of gradient) squares += entry * entry;
    const gradientNorm = Math.sqrt(squares);
    const scale = gradientNorm > optimizer.maxGradientNorm ? optimizer.maxGradientNorm / gradientNorm : 1;
    optimizerStep += 1;
    applyAdamW(weights, gradients, moments, optimizerStep, optimizer, scale);
    return {
      loss: totals.loss,
      policyLoss: totals.policyLoss / denominator,
      entropy: totals.entropy / denominator,
      clipFraction: totals.clipped / denominator,
      approximateKl: totals.kl / denominator,
      gradientNorm,
      tokenCount,
      ...(correction === undefined
        ? {}
        : {
            importanceWeightMean: totals.importanceWeight / denominator,
            truncatedFraction: totals.truncated / denominator,
          }),
      durationMs: performance.now() - started,
    };
  }
}
