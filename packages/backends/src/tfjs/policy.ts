import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  assertNumberInRange,
  type Completion,
  ConfigError,
  createByteTokenizer,
  createSeededRandom,
  DEFAULT_OPTIMIZER_SETTINGS,
  type FinishReason,
  type GenerateRequest,
  type GenerateResult,
  type LogProbsRequest,
  type LogProbsResult,
  ModelFormatError,
  type OptimizerSettings,
  type PolicyCapabilities,
  type PolicyModelV1,
  ResourceClosedError,
  type TokenizerV1,
  type TrainBatch,
  type TrainStepResult,
} from '@azr/core';
import { LLAMA_PRESETS, type LlamaConfig } from '../model/config.js';
import { readModelDirectory, writeModelDirectory } from '../model/directory.js';
import { readSafetensors, writeSafetensors } from '../model/safetensors.js';
import { initializeLlamaWeights, type LlamaWeights } from '../model/weights.js';
import { disposeCache, type LlamaCache, llamaForwardCached, type TfjsLlamaWeights } from './llama-forward.js';
import { initializeTfjs, type TfjsBackendName, type TfjsModule } from './runtime.js';

type Tensor = ReturnType<TfjsModule['tensor']>;
type Variable = ReturnType<TfjsModule['variable']>;

/** Where the model of a tfjs policy comes from. */
export type TfjsModelSource =
  | { readonly directory: string }
  | { readonly preset: keyof typeof LLAMA_PRESETS; readonly seed: number }
  | { readonly config: LlamaConfig; readonly weights: LlamaWeights; readonly tokenizer: TokenizerV1 };

/** Settings of {@link createTfjsPolicy}. */
export interface TfjsPolicySettings {
  readonly model: TfjsModelSource;
  /** Default `auto` (node-gpu, node, else wasm). */
  readonly backend?: TfjsBackendName;
  /** AdamW with global-norm clipping; defaults are `DEFAULT_OPTIMIZER_SETTINGS` (learning rate 1e-6). */
  readonly optimizer?: Partial<OptimizerSettings>;
  /** Names the model in events. Default: the folder, or `preset:<name>`. */
  readonly modelId?: string;
}

const OPTIMIZER_FILE = 'optimizer.safetensors';
let nextPolicyNumber = 0;

/**
 * A Llama-family policy on TensorFlow.js that generates (with a key/value cache, seeded sampling, top-p, stop
 * strings, constraints) and trains (PPO-clip, token mean, optional entropy bonus, AdamW, global-norm
 * clipping). Saved as a Hugging Face style folder plus the optimizer state; `createTfjsPolicy({ model:
 * { directory } })` loads it back.
 */
export async function createTfjsPolicy(settings: TfjsPolicySettings): Promise<PolicyModelV1> {
  const { tf } = await initializeTfjs({ backend: settings.backend ?? 'auto' });
  const optimizer: OptimizerSettings = { ...DEFAULT_OPTIMIZER_SETTINGS, ...settings.optimizer };
  assertNumberInRange('optimizer.learningRate', optimizer.learningRate, { minimum: 0 });
  let config: LlamaConfig;
  let weights: LlamaWeights;
  let tokenizer: TokenizerV1;
  let modelId: string;
  const source = settings.model;
  if ('directory' in source) {
    ({ config, weights, tokenizer } = await readModelDirectory(source.directory));
    modelId = settings.modelId ?? source.directory;
  } else if ('preset' in source) {
    config = LLAMA_PRESETS[source.preset];
    if (config === undefined)
      throw new ConfigError(`Unknown preset ${source.preset}.`, {
        field: 'model.preset',
        allowed: Object.keys(LLAMA_PRESETS),
      });
    weights = initializeLlamaWeights(config, { seed: source.seed });
    tokenizer = createByteTokenizer();
    modelId = settings.modelId ?? `preset:${source.preset}`;
  } else {
    ({ config, weights, tokenizer } = source);
    modelId = settings.modelId ?? 'custom';
  }
  if (tokenizer.vocabularySize > config.vocabularySize) {
    throw new ModelFormatError(
      `The tokenizer has ${tokenizer.vocabularySize} tokens, the model ${config.vocabularySize}.`,
      { path: undefined },
    );
  }
  const byteTokenizer = tokenizer.tokenizerId === 'azr-byte';

  // Projections are kept as [in, out] variables; saved and loaded as Hugging Face's [out, in].
  const variables = new Map<string, Variable>();
  // Variable names are global to TensorFlow.js: each policy's get a suffix of their own.
  const suffix = `#${nextPolicyNumber++}`;
  for (const [name, { shape, data }] of weights) {
    const tensor = tf.tensor(data, [...shape]);
    const stored = shape.length === 2 && name !== 'model.embed_tokens.weight' ? tf.transpose(tensor) : tensor;
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
        const first = state.tensors.get(`${name}.m`);
        const second = state.tensors.get(`${name}.v`);
        if (first && second)
          moments.set(name, {
            first: tf.variable(tf.tensor(first.data, variable.shape), false),
            second: tf.variable(tf.tensor(second.data, variable.shape), false),
          });
      }
    }
  }
  const view: TfjsLlamaWeights = { tensors: variables, dispose: () => undefined };
  let disposed = false;
  const assertOpen = () => {
    if (disposed) throw new ResourceClosedError({ resource: `tfjs policy ${modelId}` });
  };

  const capabilities: PolicyCapabilities = {
    training: true,
    constrainedDecoding: true,
    maxSequenceLength: config.maxPositionEmbeddings,
  };

  function promptIds(prompt: string): number[] {
    const ids = tokenizer.encode(prompt);
    return tokenizer.beginningOfSequenceTokenId === undefined
      ? ids
      : [tokenizer.beginningOfSequenceTokenId, ...ids];
  }

  async function generateOne(
    prompt: string,
    promptIndex: number,
    request: GenerateRequest,
  ): Promise<Completion> {
    const ids = promptIds(prompt);
    if (ids.length + request.maxTokens > config.maxPositionEmbeddings) {
      throw new ConfigError(
        `The prompt (${ids.length} tokens) and maxTokens (${request.maxTokens}) exceed the model's ${config.maxPositionEmbeddings} positions.`,
        { field: 'maxTokens' },
      );
    }
    const random = createSeededRandom((request.seed * 1_000_003 + promptIndex) % Number.MAX_SAFE_INTEGER);
    const tokenIds: number[] = [];
    const logProbs: number[] = [];
    let state = request.constraint?.initialState(prompt);
    let finishReason: FinishReason = 'length';
    let cache: LlamaCache | undefined;
    let input = [ids];
    try {
      while (tokenIds.length < request.maxTokens) {
        request.signal?.throwIfAborted();
        const { logits, cache: next } = llamaForwardCached(tf, config, view, input, cache);
        disposeCache(cache);
        cache = next;
        const lastPosition = (input[0]?.length ?? 1) - 1;
        const last = tf.tidy(() => {
          const row = tf.slice(logits, [0, lastPosition, 0], [1, 1, config.vocabularySize]);
          return tf.logSoftmax(tf.div(tf.reshape(row, [config.vocabularySize]), request.temperature));
        });
        logits.dispose();
        const logProbabilities = Array.from(await last.data());
        last.dispose();
        let allowed = request.constraint?.allowedTokenIds(state);
        if (allowed !== undefined && request.constraint?.isComplete(state))
          allowed = [...allowed, tokenizer.endOfSequenceTokenId];
        if (allowed !== undefined && allowed.length === 0) {
          finishReason = 'constraint';
          break;
        }
        const token = request.greedy
          ? argmax(logProbabilities, allowed)
          : sample(logProbabilities, allowed, request.topP, random.nextFloat());
        tokenIds.push(token);
        logProbs.push(logProbabilities[token] as number);
        if (token === tokenizer.endOfSequenceTokenId) {
          finishReason = 'end-of-sequence';
          break;
        }
        if (request.constraint !== undefined) state = request.constraint.advance(state, token);
        if (request.stop !== undefined && request.stop.length > 0) {
          const text = tokenizer.decode(tokenIds);
          if (request.stop.some((stop) => text.includes(stop))) {
            finishReason = 'stop';
            break;
          }
        }
        input = [[token]];
      }
    } finally {
      disposeCache(cache);
    }
    return { text: tokenizer.decode(tokenIds), promptTokenIds: ids, tokenIds, logProbs, finishReason };
  }

  /** Per-token log probabilities of each completion under the current weights, as a tensor per sequence. */
  function sequenceLogProbs(
    sequence: { promptTokenIds: readonly number[]; completionTokenIds: readonly number[] },
    temperature: number,
    differentiable: boolean,
  ): { logProbs: Tensor; entropy: Tensor } {
    const ids = [...sequence.promptTokenIds, ...sequence.completionTokenIds];
    const { logits, cache } = llamaForwardCached(tf, config, view, [ids], undefined, { differentiable });
    disposeCache(cache);
    const start = sequence.promptTokenIds.length - 1;
    const count = sequence.completionTokenIds.length;
    const rows = tf.div(
      tf.reshape(tf.slice(logits, [0, start, 0], [1, count, config.vocabularySize]), [
        count,
        config.vocabularySize,
      ]),
      temperature,
    );
    const logSoftmax = tf.logSoftmax(rows);
    const chosen = tf.sum(
      tf.mul(
        logSoftmax,
        tf.oneHot(tf.tensor1d([...sequence.completionTokenIds], 'int32'), config.vocabularySize),
      ),
      -1,
    );
    const entropy = tf.neg(tf.sum(tf.mul(tf.exp(logSoftmax), logSoftmax), -1));
    return { logProbs: chosen, entropy };
  }

  return {
    specificationVersion: 'v1',
    provider: 'tfjs',
    modelId,
    capabilities,
    tokenizer,
    async doGenerate(request: GenerateRequest): Promise<GenerateResult> {
      assertOpen();
      request.signal?.throwIfAborted();
      assertNumberInRange('temperature', request.temperature, { minimum: Number.MIN_VALUE });
      assertNumberInRange('topP', request.topP, { minimum: Number.MIN_VALUE, maximum: 1 });
      assertNumberInRange('maxTokens', request.maxTokens, { minimum: 1, integer: true });
      const started = performance.now();
      const completions: Completion[] = [];
      for (const [index, prompt] of request.prompts.entries())
        completions.push(await generateOne(prompt, index, request));
      return { completions, durationMs: performance.now() - started };
    },
    async doComputeLogProbs(request: LogProbsRequest): Promise<LogProbsResult> {
      assertOpen();
      const logProbs: number[][] = [];
      for (const sequence of request.sequences) {
        if (sequence.completionTokenIds.length === 0) {
          logProbs.push([]);
          continue;
        }
        const { logProbs: values, entropy } = tf.tidy(() =>
          sequenceLogProbs(sequence, request.temperature, false),
        );
        logProbs.push(Array.from(await values.data()));
        values.dispose();
        entropy.dispose();
      }
      return { logProbs };
    },
    async doTrainStep(batch: TrainBatch): Promise<TrainStepResult> {
      assertOpen();
      batch.signal?.throwIfAborted();
      const started = performance.now();
      const sequences = batch.sequences.filter((sequence) => sequence.completionTokenIds.length > 0);
      const tokenCount = sequences.reduce(
        (total, sequence) =>
          total +
          sequence.completionTokenIds.reduce(
            (count, _, index) => count + ((sequence.lossMask?.[index] ?? 1) === 0 ? 0 : 1),
            0,
          ),
        0,
      );
      const statistics = { policyLoss: 0, entropy: 0, clipped: 0, kl: 0 };
      const { clipRatio, entropyCoefficient } = batch.loss;
      const trainable = [...variables.values()];
      const { value, grads } = tf.variableGrads(() => {
        let total: Tensor = tf.scalar(0);
        for (const sequence of sequences) {
          const { logProbs: current, entropy } = sequenceLogProbs(sequence, batch.temperature, true);
          const mask = tf.tensor1d(
            sequence.completionTokenIds.map((_, index) => sequence.lossMask?.[index] ?? 1),
          );
          const old = tf.tensor1d([...sequence.oldLogProbs]);
          const advantages = tf.tensor1d([...sequence.advantages]);
          const ratio = tf.exp(tf.sub(current, old));
          const unclipped = tf.mul(ratio, advantages);
          const clipped = tf.mul(tf.clipByValue(ratio, 1 - clipRatio, 1 + clipRatio), advantages);
          const surrogate = tf.neg(tf.minimum(unclipped, clipped));
          const perToken = tf.sub(surrogate, tf.mul(entropy, entropyCoefficient));
          total = tf.add(total, tf.sum(tf.mul(perToken, mask)));
          statistics.policyLoss += tf.sum(tf.mul(surrogate, mask)).dataSync()[0] as number;
          statistics.entropy += tf.sum(tf.mul(entropy, mask)).dataSync()[0] as number;
          statistics.clipped += tf
            .sum(tf.mul(tf.cast(tf.less(clipped, unclipped), 'float32'), mask))
            .dataSync()[0] as number;
          statistics.kl += tf.sum(tf.mul(tf.sub(old, current), mask)).dataSync()[0] as number;
        }
        return tf.div(total, Math.max(tokenCount, 1)) as ReturnType<TfjsModule['scalar']>;
      }, trainable);
      const loss = (await value.data())[0] as number;
      value.dispose();
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
          const gradient = grads[variable.name];
          if (gradient === undefined) continue;
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
      const denominator = Math.max(tokenCount, 1);
      return {
        loss,
        policyLoss: statistics.policyLoss / denominator,
        entropy: statistics.entropy / denominator,
        clipFraction: statistics.clipped / denominator,
        approximateKl: statistics.kl / denominator,
        gradientNorm,
        tokenCount,
        durationMs: performance.now() - started,
      };
    },
    async doSave(directory: string): Promise<void> {
      assertOpen();
      const saved: LlamaWeights = new Map();
      const optimizerTensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
      for (const [name, variable] of variables) {
        const original = weights.get(name);
        const data =
          original !== undefined && original.shape.length === 2 && name !== 'model.embed_tokens.weight'
            ? await tf.transpose(variable).data()
            : await variable.data();
        saved.set(name, { shape: original?.shape ?? variable.shape, data: Float32Array.from(data) });
        const moment = moments.get(name);
        if (moment !== undefined) {
          optimizerTensors.set(`${name}.m`, {
            shape: variable.shape,
            data: Float32Array.from(await moment.first.data()),
          });
          optimizerTensors.set(`${name}.v`, {
            shape: variable.shape,
            data: Float32Array.from(await moment.second.data()),
          });
        }
      }
      await writeModelDirectory(directory, { config, weights: saved, byteTokenizer });
      await mkdir(directory, { recursive: true });
      await writeFile(
        join(directory, OPTIMIZER_FILE),
        writeSafetensors(optimizerTensors, { step: String(optimizerStep) }),
      );
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

async function readOptimizerState(
  directory: string,
): Promise<{ step: number; tensors: Map<string, { data: Float32Array }> } | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(directory, OPTIMIZER_FILE));
  } catch {
    return undefined;
  }
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as {
    __metadata__?: { step?: string };
  };
  return {
    step: Number(header.__metadata__?.step ?? 0),
    tensors: readSafetensors(bytes, join(directory, OPTIMIZER_FILE)),
  };
}

function argmax(values: readonly number[], allowed: readonly number[] | undefined): number {
  const candidates = allowed ?? values.map((_, index) => index);
  let best = candidates[0] as number;
  for (const candidate of candidates)
    if ((values[candidate] as number) > (values[best] as number)) best = candidate;
  return best;
}

function sample(
  logProbabilities: readonly number[],
  allowed: readonly number[] | undefined,
  topP: number,
  uniform: number,
): number {
  const candidates = (allowed ?? logProbabilities.map((_, index) => index))
    .map((id) => ({ id, probability: Math.exp(logProbabilities[id] as number) }))
    .sort((left, right) => right.probability - left.probability || left.id - right.id);
  let kept = candidates.length;
  if (topP < 1) {
    const total = candidates.reduce((sum, candidate) => sum + candidate.probability, 0);
    let cumulative = 0;
    for (const [index, candidate] of candidates.entries()) {
      cumulative += candidate.probability;
      if (cumulative >= topP * total) {
        kept = index + 1;
        break;
      }
    }
  }
  const nucleus = candidates.slice(0, kept);
  let threshold = uniform * nucleus.reduce((sum, candidate) => sum + candidate.probability, 0);
  for (const candidate of nucleus) {
    threshold -= candidate.probability;
    if (threshold < 0) return candidate.id;
  }
  return (nucleus.at(-1) as { id: number }).id;
}
