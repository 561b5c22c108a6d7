import { ConfigError } from '@azr/core/spec';
import { describe, expect, it } from 'vitest';
import { type LlamaConfig, parseLlamaConfig } from '../model/config.js';
import { initializeLlamaWeights, type LlamaWeights } from '../model/weights.js';
import { llamaForwardCached, toTfjsWeights } from '../tfjs/llama-forward.js';
import { initializeTfjs } from '../tfjs/runtime.js';
import type { Tensor } from '../tfjs/variables.js';
import { isGraphProjection, toGraphLayout } from './layout.js';
import { loadOnnxRuntime } from './runtime.js';
import { openSession } from './session.js';
import { buildLlamaTrainingGraph, TRAINING_GRAPH_NAMES } from './training-graph.js';

interface Batch {
  readonly ids: number[][];
  readonly targets: number[][];
  readonly mask: number[][];
  readonly old: number[][];
  readonly advantages: number[][];
  readonly temperature: number;
  readonly clipRatio: number;
  readonly entropyCoefficient: number;
  /**
   * Truncated importance sampling: the rollouts' log probabilities and the cap; with `proximalFromCurrent`, the
   * ratio's reference is the current log probability (a constant of the gradient) instead of `old`.
   */
  readonly correction?: {
    readonly behaviour: number[][];
    readonly cap: number;
    readonly proximalFromCurrent: boolean;
  };
}

/**
 * The loss and every gradient (graph layout) from the ONNX training graph. With `sums` (graph layout), the
 * accumulating graph runs instead, fed those running sums and writing the new ones over them in place, as the
 * trainer runs it; the gradients returned are then the arrays of `sums`.
 */
async function onnxGradients(
  config: LlamaConfig,
  weights: LlamaWeights,
  batch: Batch,
  sums?: ReadonlyMap<string, Float32Array>,
  recomputeActivations = false,
) {
  const runtime = await loadOnnxRuntime();
  const session = await openSession(
    runtime,
    await buildLlamaTrainingGraph(config, { accumulate: sums !== undefined, recomputeActivations }),
    {},
  );
  const names = TRAINING_GRAPH_NAMES;
  const [rows, columns] = [batch.ids.length, batch.ids[0]?.length ?? 0];
  const int64 = (values: number[][]) =>
    new runtime.Tensor('int64', BigInt64Array.from(values.flat(), BigInt), [rows, columns]);
  // Every position counts here (logits at all of them); the mask decides what the loss reads.
  const perPosition = [1, rows * columns];
  const float = (values: number[][]) =>
    new runtime.Tensor('float32', Float32Array.from(values.flat()), perPosition);
  const scalar = (value: number) => new runtime.Tensor('float32', Float32Array.of(value), [1]);
  const counted = batch.mask.flat().reduce((total, value) => total + value, 0);
  const feeds: Record<string, InstanceType<typeof runtime.Tensor>> = {
    [names.inputIds]: int64(batch.ids),
    [names.logitPositions]: new runtime.Tensor(
      'int64',
      BigInt64Array.from({ length: rows * columns }, (_, index) => BigInt(index)),
      [rows * columns],
    ),
    [names.targets]: new runtime.Tensor(
      'int64',
      BigInt64Array.from(batch.targets.flat(), BigInt),
      perPosition,
    ),
    [names.mask]: float(batch.mask),
    [names.oldLogProbs]: float(batch.old),
    [names.proximalFromCurrent]: float(
      batch.old.map((row) => row.map(() => (batch.correction?.proximalFromCurrent ? 1 : 0))),
    ),
    [names.behaviourLogProbs]: float(batch.correction?.behaviour ?? batch.old),
    [names.advantages]: float(batch.advantages),
    [names.temperature]: scalar(batch.temperature),
    [names.clipRatio]: scalar(batch.clipRatio),
    [names.entropyCoefficient]: scalar(batch.entropyCoefficient),
    [names.importanceCap]: scalar(batch.correction?.cap ?? 0),
    [names.denominator]: scalar(counted),
  };
  const fetches: Record<string, InstanceType<typeof runtime.Tensor> | null> = { [names.loss]: null };
  for (const [name, { shape, data }] of toGraphLayout(weights)) {
    feeds[name] = new runtime.Tensor('float32', data, [...shape]);
    const sum = sums?.get(name);
    if (sums === undefined) fetches[names.gradient(name)] = null;
    else if (sum !== undefined) {
      feeds[names.gradientSum(name)] = new runtime.Tensor('float32', sum, [...shape]);
      fetches[names.gradient(name)] = feeds[names.gradientSum(name)] ?? null;
    }
  }
  const results = await session.run(feeds, fetches);
  await session.release();
  const gradients = new Map<string, Float32Array>();
  for (const name of weights.keys())
    gradients.set(name, sums?.get(name) ?? (results[names.gradient(name)]?.data as Float32Array));
  const loss = results[names.loss] as { data: Float32Array };
  return { loss: loss.data[0] as number, gradients };
}

/** The same loss and its gradients through TensorFlow.js autograd, in the graph layout. */
async function tfjsGradients(config: LlamaConfig, weights: LlamaWeights, batch: Batch) {
  const { tf } = await initializeTfjs({ backend: 'wasm' });
  const tensors = toTfjsWeights(tf, config, weights);
  const variables = new Map(
    [...tensors.tensors]
      .filter(([name]) => weights.has(name))
      .map(([name, tensor]) => [
        name,
        tf.variable(tensor, true, `gradient-check-${name}-${variableNumber++}`),
      ]),
  );
  const view = { tensors: variables, dispose: () => undefined };
  const counted = batch.mask.flat().reduce((total, value) => total + value, 0);
  const targets = tf.oneHot(tf.tensor2d(batch.targets, undefined, 'int32'), config.vocabularySize);
  const currentLogProbs = (logits: Tensor) =>
    tf.sum(tf.mul(tf.logSoftmax(tf.div(logits, batch.temperature)), targets), -1);
  // The proximal log probabilities: `old`, or the current ones computed apart, so that they are constants.
  let proximal: Tensor = tf.tensor2d(batch.old);
  if (batch.correction?.proximalFromCurrent) {
    const { logits, cache } = llamaForwardCached(tf, config, view, batch.ids, undefined, {});
    for (const tensor of [...cache.keys, ...cache.values]) tensor.dispose();
    proximal = tf.tidy(() => currentLogProbs(logits));
    logits.dispose();
  }
  // The importance weight min(exp(proximal - behaviour), cap), a constant too; 1 without the correction.
  const importanceWeight =
    batch.correction === undefined
      ? tf.onesLike(proximal)
      : tf.minimum(tf.exp(tf.sub(proximal, tf.tensor2d(batch.correction.behaviour))), batch.correction.cap);
  const { value, grads } = tf.variableGrads(() => {
    const { logits, cache } = llamaForwardCached(tf, config, view, batch.ids, undefined, {
      differentiable: true,
    });
    for (const tensor of [...cache.keys, ...cache.values]) tensor.dispose();
    const logSoftmax = tf.logSoftmax(tf.div(logits, batch.temperature));
    const current = tf.sum(tf.mul(logSoftmax, targets), -1);
    const entropy = tf.neg(tf.sum(tf.mul(tf.exp(logSoftmax), logSoftmax), -1));
    const ratio = tf.exp(tf.sub(current, proximal));
    const advantages = tf.mul(tf.tensor2d(batch.advantages), importanceWeight);
    const unclipped = tf.mul(ratio, advantages);
    const clipped = tf.mul(tf.clipByValue(ratio, 1 - batch.clipRatio, 1 + batch.clipRatio), advantages);
    const perToken = tf.sub(
      tf.neg(tf.minimum(unclipped, clipped)),
      tf.mul(entropy, batch.entropyCoefficient),
    );
    return tf.div(tf.sum(tf.mul(perToken, tf.tensor2d(batch.mask))), counted) as ReturnType<typeof tf.scalar>;
  }, [...variables.values()]);
  const loss = (await value.data())[0] as number;
  const gradients = new Map<string, Float32Array>();
  for (const [name, variable] of variables) {
    const gradient = grads[variable.name];
    gradients.set(
      name,
      gradient === undefined ? new Float32Array(variable.size) : Float32Array.from(await gradient.data()),
    );
  }
  for (const tensor of [...Object.values(grads), ...variables.values(), ...tensors.tensors.values(), value])
    tensor.dispose();
  return { loss, gradients };
}

let variableNumber = 0;

function makeBatch(config: LlamaConfig, seed: number, overrides: Partial<Batch> = {}): Batch {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const rows = 3;
  const columns = 7;
  const grid = (value: () => number) =>
    Array.from({ length: rows }, () => Array.from({ length: columns }, value));
  const ids = grid(() => Math.floor(next() * config.vocabularySize));
  return {
    ids,
    targets: ids.map((row) => [...row.slice(1), 0]),
    mask: grid(() => (next() < 0.75 ? 1 : 0)),
    old: grid(() => -Math.log(config.vocabularySize) + (next() - 0.5) * 0.6),
    advantages: grid(() => (next() - 0.5) * 3),
    temperature: 0.9,
    clipRatio: 0.2,
    entropyCoefficient: 0.01,
    ...overrides,
  };
}

function relativeError(actual: Float32Array, expected: Float32Array): number {
  let difference = 0;
  let scale = 0;
  for (let index = 0; index < expected.length; index += 1) {
    difference = Math.max(difference, Math.abs((actual[index] as number) - (expected[index] as number)));
    scale = Math.max(scale, Math.abs(expected[index] as number));
  }
  return scale === 0 ? difference : difference / scale;
}

/** One packed row of a micro-batch: tokens with their positions and segments, and the predictions read from it. */
interface PackedTestRow {
  readonly ids: number[];
  readonly positions: number[];
  readonly segments: number[];
  /** At `position` of the row: target, weight, old, behaviour, advantage, proximal-from-current flag. */
  readonly predictions: [number, number, number, number, number, number, number][];
}

/**
 * Micro-batches of packed rows of different counts and lengths (one row holds a prompt and two completions),
 * with counted positions of weight 0, 1 and 2, and importance weights of which some pass the cap.
 */
function makeMicroBatches(config: LlamaConfig, seed: number): PackedTestRow[][] {
  let state = seed;
  const next = () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
  const plainRow = (length: number): PackedTestRow => ({
    ids: Array.from({ length }, () => Math.floor(next() * config.vocabularySize)),
    positions: Array.from({ length }, (_, position) => position),
    segments: Array.from({ length }, () => 0),
    predictions: Array.from({ length: length - 1 }, (_, position) => [
      position + 1,
      Math.floor(next() * config.vocabularySize),
      position % 4 === 0 ? 0 : position % 5 === 0 ? 2 : 1,
      -3 - next(),
      next() < 0.3 ? -9 : -3 - next(),
      next() * 2 - 1,
      next() < 0.5 ? 1 : 0,
    ]),
  });
  const packed: PackedTestRow = {
    ...plainRow(9),
    positions: [0, 1, 2, 3, 4, 5, 4, 5, 6],
    segments: [0, 0, 0, 0, 1, 1, 2, 2, 2],
  };
  return [[plainRow(6), plainRow(4)], [packed], [plainRow(3), plainRow(3), plainRow(2)]];
}

/**
 * Runs `microBatches` through the loop graph in one call, or through the accumulating graph one call each
 * (each adding onto the sums the previous wrote): the statistics' totals and the gradient sums.
 */
async function packedTrainingRuns(
  config: LlamaConfig,
  weights: LlamaWeights,
  microBatches: PackedTestRow[][],
  loop: boolean,
) {
  const runtime = await loadOnnxRuntime();
  const session = await openSession(
    runtime,
    await buildLlamaTrainingGraph(
      config,
      loop ? { microBatchLoop: true } : { accumulate: true, packed: true },
    ),
    {},
  );
  const names = TRAINING_GRAPH_NAMES;
  const layout = toGraphLayout(weights);
  const sums = new Map([...layout].map(([name, { data }]) => [name, new Float32Array(data.length)]));
  const denominator = microBatches
    .flat()
    .flatMap((row) => row.predictions)
    .reduce((total, prediction) => total + prediction[2], 0);
  const scalar = (value: number) => new runtime.Tensor('float32', Float32Array.of(value), [1]);
  const feedsOf = (chunks: PackedTestRow[][]) => {
    const tokens: number[][] = [[], [], []];
    const predictions: number[][] = [];
    const grids: number[][] = [];
    for (const chunk of chunks) {
      const length = Math.max(...chunk.map((row) => row.ids.length));
      const [start, countedStart] = [tokens[0]?.length ?? 0, predictions.length];
      chunk.forEach((row, index) => {
        for (const [part, values] of [row.ids, row.positions, row.segments].entries())
          tokens[part]?.push(...values, ...new Array<number>(length - values.length).fill(0));
        for (const [position, ...rest] of row.predictions)
          predictions.push([index * length + position - 1, ...rest]);
      });
      grids.push([
        chunk.length,
        length,
        start,
        start + chunk.length * length,
        countedStart,
        predictions.length,
      ]);
    }
    const tokenShape = loop ? [tokens[0]?.length ?? 0] : [chunks[0]?.length ?? 0, grids[0]?.[1] ?? 0];
    const int64 = (values: readonly number[], shape: readonly number[]) =>
      new runtime.Tensor('int64', BigInt64Array.from(values, BigInt), [...shape]);
    const perCounted = (column: number) =>
      new runtime.Tensor(
        'float32',
        Float32Array.from(predictions, (row) => row[column] as number),
        [1, predictions.length],
      );
    const feeds: Record<string, InstanceType<typeof runtime.Tensor>> = {
      [names.inputIds]: int64(tokens[0] as number[], tokenShape),
      [names.positionIds]: int64(tokens[1] as number[], tokenShape),
      [names.segmentIds]: int64(tokens[2] as number[], tokenShape),
      [names.logitPositions]: int64(
        predictions.map((row) => row[0] as number),
        [predictions.length],
      ),
      [names.targets]: int64(
        predictions.map((row) => row[1] as number),
        [1, predictions.length],
      ),
      [names.mask]: perCounted(2),
      [names.oldLogProbs]: perCounted(3),
      [names.behaviourLogProbs]: perCounted(4),
      [names.advantages]: perCounted(5),
      [names.proximalFromCurrent]: perCounted(6),
      [names.temperature]: scalar(0.9),
      [names.clipRatio]: scalar(0.2),
      [names.entropyCoefficient]: scalar(0.01),
      [names.importanceCap]: scalar(2),
      [names.denominator]: scalar(denominator),
    };
    if (loop) feeds[names.microBatches] = int64(grids.flat(), [grids.length, 6]);
    return feeds;
  };
  const statistics = [
    names.loss,
    names.policyLossSum,
    names.entropySum,
    names.clippedSum,
    names.klSum,
    names.importanceWeightSum,
    names.truncatedSum,
  ];
  const totals = new Map(statistics.map((name) => [name, 0]));
  for (const chunks of loop ? [microBatches] : microBatches.map((chunk) => [chunk])) {
    const feeds = feedsOf(chunks);
    const fetches: Record<string, InstanceType<typeof runtime.Tensor> | null> = Object.fromEntries(
      statistics.map((name) => [name, null]),
    );
    for (const [name, { shape, data }] of layout) {
      feeds[names.weight(name)] = new runtime.Tensor('float32', data, [...shape]);
      const sum = new runtime.Tensor('float32', sums.get(name) as Float32Array, [...shape]);
      feeds[names.gradientSum(name)] = sum;
      fetches[names.gradient(name)] = sum;
    }
    const results = await session.run(feeds, fetches);
    for (const name of statistics)
      totals.set(
        name,
        (totals.get(name) as number) + ((results[name] as { data: Float32Array }).data[0] as number),
      );
  }
  await session.release();
  return { totals, sums };
}

/** A model small enough for finite differences: one layer, width 8, a tied head. */
const TINY_TIED_CONFIG = parseLlamaConfig({
  model_type: 'llama',
  vocab_size: 11,
  hidden_size: 8,
  intermediate_size: 12,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  max_position_embeddings: 16,
  tie_word_embeddings: true,
});

describe('the ONNX training graph', () => {
  for (const [label, config] of [
    [
      'GQA, tied head',
      parseLlamaConfig({
        model_type: 'llama',
        vocab_size: 61,
        hidden_size: 32,
        intermediate_size: 48,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        max_position_embeddings: 64,
        tie_word_embeddings: true,
      }),
    ],
    [
      'q/k/v bias, untied head',
      parseLlamaConfig({
        model_type: 'qwen2',
        vocab_size: 53,
        hidden_size: 24,
        intermediate_size: 40,
        num_hidden_layers: 2,
        num_attention_heads: 2,
        num_key_value_heads: 2,
        max_position_embeddings: 64,
        tie_word_embeddings: false,
        attention_bias: true,
      }),
    ],
  ] as const) {
    it(`gives the gradients of TensorFlow.js autograd for every weight (${label})`, async () => {
      const weights = initializeLlamaWeights(config, { seed: 5, standardDeviation: 0.3 });
      const batch = makeBatch(config, 17);
      const onnx = await onnxGradients(config, weights, batch);
      const tfjs = await tfjsGradients(config, weights, batch);
      expect(Math.abs(onnx.loss - tfjs.loss)).toBeLessThan(1e-5);
      for (const [name, expected] of tfjs.gradients) {
        const actual = onnx.gradients.get(name) as Float32Array;
        expect(actual, name).toHaveLength(expected.length);
        // float32 on both sides, different summation orders: measured at most 6.3e-6 of each tensor's largest
        // entry (the layer-0 k_proj of the GQA model).
        expect(relativeError(actual, expected), name).toBeLessThan(1e-4);
      }
    });

    it(`weighs each token by its truncated importance weight, against the current or the given log probabilities (${label})`, async () => {
      const weights = initializeLlamaWeights(config, { seed: 5, standardDeviation: 0.3 });
      const plain = makeBatch(config, 17);
      // Rollout log probabilities up to 1 nat either side of the learner's, so that some weights pass the cap.
      let state = 3;
      const behaviour = plain.old.map((row) =>
        row.map((value) => {
          state = (state * 16807) % 2147483647;
          return value + (state / 2147483647 - 0.5) * 2;
        }),
      );
      for (const proximalFromCurrent of [true, false]) {
        const batch = { ...plain, correction: { behaviour, cap: 1.5, proximalFromCurrent } };
        const onnx = await onnxGradients(config, weights, batch);
        const tfjs = await tfjsGradients(config, weights, batch);
        const uncorrected = await onnxGradients(config, weights, plain);
        expect(Math.abs(onnx.loss - tfjs.loss)).toBeLessThan(1e-5);
        for (const [name, expected] of tfjs.gradients) {
          expect(relativeError(onnx.gradients.get(name) as Float32Array, expected), name).toBeLessThan(1e-4);
          // The weights change the update: the probe can fail.
          expect(
            relativeError(uncorrected.gradients.get(name) as Float32Array, expected),
            name,
          ).toBeGreaterThan(1e-2);
        }
      }
    });

    it(`gives the same loss and gradients when it recomputes each layer's activations (${label})`, async () => {
      const weights = initializeLlamaWeights(config, { seed: 5, standardDeviation: 0.3 });
      const batch = makeBatch(config, 17);
      const kept = await onnxGradients(config, weights, batch);
      const recomputed = await onnxGradients(config, weights, batch, undefined, true);
      expect(recomputed.loss).toBe(kept.loss);
      // The same operations on the same values, in another order of onnxruntime's scheduling.
      for (const [name, expected] of kept.gradients)
        expect(relativeError(recomputed.gradients.get(name) as Float32Array, expected), name).toBeLessThan(
          1e-6,
        );
    });

    it(`adds its gradients onto running sums written over in place, as the trainer runs it (${label})`, async () => {
      const weights = initializeLlamaWeights(config, { seed: 5, standardDeviation: 0.3 });
      const batch = makeBatch(config, 17);
      const plain = await onnxGradients(config, weights, batch);
      // Running sums of the order of the gradients, as after a first micro-batch.
      let seed = 7;
      const sums = new Map<string, Float32Array>();
      for (const [name, gradient] of plain.gradients)
        sums.set(
          name,
          Float32Array.from(gradient, (value) => {
            seed = (seed * 16807) % 2147483647;
            return value * (seed / 2147483647 - 0.5) * 4;
          }),
        );
      const before = new Map([...sums].map(([name, sum]) => [name, sum.slice()]));
      const accumulated = await onnxGradients(config, weights, batch, sums);
      expect(accumulated.loss).toBe(plain.loss);
      for (const [name, gradient] of plain.gradients) {
        const sum = sums.get(name) as Float32Array;
        const start = before.get(name) as Float32Array;
        const expected = Float32Array.from(gradient, (value, index) => value + (start[index] as number));
        expect(relativeError(sum, expected), name).toBeLessThan(1e-5);
      }
    });
    it(`runs micro-batches of several rows and lengths in one loop call as in a call each (${label})`, async () => {
      const weights = initializeLlamaWeights(config, { seed: 6, standardDeviation: 0.3 });
      const microBatches = makeMicroBatches(config, 11);
      const each = await packedTrainingRuns(config, weights, microBatches, false);
      const loop = await packedTrainingRuns(config, weights, microBatches, true);
      // The batch exercises every statistic: some tokens clipped, some importance weights truncated at the cap.
      for (const name of [TRAINING_GRAPH_NAMES.clippedSum, TRAINING_GRAPH_NAMES.truncatedSum])
        expect(each.totals.get(name), name).toBeGreaterThan(0);
      for (const [name, total] of each.totals)
        expect(Math.abs((loop.totals.get(name) as number) - total), name).toBeLessThan(
          1e-5 * Math.max(1, Math.abs(total)),
        );
      for (const [name, sum] of each.sums) {
        expect(Math.max(...sum.map(Math.abs)), name).toBeGreaterThan(0);
        expect(relativeError(loop.sums.get(name) as Float32Array, sum), name).toBeLessThan(1e-6);
      }
    });
  }

  it('refuses a micro-batch loop together with options it cannot honour', async () => {
    const config = TINY_TIED_CONFIG;
    await expect(
      buildLlamaTrainingGraph(config, { microBatchLoop: true, gradients: false }),
    ).rejects.toSatisfy(
      (error: unknown) =>
        ConfigError.isInstance(error) &&
        error.details.field === 'microBatchLoop' &&
        /gradients: false/.test(error.message),
    );
    await expect(buildLlamaTrainingGraph(config, { microBatchLoop: true, packed: false })).rejects.toThrow(
      /packed: false/,
    );
  });

  it('gives gradients that finite differences of its own loss confirm', async () => {
    const config = TINY_TIED_CONFIG;
    const weights = initializeLlamaWeights(config, { seed: 9, standardDeviation: 0.5 });
    const batch = makeBatch(config, 3, { entropyCoefficient: 0.05 });
    const { gradients } = await onnxGradients(config, weights, batch);
    // Small enough that no perturbation crosses a kink of the clipped objective (1e-2 did, for one seed).
    const step = 1e-3;
    let checked = 0;
    for (const [name, tensor] of weights) {
      // The entry with the largest gradient of each tensor (graph layout index -> Hugging Face index).
      const gradient = gradients.get(name) as Float32Array;
      let best = 0;
      for (let index = 1; index < gradient.length; index += 1)
        if (Math.abs(gradient[index] as number) > Math.abs(gradient[best] as number)) best = index;
      if (Math.abs(gradient[best] as number) < 1e-3) continue;
      let original = best;
      if (isGraphProjection(name, tensor.shape)) {
        const [rows, columns] = tensor.shape as [number, number];
        original = (best % rows) * columns + Math.floor(best / rows);
      }
      const loss = async (delta: number) => {
        const data = tensor.data.slice();
        data[original] = (data[original] as number) + delta;
        const moved = new Map(weights);
        moved.set(name, { shape: tensor.shape, data });
        return (await onnxGradients(config, moved, batch)).loss;
      };
      const estimate = ((await loss(step)) - (await loss(-step))) / (2 * step);
      expect(Math.abs(estimate - (gradient[best] as number)), name).toBeLessThan(
        2e-2 * Math.abs(gradient[best] as number) + 1e-4,
      );
      checked += 1;
    }
    expect(checked).toBeGreaterThan(8);
  });
});
