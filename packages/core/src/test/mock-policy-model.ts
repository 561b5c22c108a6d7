import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ConfigError,
  ModelFormatError,
  ResourceClosedError,
  UnsupportedCapabilityError,
} from '../errors/errors.js';
import { createSeededRandom } from '../random/seeded-random.js';
import type {
  Completion,
  FinishReason,
  GenerateRequest,
  GenerateResult,
  LogProbsRequest,
  LogProbsResult,
  PolicyCapabilities,
  PolicyModelV1,
  TrainBatch,
  TrainStepResult,
} from '../spec/policy-model.js';
import type { TokenizerV1 } from '../spec/tokenizer.js';
import { createByteTokenizer } from '../tokenizer/byte-tokenizer.js';

/** Decides the completion text of one prompt. */
export type MockCompletionScript =
  | readonly string[]
  | ((prompt: string, context: { readonly callIndex: number; readonly promptIndex: number }) => string);

/** Settings of {@link MockPolicyModel}. */
export interface MockPolicyModelSettings {
  /**
   * Scripted completions. An array is consumed in order, one entry per generated completion, and cycles when
   * exhausted; a function is asked for each prompt. Without a script the mock samples bytes from its own
   * weights, so seeds, temperature and training all have observable effects.
   */
  readonly script?: MockCompletionScript;
  /** Seed of the initial weights. Default `0`. */
  readonly seed?: number;
  /** Whether `doTrainStep` is supported. Default `true`. */
  readonly training?: boolean;
  /** Step size of the plain gradient step `doTrainStep` takes on the logits. Default `0.5`. */
  readonly learningRate?: number;
  /** Longest prompt plus completion, in tokens. Default `4096`. */
  readonly maxSequenceLength?: number;
  /**
   * The capability `rolloutLogProbs` the mock reports (it always generates from its own weights). Default
   * unset (`exact`).
   */
  readonly rolloutLogProbs?: 'exact' | 'approximate';
}

/** One recorded call. */
export type MockPolicyCall =
  | { readonly method: 'doGenerate'; readonly request: GenerateRequest }
  | { readonly method: 'doComputeLogProbs'; readonly request: LogProbsRequest }
  | { readonly method: 'doTrainStep'; readonly batch: TrainBatch }
  | { readonly method: 'doSave'; readonly directory: string }
  | { readonly method: 'doDispose' };

const SAVE_FILE = 'mock-policy.json';

/**
 * A test double for {@link PolicyModelV1}, for tests that isolate one unit (a task mode, a phase of the
 * trainer). It is not a language model: its "weights" are one table of logits over the byte tokenizer's
 * vocabulary, shared by every position.
 *
 * Still, it keeps every promise of the contract, which the policy conformance suite checks: log
 * probabilities are real log-softmax values of its weights, `doTrainStep` applies a real PPO-clip gradient to
 * those weights (so the reinforced tokens become more likely), seeded sampling is reproducible, and it can be
 * saved and loaded. Every call is recorded in {@link MockPolicyModel.calls}.
 */
export class MockPolicyModel implements PolicyModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider = 'mock';
  readonly modelId: string;
  readonly capabilities: PolicyCapabilities;
  readonly tokenizer: TokenizerV1 = createByteTokenizer();
  /** Every call made to the model, in order. */
  readonly calls: MockPolicyCall[] = [];
  readonly #script: MockCompletionScript | undefined;
  readonly #learningRate: number;
  readonly #settings: MockPolicyModelSettings;
  #logits: Float64Array;
  #scriptIndex = 0;
  #generateCalls = 0;
  #disposed = false;

  constructor(settings: MockPolicyModelSettings = {}, logits?: Float64Array) {
    this.#settings = settings;
    this.#script = settings.script;
    this.#learningRate = settings.learningRate ?? 0.5;
    this.modelId = `mock-${settings.seed ?? 0}`;
    this.capabilities = {
      training: settings.training ?? true,
      constrainedDecoding: true,
      maxSequenceLength: settings.maxSequenceLength ?? 4096,
      ...(settings.rolloutLogProbs === undefined ? {} : { rolloutLogProbs: settings.rolloutLogProbs }),
    };
    if (logits === undefined) {
      const random = createSeededRandom(settings.seed ?? 0);
      this.#logits = Float64Array.from(
        { length: this.tokenizer.vocabularySize },
        () => random.nextFloat() * 2 - 1,
      );
      // Keep end-of-sequence unlikely so that sampled completions are not all empty.
      this.#logits[this.tokenizer.endOfSequenceTokenId] = -4;
    } else {
      if (logits.length !== this.tokenizer.vocabularySize) {
        throw new ModelFormatError(`Mock weights have ${logits.length} logits, expected 257.`, {
          path: undefined,
        });
      }
      this.#logits = logits;
    }
  }

  /** Loads a model written by `doSave`. */
  static async load(directory: string, settings: MockPolicyModelSettings = {}): Promise<MockPolicyModel> {
    const path = join(directory, SAVE_FILE);
    let parsed: { logits?: unknown };
    try {
      parsed = JSON.parse(await readFile(path, 'utf8')) as { logits?: unknown };
    } catch (error) {
      throw new ModelFormatError(`Cannot read mock policy weights from ${path}.`, { path }, { cause: error });
    }
    if (!Array.isArray(parsed.logits) || !parsed.logits.every((value) => typeof value === 'number')) {
      throw new ModelFormatError(`${path} has no "logits" array of numbers.`, { path });
    }
    return new MockPolicyModel(settings, Float64Array.from(parsed.logits as number[]));
  }

  /** A copy of the current weights, for assertions. */
  weights(): Float64Array {
    return this.#logits.slice();
  }

  async doGenerate(request: GenerateRequest): Promise<GenerateResult> {
    this.#assertOpen();
    this.calls.push({ method: 'doGenerate', request });
    request.signal?.throwIfAborted();
    validateSampling(request.temperature, request.topP);
    if (!Number.isInteger(request.maxTokens) || request.maxTokens < 1) {
      throw new ConfigError(`maxTokens must be a positive integer, got ${request.maxTokens}.`, {
        field: 'maxTokens',
      });
    }
    const started = performance.now();
    const callIndex = this.#generateCalls++;
    const completions = request.prompts.map((prompt, promptIndex) =>
      this.#script === undefined
        ? this.#sample(prompt, promptIndex, request)
        : this.#scripted(prompt, promptIndex, callIndex, request),
    );
    return { completions, durationMs: performance.now() - started };
  }

  async doComputeLogProbs(request: LogProbsRequest): Promise<LogProbsResult> {
    this.#assertOpen();
    this.calls.push({ method: 'doComputeLogProbs', request });
    validateSampling(request.temperature, 1);
    const logProbabilities = logSoftmax(this.#logits, request.temperature);
    return {
      logProbs: request.sequences.map((sequence) =>
        sequence.completionTokenIds.map((id) => this.#logProbabilityOf(logProbabilities, id)),
      ),
    };
  }

  async doTrainStep(batch: TrainBatch): Promise<TrainStepResult> {
    this.#assertOpen();
    this.calls.push({ method: 'doTrainStep', batch });
    if (!this.capabilities.training) {
      throw new UnsupportedCapabilityError('This mock policy was created with training: false.', {
        component: 'MockPolicyModel',
        capability: 'training',
      });
    }
    batch.signal?.throwIfAborted();
    validateSampling(batch.temperature, 1);
    const started = performance.now();
    const temperature = batch.temperature;
    const logProbabilities = logSoftmax(this.#logits, temperature);
    const probabilities = logProbabilities.map(Math.exp);
    const entropy = -probabilities.reduce(
      (sum, p, index) => sum + p * (logProbabilities[index] as number),
      0,
    );
    const gradient = new Float64Array(this.#logits.length);
    let tokenCount = 0;
    let policyLossSum = 0;
    let clipped = 0;
    let klSum = 0;
    const { clipRatio } = batch.loss;
    for (const sequence of batch.sequences) {
      const length = sequence.completionTokenIds.length;
      if (sequence.oldLogProbs.length !== length || sequence.advantages.length !== length) {
        throw new ConfigError('oldLogProbs and advantages must have one entry per completion token.', {
          field: 'sequences',
        });
      }
      for (let position = 0; position < length; position += 1) {
        if ((sequence.lossMask?.[position] ?? 1) === 0) {
          continue;
        }
        const token = sequence.completionTokenIds[position] as number;
        const advantage = sequence.advantages[position] as number;
        const newLogProbability = this.#logProbabilityOf(logProbabilities, token);
        const oldLogProbability = sequence.oldLogProbs[position] as number;
        const ratio = Math.exp(newLogProbability - oldLogProbability);
        const clippedRatio = Math.min(Math.max(ratio, 1 - clipRatio), 1 + clipRatio);
        const unclippedObjective = ratio * advantage;
        const clippedObjective = clippedRatio * advantage;
        tokenCount += 1;
        klSum += oldLogProbability - newLogProbability;
        policyLossSum += -Math.min(unclippedObjective, clippedObjective);
        if (clippedObjective < unclippedObjective) {
          clipped += 1;
          continue; // The clipped branch is constant in the weights: no gradient.
        }
        // d(-ratio * A)/d(logit_j) = -ratio * A * (onehot_j - p_j) / temperature
        const scale = (-ratio * advantage) / temperature;
        for (let index = 0; index < gradient.length; index += 1) {
          const indicator = index === token ? 1 : 0;
          gradient[index] =
            (gradient[index] as number) + scale * (indicator - (probabilities[index] as number));
        }
      }
    }
    const denominator = Math.max(tokenCount, 1);
    let squaredNorm = 0;
    for (let index = 0; index < gradient.length; index += 1) {
      const value = (gradient[index] as number) / denominator;
      gradient[index] = value;
      squaredNorm += value * value;
    }
    const gradientNorm = Math.sqrt(squaredNorm);
    const scale = gradientNorm > 1 ? 1 / gradientNorm : 1;
    for (let index = 0; index < gradient.length; index += 1) {
      this.#logits[index] =
        (this.#logits[index] as number) - this.#learningRate * scale * (gradient[index] as number);
    }
    const policyLoss = policyLossSum / denominator;
    return {
      loss: policyLoss - batch.loss.entropyCoefficient * entropy,
      policyLoss,
      entropy,
      clipFraction: clipped / denominator,
      approximateKl: klSum / denominator,
      gradientNorm,
      tokenCount,
      durationMs: performance.now() - started,
    };
  }

  async doSave(directory: string): Promise<void> {
    this.#assertOpen();
    this.calls.push({ method: 'doSave', directory });
    await mkdir(directory, { recursive: true });
    await writeFile(
      join(directory, SAVE_FILE),
      JSON.stringify({ format: 'azr-mock-policy', version: 1, logits: Array.from(this.#logits) }),
    );
  }

  async doDispose(): Promise<void> {
    if (!this.#disposed) {
      this.calls.push({ method: 'doDispose' });
    }
    this.#disposed = true;
  }

  /** The settings this model was created with (for tests that build a twin). */
  get settings(): MockPolicyModelSettings {
    return this.#settings;
  }

  #assertOpen(): void {
    if (this.#disposed) {
      throw new ResourceClosedError({ resource: `MockPolicyModel ${this.modelId}` });
    }
  }

  #logProbabilityOf(logProbabilities: Float64Array, token: number): number {
    if (!Number.isInteger(token) || token < 0 || token >= logProbabilities.length) {
      throw new ConfigError(`Token id ${token} is outside the vocabulary.`, { field: 'tokenIds' });
    }
    return logProbabilities[token] as number;
  }

  #scripted(prompt: string, promptIndex: number, callIndex: number, request: GenerateRequest): Completion {
    const script = this.#script as MockCompletionScript;
    let text: string;
    if (typeof script === 'function') {
      text = script(prompt, { callIndex, promptIndex });
    } else {
      if (script.length === 0) {
        throw new ConfigError('The mock policy script is empty.', { field: 'script' });
      }
      text = script[this.#scriptIndex % script.length] as string;
      this.#scriptIndex += 1;
    }
    const logProbabilities = logSoftmax(this.#logits, request.temperature);
    const tokenIds: number[] = [];
    let finishReason: FinishReason = 'end-of-sequence';
    let generated = '';
    for (const token of [...this.tokenizer.encode(text), this.tokenizer.endOfSequenceTokenId]) {
      if (tokenIds.length >= request.maxTokens) {
        finishReason = 'length';
        break;
      }
      tokenIds.push(token);
      if (token === this.tokenizer.endOfSequenceTokenId) {
        break;
      }
      generated = this.tokenizer.decode(tokenIds);
      if (request.stop?.some((stop) => generated.includes(stop))) {
        finishReason = 'stop';
        break;
      }
    }
    return {
      text: this.tokenizer.decode(tokenIds),
      promptTokenIds: this.tokenizer.encode(prompt),
      tokenIds,
      logProbs: tokenIds.map((id) => logProbabilities[id] as number),
      finishReason,
    };
  }

  #sample(prompt: string, promptIndex: number, request: GenerateRequest): Completion {
    const logProbabilities = logSoftmax(this.#logits, request.temperature);
    // One stream per prompt, so a completion does not depend on the other prompts of the batch.
    const random = createSeededRandom((request.seed * 1_000_003 + promptIndex) % Number.MAX_SAFE_INTEGER);
    const tokenIds: number[] = [];
    const logProbs: number[] = [];
    const constraint = request.constraint;
    let state = constraint?.initialState(prompt);
    let finishReason: FinishReason = 'length';
    while (tokenIds.length < request.maxTokens) {
      let allowed: readonly number[] | undefined = constraint?.allowedTokenIds(state);
      if (allowed !== undefined && constraint?.isComplete(state)) {
        allowed = [...allowed, this.tokenizer.endOfSequenceTokenId];
      }
      if (allowed !== undefined && allowed.length === 0) {
        finishReason = 'constraint';
        break;
      }
      const token =
        request.greedy === true
          ? argMax(logProbabilities, allowed)
          : sampleToken(logProbabilities, allowed, request.topP, random.nextFloat());
      tokenIds.push(token);
      logProbs.push(logProbabilities[token] as number);
      if (token === this.tokenizer.endOfSequenceTokenId) {
        finishReason = 'end-of-sequence';
        break;
      }
      if (constraint !== undefined) {
        state = constraint.advance(state, token);
      }
      if (request.stop !== undefined && request.stop.length > 0) {
        const text = this.tokenizer.decode(tokenIds);
        if (request.stop.some((stop) => text.includes(stop))) {
          finishReason = 'stop';
          break;
        }
      }
    }
    return {
      text: this.tokenizer.decode(tokenIds),
      promptTokenIds: this.tokenizer.encode(prompt),
      tokenIds,
      logProbs,
      finishReason,
    };
  }
}

function validateSampling(temperature: number, topP: number): void {
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new ConfigError(`temperature must be a finite number > 0, got ${temperature}.`, {
      field: 'temperature',
    });
  }
  if (!(topP > 0 && topP <= 1)) {
    throw new ConfigError(`topP must be in (0, 1], got ${topP}.`, { field: 'topP' });
  }
}

function logSoftmax(logits: Float64Array, temperature: number): Float64Array {
  let maximum = Number.NEGATIVE_INFINITY;
  for (const value of logits) {
    maximum = Math.max(maximum, value / temperature);
  }
  let sum = 0;
  for (const value of logits) {
    sum += Math.exp(value / temperature - maximum);
  }
  const logSum = maximum + Math.log(sum);
  return logits.map((value) => value / temperature - logSum);
}

function argMax(logProbabilities: Float64Array, allowed: readonly number[] | undefined): number {
  const candidates = allowed ?? Array.from(logProbabilities.keys());
  let best = candidates[0] as number;
  for (const candidate of candidates) {
    if ((logProbabilities[candidate] as number) > (logProbabilities[best] as number)) {
      best = candidate;
    }
  }
  return best;
}

function sampleToken(
  logProbabilities: Float64Array,
  allowed: readonly number[] | undefined,
  topP: number,
  uniform: number,
): number {
  const candidates = (allowed ?? Array.from(logProbabilities.keys())).map((id) => ({
    id,
    probability: Math.exp(logProbabilities[id] as number),
  }));
  candidates.sort((left, right) => right.probability - left.probability || left.id - right.id);
  let kept = candidates.length;
  if (topP < 1) {
    const total = candidates.reduce((sum, candidate) => sum + candidate.probability, 0);
    let cumulative = 0;
    for (let index = 0; index < candidates.length; index += 1) {
      cumulative += (candidates[index] as { probability: number }).probability;
      if (cumulative >= topP * total) {
        kept = index + 1;
        break;
      }
    }
  }
  const nucleus = candidates.slice(0, kept);
  const total = nucleus.reduce((sum, candidate) => sum + candidate.probability, 0);
  let threshold = uniform * total;
  for (const candidate of nucleus) {
    threshold -= candidate.probability;
    if (threshold < 0) {
      return candidate.id;
    }
  }
  return (nucleus[nucleus.length - 1] as { id: number }).id;
}
