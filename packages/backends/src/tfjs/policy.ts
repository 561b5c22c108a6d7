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
  type TrainBatch,
  type TrainStepResult,
} from '@azr/core/spec';
import { writeModelDirectory } from '../model/directory.js';
import { checkLlamaWeights, type LlamaWeights } from '../model/weights.js';
import { DEFAULT_TFJS_ACTIVATION_MEMORY_BUDGET, microBatchLimit } from '../shared/batching.js';
import { writeGenerationConfig } from '../shared/generation-config.js';
import type { LlamaPolicyModel } from '../shared/llama-policy.js';
import { type LlamaModelSource, resolveLlamaModel } from '../shared/model-source.js';
import { readOptimizerState, writeOptimizerState } from '../shared/optimizer-state.js';
import { assertGenerateRequest, ContextClamp, type GenerationBounds } from '../shared/sampling.js';
import { TfjsAdamW } from './adamw.js';
import { generateOne } from './generation.js';
import type { TfjsLlamaWeights } from './llama-forward.js';
import { initializeTfjs, type TfjsBackendName } from './runtime.js';
import { computeLogProbs, type TfjsTrainingModel, trainStep } from './training-step.js';
import { assignVariables, createVariables, readVariables } from './variables.js';

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
   * Bytes of activations one forward and backward pass may hold, as `trainingMemoryPlan` (`@azr/backends`)
   * counts them for the onnx training graph: a train step or scoring call over more is split into
   * micro-batches of sequences of similar length whose gradients are summed. A sequence that alone passes the
   * budget still runs, in a pass of its own. Default `2**28` (256 MiB,
   * {@link DEFAULT_TFJS_ACTIVATION_MEMORY_BUDGET}): TensorFlow.js's tape holds more than that count, and this
   * keeps the wasm backend within its memory on the tiny preset (the benchmark batch, 16 x 128, in one pass; a
   * sequence of 1,024 tokens alone).
   */
  readonly activationMemoryBudget?: number;
  /**
   * @deprecated Use `activationMemoryBudget`, which counts the vocabulary, the width and the layers. The largest
   * `sequences x length^2` of one pass (and its logits, `sequences x length x vocabulary`, at most `2**24`);
   * still honoured with that meaning when given alone. Giving both is a `ConfigError`.
   */
  readonly microBatchBudget?: number;
}

/**
 * A Llama-family policy on TensorFlow.js that generates (with a key/value cache, seeded sampling, top-p, stop
 * strings, constraints) and trains (PPO-clip, token mean, optional entropy bonus, AdamW, global-norm
 * clipping). Saved as a Hugging Face style folder plus the optimizer state; `createTfjsPolicy({ model:
 * { directory } })` loads it back.
 */
export async function createTfjsPolicy(settings: TfjsPolicySettings): Promise<LlamaPolicyModel> {
  const { tf } = await initializeTfjs({ backend: settings.backend ?? 'auto' });
  const optimizerSettings: OptimizerSettings = { ...DEFAULT_OPTIMIZER_SETTINGS, ...settings.optimizer };
  assertNumberInRange('optimizer.learningRate', optimizerSettings.learningRate, { minimum: 0 });
  const source = settings.model;
  const { config, weights, tokenizer, modelId, generationConfig } = await resolveLlamaModel(
    source,
    settings.modelId,
  );
  const microBatches = microBatchLimit(config, settings, DEFAULT_TFJS_ACTIVATION_MEMORY_BUDGET);
  const bounds: GenerationBounds = {
    clamp: new ContextClamp(modelId, config.maxPositionEmbeddings),
    stopTokenIds: new Set(generationConfig?.endOfSequenceTokenIds ?? []),
  };
  const variables = createVariables(tf, weights);
  const saved = 'directory' in source ? await readOptimizerState(source.directory) : undefined;
  const optimizer = new TfjsAdamW(tf, optimizerSettings, variables, saved);
  const view: TfjsLlamaWeights = { tensors: variables, dispose: () => undefined };
  const model: TfjsTrainingModel = {
    tf,
    config,
    view,
    variables,
    padding: tokenizer.paddingTokenId ?? tokenizer.endOfSequenceTokenId,
    microBatchLimit: microBatches,
  };
  const readWeights = () => readVariables(tf, variables, weights);
  let disposed = false;
  const assertOpen = () => {
    if (disposed) throw new ResourceClosedError({ resource: `tfjs policy ${modelId}` });
  };
  const capabilities: PolicyCapabilities = {
    training: true,
    constrainedDecoding: true,
    maxSequenceLength: config.maxPositionEmbeddings,
  };

  return {
    specificationVersion: 'v1',
    provider: 'tfjs',
    modelId,
    config,
    ...(generationConfig === undefined ? {} : { generationConfig }),
    capabilities,
    tokenizer,
    async doGenerate(request: GenerateRequest): Promise<GenerateResult> {
      assertOpen();
      request.signal?.throwIfAborted();
      assertGenerateRequest(request);
      const started = performance.now();
      const completions: Completion[] = [];
      for (const [index, prompt] of request.prompts.entries())
        completions.push(await generateOne(tf, config, view, tokenizer, bounds, prompt, index, request));
      return { completions, durationMs: performance.now() - started };
    },
    async doComputeLogProbs(request: LogProbsRequest): Promise<LogProbsResult> {
      assertOpen();
      assertNumberInRange('temperature', request.temperature, { minimum: Number.MIN_VALUE });
      return computeLogProbs(model, request);
    },
    async doTrainStep(batch: TrainBatch): Promise<TrainStepResult> {
      assertOpen();
      batch.signal?.throwIfAborted();
      return trainStep(model, optimizer, optimizerSettings.maxGradientNorm, batch);
    },
    async doSave(directory: string): Promise<void> {
      assertOpen();
      const state = await optimizer.state();
      await writeModelDirectory(directory, { config, weights: await readWeights(), tokenizer });
      await writeOptimizerState(directory, state);
      await writeGenerationConfig(directory, generationConfig);
    },
    readWeights: async () => {
      assertOpen();
      return readWeights();
    },
    async writeWeights(replacement: LlamaWeights): Promise<void> {
      assertOpen();
      checkLlamaWeights(config, replacement, undefined);
      assignVariables(tf, variables, replacement);
    },
    async doDispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      for (const variable of variables.values()) variable.dispose();
      optimizer.dispose();
    },
  };
}
