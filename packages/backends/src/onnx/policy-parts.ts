import {
  assertNumberInRange,
  type Completion,
  type GenerateRequest,
  type GenerateResult,
  type LogProbsRequest,
  type LogProbsResult,
  type PolicyCapabilities,
  ResourceClosedError,
  type TokenizerV1,
  type TrainBatch,
  type TrainStepResult,
  UnsupportedCapabilityError,
} from '@azr/core/spec';
import type { LlamaConfig } from '../model/config.js';
import type { LlamaWeights } from '../model/weights.js';
import type { GenerationConfig } from '../shared/generation-config.js';
import type { LlamaPolicyModel } from '../shared/llama-policy.js';
import {
  assertGenerateRequest,
  ContextClamp,
  encodePrompt,
  type GenerationBounds,
} from '../shared/sampling.js';
import type { DecoderSession } from './decoder-session.js';
import { cacheSlack, computeLogProbs, generateCompletions, joinsMidwayIn } from './generation.js';
import type { OnnxRuntimeModule } from './runtime.js';

/**
 * Rows of one generation batch: a fixed number, or a key/value cache budget in bytes; and whether waiting prompts
 * join the batch as its completions end (`joinPrompts`).
 */
export type GenerationBatchSize = ({ readonly rows: number } | { readonly cacheBytes: number }) & {
  readonly join: boolean;
};

/** The default key/value cache budget of a generation batch, when no `batchSize` is given: 256 MiB. */
export const DEFAULT_GENERATION_CACHE_BYTES = 2 ** 28;

/** Most rows of a generation batch under a cache budget (a tiny model's rows cost little cache). */
const MOST_ROWS = 1024;

/**
 * The rows of one generation batch: the fixed number, or as many rows as fit in the budget when each holds its
 * prompt and `maxTokens` new positions of cache (the longest prompt of the request counts for all). When the
 * request has more prompts than that and they join the batch as rows finish (`generateCompletions`) in a graph
 * that returns its whole cache (an export), a row's cache holds up to `2 x maxTokens` and the slack more than
 * that, and the rows are counted at that. Between 1 and 1,024.
 */
export function generationRows(
  batchSize: GenerationBatchSize,
  decoder: DecoderSession,
  tokenizer: TokenizerV1,
  request: GenerateRequest,
  maxSequenceLength: number,
): number {
  if ('rows' in batchSize) return batchSize.rows;
  const longestPrompt = Math.max(...request.prompts.map((prompt) => encodePrompt(tokenizer, prompt).length));
  const rowsAt = (positions: number) =>
    Math.max(
      1,
      Math.min(
        MOST_ROWS,
        Math.floor(batchSize.cacheBytes / Math.max(1, decoder.cacheBytesPerPosition() * positions)),
      ),
    );
  const maxTokens = Math.min(request.maxTokens, Math.max(1, maxSequenceLength - 1));
  const alone = rowsAt(Math.min(maxSequenceLength, longestPrompt + request.maxTokens));
  // The SDK's graphs write each row at its own position: a joining prompt needs no more cache than in batches.
  if (
    request.prompts.length <= alone ||
    !batchSize.join ||
    !joinsMidwayIn(decoder) ||
    decoder.layout.cacheMode === 'append'
  )
    return alone;
  return rowsAt(longestPrompt + 2 * maxTokens + cacheSlack(maxTokens));
}

/**
 * What differs between an onnx policy of a Llama-family model and one of an imported export: where its session
 * comes from, and whether and how it trains, saves and hands out its weights. {@link createPolicy} builds the
 * contract on top of them.
 */
export interface PolicyParts {
  readonly runtime: OnnxRuntimeModule;
  readonly provider: string;
  readonly modelId: string;
  readonly tokenizer: TokenizerV1;
  /** Rows of one generation batch: a number, or as many as fit in that many bytes of key/value cache. */
  readonly batchSize: GenerationBatchSize;
  readonly config: LlamaConfig | undefined;
  readonly maxSequenceLength: number;
  /** The folder's `generation_config.json`: its end-of-sequence ids end completions too. */
  readonly generationConfig: GenerationConfig | undefined;
  /** The session to run now (opened again first when the weights changed since). */
  decoder(): Promise<DecoderSession>;
  /**
   * The session that scores sequences with the learner's weights (`doComputeLogProbs`), when generation runs on
   * other ones (int8 rollouts). Default: {@link decoder}.
   */
  scorer?(): Promise<DecoderSession>;
  /** Whether generation's log probabilities are the learner's (`exact`, default) or close to them. */
  readonly rolloutLogProbs?: 'exact' | 'approximate';
  /** Releases the session, when one is open. */
  releaseDecoder(): Promise<void>;
  readWeights(): Promise<LlamaWeights>;
  writeWeights(weights: LlamaWeights): Promise<void>;
  /** One policy-gradient update; absent for exports, which do not train. */
  train?(batch: TrainBatch): Promise<TrainStepResult>;
  save(directory: string): Promise<void>;
  release?(): Promise<void>;
}

/** The policy contract over a model's parts: generation, scoring, and the state checks every method makes. */
export function createPolicy(parts: PolicyParts): LlamaPolicyModel {
  const { tokenizer, batchSize, maxSequenceLength } = parts;
  const bounds: GenerationBounds = {
    clamp: new ContextClamp(parts.modelId, maxSequenceLength),
    stopTokenIds: new Set(parts.generationConfig?.endOfSequenceTokenIds),
  };
  let disposed = false;
  const assertOpen = () => {
    if (disposed) throw new ResourceClosedError({ resource: `onnx policy ${parts.modelId}` });
  };
  const capabilities: PolicyCapabilities = {
    training: parts.train !== undefined,
    constrainedDecoding: true,
    maxSequenceLength,
    ...(parts.rolloutLogProbs === undefined ? {} : { rolloutLogProbs: parts.rolloutLogProbs }),
  };

  return {
    specificationVersion: 'v1',
    provider: parts.provider,
    modelId: parts.modelId,
    config: parts.config,
    ...(parts.generationConfig === undefined ? {} : { generationConfig: parts.generationConfig }),
    capabilities,
    tokenizer,
    async doGenerate(request: GenerateRequest): Promise<GenerateResult> {
      assertOpen();
      request.signal?.throwIfAborted();
      assertGenerateRequest(request);
      const started = performance.now();
      const completions: Completion[] = [];
      const prompts = request.prompts.map((prompt, index) => ({ prompt, index }));
      if (prompts.length > 0) {
        const decoder = await parts.decoder();
        const rows = generationRows(batchSize, decoder, tokenizer, request, maxSequenceLength);
        completions.push(
          ...(await generateCompletions(decoder, tokenizer, bounds, prompts, request, rows, batchSize.join)),
        );
      }
      return { completions, durationMs: performance.now() - started };
    },
    async doComputeLogProbs(request: LogProbsRequest): Promise<LogProbsResult> {
      assertOpen();
      assertNumberInRange('temperature', request.temperature, { minimum: Number.MIN_VALUE });
      return computeLogProbs(
        await (parts.scorer === undefined ? parts.decoder() : parts.scorer()),
        maxSequenceLength,
        request,
      );
    },
    async doTrainStep(batch: TrainBatch): Promise<TrainStepResult> {
      assertOpen();
      batch.signal?.throwIfAborted();
      if (parts.train === undefined)
        throw new UnsupportedCapabilityError(
          `${parts.modelId} is an imported ONNX export: the SDK runs it but does not own its weights, so it cannot train it. Convert it to a model folder (config.json, model.safetensors) to train.`,
          { component: 'onnx policy', capability: 'training' },
        );
      return parts.train(batch);
    },
    async doSave(directory: string): Promise<void> {
      assertOpen();
      await parts.save(directory);
    },
    async readWeights() {
      assertOpen();
      return parts.readWeights();
    },
    async writeWeights(weights: LlamaWeights) {
      assertOpen();
      await parts.writeWeights(weights);
    },
    async doDispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      await parts.release?.();
      await parts.releaseDecoder();
    },
  };
}
