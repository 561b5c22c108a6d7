import { assertNumberInRange, DEFAULT_OPTIMIZER_SETTINGS, type OptimizerSettings } from '@azr/core/spec';
import type { LlamaConfig } from '../model/config.js';
import { writeModelDirectory } from '../model/directory.js';
import {
  type GenaiOnnxModelFolder,
  inspectModelFolder,
  inspectOnnxModelFile,
  type OnnxExportModelFolder,
} from '../model/model-folder.js';
import { checkLlamaWeights, type LlamaWeights } from '../model/weights.js';
import { DEFAULT_ONNX_ACTIVATION_MEMORY_BUDGET, microBatchLimit } from '../shared/batching.js';
import { writeGenerationConfig } from '../shared/generation-config.js';
import type { LlamaPolicyModel } from '../shared/llama-policy.js';
import { type LlamaModelSource, resolveLlamaModel } from '../shared/model-source.js';
import { type OptimizerState, readOptimizerState, writeOptimizerState } from '../shared/optimizer-state.js';
import { DecoderSession, readDecoderLayout } from './decoder-session.js';
import { createExportPolicy } from './export-policy.js';
import { toGraphLayout, toHuggingFaceLayout } from './layout.js';
import { buildLlamaGraph } from './llama-graph.js';
import { createPolicy } from './policy-parts.js';
import { loadOnnxRuntime, type OnnxRuntimeModule } from './runtime.js';
import { type OnnxSessionSettings, openSession } from './session.js';
import { createOnnxTrainer, type OnnxTrainer } from './trainer.js';

/**
 * Where the model of an onnx policy comes from: any Llama-family source (the SDK builds the graph from the
 * config and weights), or a decoder exported to ONNX by others in the Hugging Face key/value-cache layout
 * (generation only: the SDK does not own its weights).
 */
export type OnnxModelSource =
  | LlamaModelSource
  /** An exported decoder (`.onnx`, external data beside it) with `tokenizer.json` in the same folder. */
  | { readonly file: string };

/** Settings of {@link createOnnxPolicy}. */
export interface OnnxPolicySettings extends OnnxSessionSettings {
  /**
   * The model. A `directory` holding `config.json` and `model.safetensors` (or the shards
   * `model.safetensors.index.json` lists) is a Llama-family model the SDK builds a graph for; a directory holding an ONNX export instead (`genai_config.json`'s decoder,
   * `model.onnx`, `decoder_model_merged.onnx` or the only `.onnx` file) is loaded as that export.
   * `inspectModelFolder` (`@azr/backends`) says which a folder is.
   */
  readonly model: OnnxModelSource;
  /** Prompts decoded together in one batch. Default `16`. */
  readonly batchSize?: number;
  /**
   * Longest sequence of an imported export, when neither `genai_config.json` (`context_length`) nor
   * `config.json` (`max_position_embeddings`, `n_positions`) beside it says. Ignored for SDK-built graphs.
   */
  readonly maxSequenceLength?: number;
  /** Names the model in events. Default: the folder or file, or `preset:<name>`. */
  readonly modelId?: string;
  /** AdamW with global-norm clipping; defaults are `DEFAULT_OPTIMIZER_SETTINGS` (learning rate 1e-6). */
  readonly optimizer?: Partial<OptimizerSettings>;
  /**
   * Bytes of activations one training pass may hold, as `trainingMemoryPlan` (`@azr/backends`) counts them:
   * a bigger batch is split into micro-batches of sequences of similar length whose gradients are summed (the
   * same update, less memory). A sequence that alone passes the budget still trains, in a pass of its own.
   * Default `2**30` (1 GiB, {@link DEFAULT_ONNX_ACTIVATION_MEMORY_BUDGET}).
   */
  readonly activationMemoryBudget?: number;
  /**
   * @deprecated Use `activationMemoryBudget`, which counts the vocabulary, the width and the layers. The largest
   * `sequences x length^2` of one training pass (and its logits, `sequences x length x vocabulary`, at most
   * `2**24`); still honoured with that meaning when given alone. Giving both is a `ConfigError`.
   */
  readonly microBatchBudget?: number;
}

/**
 * A policy on onnxruntime-node. Generation: a key/value cache, batches of left-padded prompts (finished rows
 * leave the batch), seeded nucleus sampling, stop strings and constraints, per-token log probabilities. For a
 * Llama-family model the SDK writes both ONNX graphs itself from the config: the decoder, and a training graph
 * with the PPO-clip loss and the gradient of every weight (derived by hand for this architecture), so
 * `doTrainStep` trains on onnxruntime alone (AdamW in JavaScript, the rollout session rebuilt from the updated
 * weights). A decoder exported by others is run as it is and does not train.
 */
export async function createOnnxPolicy(settings: OnnxPolicySettings): Promise<LlamaPolicyModel> {
  const runtime = await loadOnnxRuntime();
  const batchSize = settings.batchSize ?? 16;
  assertNumberInRange('batchSize', batchSize, { minimum: 1, integer: true });
  const source = await resolveOnnxSource(settings.model);
  if (source.kind === 'export') return createExportPolicy(runtime, source.folder, settings, batchSize);
  return createLlamaPolicy(runtime, source.model, settings, batchSize);
}

/**
 * A Llama-family model the SDK writes both graphs for. The weights live once, in the graph layout: the trainer
 * updates these arrays, the rollout graph is built from them.
 */
async function createLlamaPolicy(
  runtime: OnnxRuntimeModule,
  model: LlamaModelSource,
  settings: OnnxPolicySettings,
  batchSize: number,
): Promise<LlamaPolicyModel> {
  const resolved = await resolveLlamaModel(model, settings.modelId);
  const { config, tokenizer, modelId, generationConfig } = resolved;
  const optimizer: OptimizerSettings = { ...DEFAULT_OPTIMIZER_SETTINGS, ...settings.optimizer };
  assertNumberInRange('optimizer.learningRate', optimizer.learningRate, { minimum: 0 });
  const microBatches = microBatchLimit(config, settings, DEFAULT_ONNX_ACTIVATION_MEMORY_BUDGET);
  let weights = toGraphLayout(resolved.weights);
  let decoder = await openLlamaSession(runtime, config, weights, settings);
  const savedState = 'directory' in model ? await readOptimizerState(model.directory) : undefined;
  let trainer: OnnxTrainer | undefined;
  let stale = false;
  const trainerFor = async (state: OptimizerState | undefined) =>
    createOnnxTrainer({
      runtime,
      config,
      weights,
      optimizer,
      session: settings,
      padding: tokenizer.paddingTokenId ?? tokenizer.endOfSequenceTokenId,
      microBatchLimit: microBatches,
      ...(state === undefined ? {} : { state }),
    });
  const refreshDecoder = async () => {
    const next = await openLlamaSession(runtime, config, weights, settings);
    const previous = decoder;
    decoder = next;
    await previous.session.release();
  };
  return createPolicy({
    runtime,
    provider: 'onnx',
    modelId,
    tokenizer,
    batchSize,
    config,
    maxSequenceLength: config.maxPositionEmbeddings,
    generationConfig,
    // Rebuilt from the updated weights when generation next needs it, so that several updates in a row (mini-batches)
    // pay for one rebuild.
    decoder: async () => {
      if (stale) {
        stale = false;
        await refreshDecoder();
      }
      return decoder;
    },
    current: () => decoder,
    async readWeights() {
      return toHuggingFaceLayout(weights);
    },
    async writeWeights(replacement) {
      const checked = checkLlamaWeights(config, replacement, undefined);
      const state = trainer?.state() ?? savedState;
      await trainer?.release();
      trainer = undefined;
      weights = toGraphLayout(checked);
      stale = false;
      await refreshDecoder();
      if (state !== undefined) trainer = await trainerFor(state);
    },
    async train(batch) {
      const started = performance.now();
      trainer ??= await trainerFor(savedState);
      const result = await trainer.step(batch);
      // Generation samples from the updated policy: its session is rebuilt from the same arrays before it runs.
      stale = true;
      return { ...result, durationMs: performance.now() - started };
    },
    async save(directory) {
      await writeModelDirectory(directory, { config, weights: toHuggingFaceLayout(weights), tokenizer });
      await writeGenerationConfig(directory, generationConfig);
      const state = trainer?.state() ?? savedState;
      if (state !== undefined) await writeOptimizerState(directory, state);
    },
    async release() {
      await trainer?.release();
    },
  });
}

type ResolvedOnnxSource =
  | { readonly kind: 'llama'; readonly model: LlamaModelSource }
  | { readonly kind: 'export'; readonly folder: GenaiOnnxModelFolder | OnnxExportModelFolder };

async function resolveOnnxSource(source: OnnxModelSource): Promise<ResolvedOnnxSource> {
  if ('file' in source) return { kind: 'export', folder: await inspectOnnxModelFile(source.file) };
  if (!('directory' in source)) return { kind: 'llama', model: source };
  const folder = await inspectModelFolder(source.directory);
  // One file or shards: readModelDirectory reads both.
  if (folder.kind === 'safetensors' || folder.kind === 'sharded-safetensors')
    return { kind: 'llama', model: source };
  // A genai-builder Llama runs as the export it is; the CLI imports its weights when it is to be trained.
  return { kind: 'export', folder };
}

/** The rollout session of graph-layout weights. */
async function openLlamaSession(
  runtime: OnnxRuntimeModule,
  config: LlamaConfig,
  weights: LlamaWeights,
  settings: OnnxSessionSettings,
): Promise<DecoderSession> {
  const session = await openSession(
    runtime,
    await buildLlamaGraph(config, weights, { layout: 'graph' }),
    settings,
  );
  return new DecoderSession(
    runtime,
    session,
    readDecoderLayout(session.inputMetadata, session.outputMetadata, undefined),
  );
}
