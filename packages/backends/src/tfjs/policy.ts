import {
  assertNumberInRange,
  type Completion,
  DEFAULT_OPTIMIZER_SETTINGS,
  type GenerateRequest,
  type GenerateResult,
  type LogProbsRequest,
  type LogProbsResult,
  type OptimizerSettings,
  type PolicyCapabilities,
  ResourceClosedError,
  type TokenSequence,
  type TrainBatch,
  type TrainSequence,
  type TrainStepResult,
} from '@azr/core';
import { writeModelDirectory } from '../model/directory.js';
import { checkLlamaWeights, type LlamaWeights } from '../model/weights.js';
import {
  countedTokens,
  countedTokenTotal,
  emptyTrainStepResult,
  layOutBatch,
  microBatches,
  trainableSequences,
  trainingMicroBatches,
} from '../shared/batching.js';
import type { LlamaPolicyModel } from '../shared/llama-policy.js';
import { type LlamaModelSource, resolveLlamaModel } from '../shared/model-source.js';
import { readOptimizerState, writeOptimizerState } from '../shared/optimizer-state.js';
import {
  assertFitsContext,
  assertGenerateRequest,
  CompletionDecoder,
  encodePrompt,
} from '../shared/sampling.js';
import { disposeCache, type LlamaCache, llamaForwardCached, type TfjsLlamaWeights } from './llama-forward.js';
import { initializeTfjs, type TfjsBackendName, type TfjsModule } from './runtime.js';

type Tensor = ReturnType<TfjsModule['tensor']>;
type Variable = ReturnType<TfjsModule['variable']>;

/** Where the model of a tfjs policy comes from. */
export type TfjsModelSource = LlamaModelSource;

/** Settings of {@link createTfjsPolicy}. */
export interface TfjsPolicySettings {
  readonly model: TfjsModelSource;
  /** Default `auto` (node-gpu, node, else wasm). */
  readonly backend?: TfjsBackendName;
  /** AdamW with global-norm clipping; defaults are `DEFAULT_OPTIMIZER_SETTINGS` (learning rate 1e-6). */
  readonly optimizer?: Partial<OptimizerSettings>;
  /** Names the model in events. Default: the folder, or `preset:<name>`. */
  readonly modelId?: string;
  /**
   * Largest `sequences x length^2` of one forward and backward pass (attention memory grows with it): a train
   * step or scoring call over more is split into micro-batches whose gradients are summed. Default `2**20`
   * (the benchmark batch, 16 x 128, in one pass; a sequence of 1,024 tokens alone), which keeps the wasm
   * backend within its memory on the tiny preset.
   */
  readonly microBatchBudget?: number;
}

let nextPolicyNumber = 0;

/**
 * A Llama-family policy on TensorFlow.js that generates (with a key/value cache, seeded sampling, top-p, stop
 * strings, constraints) and trains (PPO-clip, token mean, optional entropy bonus, AdamW, global-norm
 * clipping). Saved as a Hugging Face style folder plus the optimizer state; `createTfjsPolicy({ model:
 * { directory } })` loads it back.
 */
export async function createTfjsPolicy(settings: TfjsPolicySettings): Promise<LlamaPolicyModel> {
  const { tf } = await initializeTfjs({ backend: settings.backend ?? 'auto' });
  const optimizer: OptimizerSettings = { ...DEFAULT_OPTIMIZER_SETTINGS, ...settings.optimizer };
  assertNumberInRange('optimizer.learningRate', optimizer.learningRate, { minimum: 0 });
  const microBatchBudget = settings.microBatchBudget ?? 2 ** 20;
  assertNumberInRange('microBatchBudget', microBatchBudget, { minimum: 1 });
  const source = settings.model;
  const { config, weights, tokenizer, modelId } = await resolveLlamaModel(source, settings.modelId);

  // Projections are kept as [in, out] variables; saved and loaded as Hugging Face's [out, in].
  const variables = new Map<string, Variable>();
  // Variable names are global to TensorFlow.js: each policy's get a suffix of their own.
  const suffix = `#${nextPolicyNumber++}`;
  for (const [name, { shape, data }] of weights) {
    const tensor = tf.tensor(data, [...shape]);
    const stored = isProjection(name, shape) ? tf.transpose(tensor) : tensor;
    variables.set(name, tf.variable(stored, true, `${name}${suffix}`));
    if (stored !== tensor) stored.dispose();
    tensor.dispose();
  }
  const moments = new Map<string, { first: Variable; second: Variable }>();
  let optimizerStep = 0;
  if ('directory' in source) {
    const state = await readOptimizerState(source.directory);
    if (state !== undefined) {
      optimizerStep = state.step;
      for (const [name, variable] of variables) {
        const moment = state.moments.get(name);
        if (moment !== undefined)
          moments.set(name, {
            first: tf.variable(tf.tensor(moment.first, variable.shape), false),
            second: tf.variable(tf.tensor(moment.second, variable.shape), false),
          });
      }
    }
  }
  const view: TfjsLlamaWeights = { tensors: variables, dispose: () => undefined };
  const padding = tokenizer.paddingTokenId ?? tokenizer.endOfSequenceTokenId;
  async function readWeights(): Promise<LlamaWeights> {
    const result: LlamaWeights = new Map();
    for (const [name, variable] of variables) {
      const shape = weights.get(name)?.shape ?? variable.shape;
      const stored = isProjection(name, shape) ? tf.transpose(variable) : variable;
      result.set(name, { shape, data: Float32Array.from(await stored.data()) });
      if (stored !== variable) stored.dispose();
    }
    return result;
  }
  let disposed = false;
  const assertOpen = () => {
    if (disposed) throw new ResourceClosedError({ resource: `tfjs policy ${modelId}` });
  };

  const capabilities: PolicyCapabilities = {
    training: true,
    constrainedDecoding: true,
    maxSequenceLength: config.maxPositionEmbeddings,
  };

  async function generateOne(
    prompt: string,
    promptIndex: number,
    request: GenerateRequest,
  ): Promise<Completion> {
    const ids = encodePrompt(tokenizer, prompt);
    assertFitsContext(ids.length, request.maxTokens, config.maxPositionEmbeddings);
    const decoder = new CompletionDecoder(tokenizer, request, prompt, promptIndex, ids);
    let cache: LlamaCache | undefined;
    let input = [ids];
    try {
      while (!decoder.finished) {
        request.signal?.throwIfAborted();
        const { logits, cache: next } = llamaForwardCached(tf, config, view, input, cache);
        disposeCache(cache);
        cache = next;
        const lastPosition = (input[0]?.length ?? 1) - 1;
        const row = tf.tidy(() => tf.slice(logits, [0, lastPosition, 0], [1, 1, config.vocabularySize]));
        logits.dispose();
        const values = await row.data();
        row.dispose();
        const token = decoder.next(values);
        if (token === undefined) break;
        input = [[token]];
      }
    } finally {
      disposeCache(cache);
    }
    return decoder.completion();
  }

  /** Tempered log probabilities of each position's next token, and the entropy there, `[batch, length]`. */
  function tokenLogProbs(
    ids: number[][],
    targets: number[][],
    temperature: number,
    differentiable: boolean,
  ): { logProbs: Tensor; entropy: Tensor } {
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

  return {
    specificationVersion: 'v1',
    provider: 'tfjs',
    modelId,
    config,
    capabilities,
    tokenizer,
    async doGenerate(request: GenerateRequest): Promise<GenerateResult> {
      assertOpen();
      request.signal?.throwIfAborted();
      assertGenerateRequest(request);
      const started = performance.now();
      const completions: Completion[] = [];
      for (const [index, prompt] of request.prompts.entries())
        completions.push(await generateOne(prompt, index, request));
      return { completions, durationMs: performance.now() - started };
    },
    async doComputeLogProbs(request: LogProbsRequest): Promise<LogProbsResult> {
      assertOpen();
      assertNumberInRange('temperature', request.temperature, { minimum: Number.MIN_VALUE });
      const scored = request.sequences.filter((sequence) => sequence.completionTokenIds.length > 0);
      const results = new Map<TokenSequence, number[]>();
      for (const chunk of microBatches(scored, microBatchBudget, config.vocabularySize)) {
        const { ids, targets, length } = layOutBatch(chunk, padding);
        const values = tf.tidy(() => tokenLogProbs(ids, targets, request.temperature, false).logProbs);
        const grid = await values.data();
        values.dispose();
        chunk.forEach((sequence, row) => {
          const first = row * length + sequence.promptTokenIds.length - 1;
          results.set(sequence, Array.from(grid.subarray(first, first + sequence.completionTokenIds.length)));
        });
      }
      return { logProbs: request.sequences.map((sequence) => results.get(sequence) ?? []) };
    },
    async doTrainStep(batch: TrainBatch): Promise<TrainStepResult> {
      assertOpen();
      batch.signal?.throwIfAborted();
      const started = performance.now();
      const sequences = trainableSequences(batch);
      if (sequences.length === 0) return emptyTrainStepResult(started);
      const { clipRatio, entropyCoefficient } = batch.loss;
      const trainable = [...variables.values()];
      const tokenCount = countedTokenTotal(sequences);
      const denominator = Math.max(tokenCount, 1);
      // One forward and backward pass per micro-batch, gradients summed: the loss is a token mean over the
      // whole batch either way, and memory stays bounded for long sequences.
      const grads: Record<string, Tensor> = {};
      const sums = { loss: 0, policyLoss: 0, entropy: 0, clipped: 0, kl: 0 };
      // A sequence whose counted tokens all have advantage 0 adds nothing to the gradient (without an entropy
      // bonus): early in self-play, when every proposal is invalid, that is most of the batch. Such sequences
      // get a forward pass for the statistics, not a backward pass.
      const inert = (sequence: TrainSequence) =>
        entropyCoefficient === 0 &&
        countedTokens(sequence).every((counted, index) => counted === 0 || sequence.advantages[index] === 0);
      for (const chunk of trainingMicroBatches(
        sequences.filter(inert),
        microBatchBudget,
        config.vocabularySize,
      )) {
        batch.signal?.throwIfAborted();
        const { ids, targets, length, place } = layOutBatch(chunk, padding);
        const [counted, old] = [place(countedTokens), place((sequence) => sequence.oldLogProbs)];
        const { logProbs: current, entropy } = tf.tidy(() =>
          tokenLogProbs(ids, targets, batch.temperature, false),
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
      for (const chunk of trainingMicroBatches(
        sequences.filter((sequence) => !inert(sequence)),
        microBatchBudget,
        config.vocabularySize,
      )) {
        batch.signal?.throwIfAborted();
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
          const { logProbs: current, entropy } = tokenLogProbs(ids, targets, batch.temperature, true);
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
      const scale = gradientNorm > optimizer.maxGradientNorm ? optimizer.maxGradientNorm / gradientNorm : 1;
      optimizerStep += 1;
      const correction1 = 1 - optimizer.beta1 ** optimizerStep;
      const correction2 = 1 - optimizer.beta2 ** optimizerStep;
      tf.tidy(() => {
        for (const [name, variable] of variables) {
          // No gradient (every sequence was inert): AdamW still decays the weights and moves on its moments.
          const gradient = grads[variable.name] ?? tf.zerosLike(variable);
          let moment = moments.get(name);
          if (moment === undefined) {
            moment = {
              first: tf.variable(tf.zerosLike(variable), false),
              second: tf.variable(tf.zerosLike(variable), false),
            };
            moments.set(name, moment);
          }
          const scaled = tf.mul(gradient, scale);
          moment.first.assign(
            tf.add(tf.mul(moment.first, optimizer.beta1), tf.mul(scaled, 1 - optimizer.beta1)),
          );
          moment.second.assign(
            tf.add(tf.mul(moment.second, optimizer.beta2), tf.mul(tf.square(scaled), 1 - optimizer.beta2)),
          );
          const step = tf.div(
            tf.div(moment.first, correction1),
            tf.add(tf.sqrt(tf.div(moment.second, correction2)), optimizer.epsilon),
          );
          const decayed =
            name.endsWith('norm.weight') || name.endsWith('.bias')
              ? variable
              : tf.mul(variable, 1 - optimizer.learningRate * optimizer.weightDecay);
          variable.assign(tf.sub(decayed, tf.mul(step, optimizer.learningRate)));
        }
      });
      for (const gradient of Object.values(grads)) gradient.dispose();
      return {
        loss,
        ...statistics,
        gradientNorm,
        tokenCount,
        durationMs: performance.now() - started,
      };
    },
    async doSave(directory: string): Promise<void> {
      assertOpen();
      const state = new Map<
        string,
        { shape: readonly number[]; first: Float32Array; second: Float32Array }
      >();
      for (const [name, variable] of variables) {
        const moment = moments.get(name);
        if (moment === undefined) continue;
        state.set(name, {
          shape: variable.shape,
          first: Float32Array.from(await moment.first.data()),
          second: Float32Array.from(await moment.second.data()),
        });
      }
      await writeModelDirectory(directory, { config, weights: await readWeights(), tokenizer });
      await writeOptimizerState(directory, { step: optimizerStep, moments: state });
    },
    readWeights: async () => {
      assertOpen();
      return readWeights();
    },
    async writeWeights(replacement: LlamaWeights): Promise<void> {
      assertOpen();
      checkLlamaWeights(config, replacement, undefined);
      tf.tidy(() => {
        for (const [name, variable] of variables) {
          const { shape, data } = replacement.get(name) as { shape: readonly number[]; data: Float32Array };
          const tensor = tf.tensor(data, [...shape]);
          variable.assign(isProjection(name, shape) ? tf.transpose(tensor) : tensor);
        }
      });
    },
    async doDispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      for (const variable of variables.values()) variable.dispose();
      for (const moment of moments.values()) {
        moment.first.dispose();
        moment.second.dispose();
      }
    },
  };
}

/** Whether a weight is a projection, kept `[in, out]` in tfjs and `[out, in]` on disk. */
function isProjection(name: string, shape: readonly number[]): boolean {
  return shape.length === 2 && name !== 'model.embed_tokens.weight';
}
