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
import { adviseAllocator, collectGarbage, LARGE_OUTPUT_BYTES } from './release-outputs.js';
import type { OnnxRuntimeModule } from './runtime.js';
import { type OnnxSessionSettings, openSession } from './session.js';
import { TRAINING_STATISTICS_OUTPUTS } from './training-graph/objective.js';
import { buildLlamaTrainingGraph, TRAINING_GRAPH_NAMES } from './training-graph.js';

type OnnxTensor = OnnxRuntime.Tensor;

/** The training graphs a trainer runs: the forward part alone, all micro-batches in a loop, or one of them. */
type GraphKind = 'statistics' | 'loop' | 'accumulate';

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
   * Run a step's micro-batches in one onnxruntime call (`buildLlamaTrainingGraph`'s `microBatchLoop`) rather
   * than one call each. Default true.
   */
  readonly microBatchLoop?: boolean;
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
 * Trains a Llama-family model on onnxruntime: the micro-batches of a step run in one call of the training graph
 * (`microBatchLoop`: forward pass, PPO-clip loss and every gradient of each micro-batch in turn, the gradients
 * summed inside the graph), the sums are clipped to the global norm, and AdamW (decoupled weight decay, none on
 * norms and biases) updates the weights in place. The weights are graph inputs, so the session is built once;
 * they live in JavaScript typed arrays that onnxruntime reads without a copy. Identical sequences of a batch run
 * once, their tokens weighed by their number (the same loss, gradient and statistics as running each copy), and
 * the completions of one prompt share a packed row (`packByPrompt`: the prompt runs once for all of them, each
 * completion seeing the prompt and itself). Sequences without advantage run the forward part alone, one call per
 * micro-batch. AdamW runs in JavaScript over those arrays, one pass per weight.
 *
 * One call per step rather than one per micro-batch: onnxruntime-node copies every output of a call into new
 * JavaScript memory, and a copy of every gradient (540 MB for SmolLM2-135M) into pages the kernel must first
 * clear cost 0.15 to 1.8 s a call here, beside about 1.1 s of a micro-batch's arithmetic.
 *
 * Memory: the weights; the gradient sums, which the loop graph starts from (zeros) and onnxruntime writes its
 * final sums over (allocated once); onnxruntime's own copies of the sums while the loop runs (a micro-batch's
 * incoming and outgoing ones: two to three sets at the peak; none with `microBatchLoop: false`, whose calls
 * each write the new sums over the old in place); the copy onnxruntime-node returns of a call's outputs,
 * dropped at once; AdamW's two moments,
 * allocated at the first update (or taken over from `state`) and updated in place; and the activations of one
 * micro-batch, which the micro-batch limit bounds (`trainingMemoryPlan` counts the weights, one set of
 * gradients, the moments and the activations).
 */
export async function createOnnxTrainer(options: OnnxTrainerOptions): Promise<OnnxTrainer> {
  const { runtime, config, weights, optimizer } = options;
  const correction = options.importanceCorrection;
  const loop = options.microBatchLoop ?? true;
  const names = TRAINING_GRAPH_NAMES;
  /** The training graph's sessions by kind, each opened when first needed. */
  const sessions = new Map<GraphKind, OnnxRuntime.InferenceSession>();
  async function sessionFor(kind: GraphKind) {
    let session = sessions.get(kind);
    if (session === undefined) {
      session = await openSession(
        runtime,
        await buildLlamaTrainingGraph(config, {
          gradients: kind !== 'statistics',
          packed: true,
          accumulate: kind !== 'statistics',
          microBatchLoop: kind === 'loop',
          recomputeActivations: options.recomputeActivations === true,
        }),
        options.session,
      );
      sessions.set(kind, session);
    }
    return session;
  }
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

  /**
   * Runs the training graph on micro-batches of packed rows: its forward part alone on one micro-batch
   * (`statistics`), or the forward and backward passes adding to the running sums, of every micro-batch in
   * `chunks` in one call (`loop`, the loop graph) or of one micro-batch (`accumulate`).
   */
  async function run(
    chunks: readonly (readonly PackedRow[])[],
    batch: TrainBatch,
    denominator: number,
    kind: GraphKind,
  ) {
    const graph = await sessionFor(kind);
    const layout = layOut(chunks);
    const { tokens, predictions } = layout;
    const perCounted = [1, predictions.length];
    const floats = (value: (prediction: (typeof predictions)[number]) => number) =>
      new runtime.Tensor('float32', Float32Array.from(predictions, value), perCounted);
    const scalar = (value: number) => new runtime.Tensor('float32', Float32Array.of(value), [1]);
    // The loop graph reads its micro-batches flat; the others read their one micro-batch as its grid.
    const tokenShape =
      kind !== 'loop' ? (layout.grids[0] as readonly number[]).slice(0, 2) : [tokens.ids.length];
    const feeds: Record<string, OnnxTensor> = {
      [names.inputIds]: new runtime.Tensor('int64', tokens.ids, tokenShape),
      [names.positionIds]: new runtime.Tensor('int64', tokens.positions, tokenShape),
      [names.segmentIds]: new runtime.Tensor('int64', tokens.segments, tokenShape),
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
    if (kind === 'statistics') return statisticsOf(await graph.run(feeds));
    if (kind === 'loop')
      feeds[names.microBatches] = new runtime.Tensor(
        'int64',
        BigInt64Array.from(layout.grids.flat(), BigInt),
        [layout.grids.length, 6],
      );
    // The running sums go in and onnxruntime writes the new sums over them. (onnxruntime-node still returns a
    // copy of every output; the trainer drops those at once.)
    const fetches: Record<string, OnnxTensor | null> = Object.fromEntries(
      TRAINING_STATISTICS_OUTPUTS.map((name) => [name, null]),
    );
    for (const [name, { shape }] of weights) {
      const sum = new runtime.Tensor('float32', gradientSums(name), [...shape]);
      feeds[names.gradientSum(name)] = sum;
      fetches[names.gradient(name)] = sum;
    }
    return statisticsOf(await graph.run(feeds, fetches));
  }

  /**
   * Micro-batches laid out as the graphs read them: each one's rows right-padded to its longest (padding after a
   * row's tokens is seen by none of them) and flattened in row order, one micro-batch after another; its counted
   * positions as indices into its own grid; and per micro-batch, its rows, length and where its tokens and its
   * counted positions start and end (`TRAINING_GRAPH_NAMES.microBatches`).
   */
  function layOut(chunks: readonly (readonly PackedRow[])[]) {
    const grids: number[][] = [];
    let tokenCount = 0;
    let countedCount = 0;
    for (const chunk of chunks) {
      const length = Math.max(...chunk.map((row) => row.tokenIds.length));
      const counted = chunk.reduce((total, row) => total + row.predictions.length, 0);
      grids.push([
        chunk.length,
        length,
        tokenCount,
        tokenCount + chunk.length * length,
        countedCount,
        countedCount + counted,
      ]);
      tokenCount += chunk.length * length;
      countedCount += counted;
    }
    const tokens = {
      ids: new BigInt64Array(tokenCount).fill(BigInt(options.padding)),
      positions: new BigInt64Array(tokenCount),
      segments: new BigInt64Array(tokenCount),
    };
    const predictions: (PackedRow['predictions'][number] & { position: number })[] = [];
    chunks.forEach((chunk, index) => {
      const [, length, start] = grids[index] as [number, number, number];
      chunk.forEach((row, rowIndex) => {
        const offset = start + rowIndex * length;
        row.tokenIds.forEach((value, position) => {
          tokens.ids[offset + position] = BigInt(value);
          tokens.positions[offset + position] = BigInt(row.positionIds[position] as number);
          tokens.segments[offset + position] = BigInt(row.segmentIds[position] as number);
        });
        for (const prediction of row.predictions)
          predictions.push({ ...prediction, position: rowIndex * length + prediction.position });
      });
    });
    return { grids, tokens, predictions };
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
      for (const session of sessions.values()) await session.release();
      sessions.clear();
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
    const passesOf = (group: typeof sequences) =>
      trainingMicroBatches(
        packByPrompt(group, options.microBatchLimit),
        options.microBatchLimit,
        packedRowMeasure,
      );
    // Statistics-only micro-batches run one call each; the others all in one call of the loop graph, or one call
    // each without it.
    const training = passesOf(sequences.filter((sequence) => !inert(sequence)));
    const trainingCalls =
      loop && training.length > 0
        ? [{ chunks: training, kind: 'loop' as const }]
        : training.map((chunk) => ({ chunks: [chunk], kind: 'accumulate' as const }));
    const calls = [
      ...passesOf(sequences.filter(inert)).map((chunk) => ({ chunks: [chunk], kind: 'statistics' as const })),
      ...trainingCalls,
    ];
    // Several calls that each return every gradient: on glibc, say once how to start the process so that those
    // copies reuse memory (see allocatorAdvice).
    adviseAllocator(weightBytes, trainingCalls.length > 1);
    for (const { chunks, kind } of calls) {
      batch.signal?.throwIfAborted();
      const statistics = await run(chunks, batch, denominator, kind);
      totals.loss += statistics.loss;
      totals.policyLoss += statistics.policyLoss;
      totals.entropy += statistics.entropy;
      totals.clipped += statistics.clipped;
      totals.kl += statistics.kl;
      totals.importanceWeight += statistics.importanceWeight;
      totals.truncated += statistics.truncated;
      if (kind === 'statistics') continue;
      gradients = sums;
      // The call's copies of the new sums (see collectGarbage) are garbage from here: free them before AdamW
      // allocates its moments, or the next step's call makes its own. (A small model's copies are left to V8: a
      // full collection would cost more than they weigh.)
      if (weightBytes >= LARGE_OUTPUT_BYTES) collectGarbage();
    }
    let squares = 0;
    for (const gradient of gradients.values())
      for (let index = 0; index < gradient.length; index += 1) {
        const entry = gradient[index] as number;
        squares += entry * entry;
      }
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
