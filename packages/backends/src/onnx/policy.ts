import {
  assertNumberInRange,
  ConfigError,
  DEFAULT_OPTIMIZER_SETTINGS,
  type OptimizerSettings,
} from '@azr/core/spec';
import { writeModelDirectory } from '../model/directory.js';
import {
  type GenaiOnnxModelFolder,
  inspectModelFolder,
  inspectOnnxModelFile,
  type OnnxExportModelFolder,
} from '../model/model-folder.js';
import { checkLlamaWeights } from '../model/weights.js';
import { DEFAULT_ONNX_ACTIVATION_MEMORY_BUDGET, microBatchLimit } from '../shared/batching.js';
import { writeGenerationConfig } from '../shared/generation-config.js';
import type { LlamaPolicyModel } from '../shared/llama-policy.js';
import { type LlamaModelSource, resolveLlamaModel } from '../shared/model-source.js';
import { type OptimizerState, readOptimizerState, writeOptimizerState } from '../shared/optimizer-state.js';
import type { DecoderSession } from './decoder-session.js';
import { createExportPolicy } from './export-policy.js';
import { intoGraphLayout, toGraphLayout, toHuggingFaceLayout } from './layout.js';
import { createPolicy, DEFAULT_GENERATION_CACHE_BYTES, type GenerationBatchSize } from './policy-parts.js';
import {
  openRolloutSession,
  ROLLOUT_PRECISIONS,
  ROLLOUT_WEIGHTS,
  type RolloutPrecision,
  type RolloutWeights,
} from './rollout-session.js';
import { loadOnnxRuntime, type OnnxRuntimeModule } from './runtime.js';
import type { OnnxSessionSettings } from './session.js';
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
  /**
   * Prompts decoded together in one batch. Default: as many as fit in `generationCacheBytes` of key/value cache
   * (each row holding the request's longest prompt and `maxTokens` more positions), between 1 and 1,024: 16-odd
   * rows of a 135M model's 270-token prompts, hundreds of the tiny preset's short ones.
   */
  readonly batchSize?: number;
  /**
   * Whether a prompt waiting for a row of the generation batch takes the row of a completion that ended, so that
   * the batch stays full while prompts wait (default `true`), or the prompts run in batches one after the other,
   * each until its longest completion ends. The completions are the same either way. In the SDK's graphs a
   * joining prompt fills its row's cache from its start, so joining holds no more cache than batches (a row:
   * the request's longest prompt and `maxTokens`). In an export that returns its whole cache, the rows share
   * their positions: a joining prompt ends where the others' filled positions end, and a row's buffers hold up to
   * twice `maxTokens` and a quarter of it more past the longest prompt (see `generationRows`). Exports without an
   * attention mask or position ids always run in batches.
   */
  readonly joinPrompts?: boolean;
  /**
   * The key/value cache one generation batch may hold when `batchSize` is not given, in bytes. Default `2**28`
   * (256 MiB).
   */
  readonly generationCacheBytes?: number;
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
  /**
   * How the rollout session holds the weights of a Llama-family model: `packed` (default; its own copy, packed
   * for onnxruntime's kernels, rebuilt after each update; faster decoding) or `shared` (the trainer's arrays,
   * fed on every run; no second copy, slower decoding). See {@link RolloutWeights}.
   */
  readonly rolloutWeights?: RolloutWeights;
  /**
   * The precision of a packed rollout session's products: `float32` (default, the learner's own) or `int8`
   * (block-wise 8-bit weights: a quarter of the bytes a decoded token reads). With `int8`, generation's log
   * probabilities differ a little from the learner's, so the policy reports `rolloutLogProbs: 'approximate'`
   * and its update takes the PPO ratio against the learner's float32 log probabilities and weighs each token by
   * `min(pi_float32 / pi_int8, importanceTruncation)` (truncated importance sampling). `doComputeLogProbs`
   * always scores with the float32 weights. See {@link RolloutPrecision}.
   */
  readonly rolloutPrecision?: RolloutPrecision;
  /** The cap of the importance weight with `rolloutPrecision: 'int8'`, at least 1. Default 2. */
  readonly importanceTruncation?: number;
  /**
   * Gradient checkpointing per layer: the training graph computes each layer's activations again in its
   * backward pass instead of keeping every layer's from the forward pass. A pass then holds one layer's
   * activations (and every layer's input), so the activation budget fits longer or more sequences per pass,
   * for about a third more arithmetic per pass. The same gradients. Default false.
   */
  readonly recomputeActivations?: boolean;
  /**
   * Run all the micro-batches of a training step in one onnxruntime call (an ONNX `Loop` over them that sums
   * their gradients) rather than one call per micro-batch. onnxruntime-node copies every output of a call into
   * new JavaScript memory, a copy of every gradient each call; in one call, once a step (sequences without
   * advantage still run a forward-only call per micro-batch). The price is memory: while the loop runs,
   * onnxruntime holds a micro-batch's incoming and outgoing gradient sums, so the peak holds two to three sets of
   * gradients (each the size of the weights in float32) more than one call per micro-batch, in the execution
   * provider's memory (a GPU's, with `cuda`); and a step's abort `signal` is read once before the call rather
   * than between micro-batches. The same gradients. Default true, unless `recomputeActivations` is set (it asks
   * for less memory at the price of time, and so does one call per micro-batch).
   */
  readonly microBatchLoop?: boolean;
}

/** The cap of the importance weight of int8 rollouts (`importanceTruncation`), as in truncated importance sampling's usual setting. */
export const DEFAULT_IMPORTANCE_TRUNCATION = 2;

/**
 * A policy on onnxruntime-node. Generation: a key/value cache, batches of left-padded prompts that waiting
 * prompts join as completions end (see `joinPrompts`), seeded nucleus sampling, stop strings and constraints,
 * per-token log probabilities. For a Llama-family model the SDK writes both ONNX graphs itself from the config:
 * the decoder, and a training graph with the PPO-clip loss and the gradient of every weight (derived by hand for
 * this architecture), so `doTrainStep` trains on onnxruntime alone (AdamW in JavaScript, on the one set of arrays the training graph
 * reads as inputs). The rollout graph appends to its key/value cache in place and holds the weights as
 * `rolloutWeights` says; neither graph stores weights in its protobuf, so no model size meets protobuf's 2 GB
 * cap. A decoder exported by others is run as it is and does not train.
 */
export async function createOnnxPolicy(settings: OnnxPolicySettings): Promise<LlamaPolicyModel> {
  const runtime = await loadOnnxRuntime();
  if (settings.batchSize !== undefined)
    assertNumberInRange('batchSize', settings.batchSize, { minimum: 1, integer: true });
  const cacheBytes = settings.generationCacheBytes ?? DEFAULT_GENERATION_CACHE_BYTES;
  assertNumberInRange('generationCacheBytes', cacheBytes, { minimum: 1 });
  const join = settings.joinPrompts ?? true;
  if (typeof join !== 'boolean')
    throw new ConfigError(`joinPrompts must be true or false, got ${String(join)}.`, {
      field: 'joinPrompts',
    });
  const batchSize: GenerationBatchSize =
    settings.batchSize === undefined ? { cacheBytes, join } : { rows: settings.batchSize, join };
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
  batchSize: GenerationBatchSize,
): Promise<LlamaPolicyModel> {
  const resolved = await resolveLlamaModel(model, settings.modelId);
  const { config, tokenizer, modelId, generationConfig } = resolved;
  const optimizer: OptimizerSettings = { ...DEFAULT_OPTIMIZER_SETTINGS, ...settings.optimizer };
  assertNumberInRange('optimizer.learningRate', optimizer.learningRate, { minimum: 0 });
  // The training graph computes logits at the completions' positions only.
  const recomputeActivations = settings.recomputeActivations ?? false;
  if (typeof recomputeActivations !== 'boolean')
    throw new ConfigError(
      `recomputeActivations must be true or false, got ${String(recomputeActivations)}.`,
      {
        field: 'recomputeActivations',
      },
    );
  const microBatchLoop = settings.microBatchLoop ?? !recomputeActivations;
  if (typeof microBatchLoop !== 'boolean')
    throw new ConfigError(`microBatchLoop must be true or false, got ${String(microBatchLoop)}.`, {
      field: 'microBatchLoop',
    });
  const microBatches = microBatchLimit(
    config,
    settings,
    DEFAULT_ONNX_ACTIVATION_MEMORY_BUDGET,
    'completions',
    recomputeActivations,
  );
  // Weights read from disk or drawn for a preset belong to no one else: they are moved into the graph layout,
  // not copied. The caller's own weights are copied.
  let weights = 'weights' in model ? toGraphLayout(resolved.weights) : intoGraphLayout(resolved.weights);
  const rolloutWeights = settings.rolloutWeights ?? 'packed';
  if (!ROLLOUT_WEIGHTS.includes(rolloutWeights))
    throw new ConfigError(
      `rolloutWeights must be one of ${ROLLOUT_WEIGHTS.join(', ')}, got "${rolloutWeights}".`,
      {
        field: 'rolloutWeights',
        allowed: [...ROLLOUT_WEIGHTS],
      },
    );
  const rolloutPrecision = settings.rolloutPrecision ?? 'float32';
  if (!ROLLOUT_PRECISIONS.includes(rolloutPrecision))
    throw new ConfigError(
      `rolloutPrecision must be one of ${ROLLOUT_PRECISIONS.join(', ')}, got "${rolloutPrecision}".`,
      { field: 'rolloutPrecision', allowed: [...ROLLOUT_PRECISIONS] },
    );
  if (rolloutPrecision !== 'float32' && rolloutWeights !== 'packed')
    throw new ConfigError(
      `rolloutPrecision "${rolloutPrecision}" needs rolloutWeights "packed": a shared rollout session reads the learner's float32 arrays as they are.`,
      { field: 'rolloutPrecision' },
    );
  const importanceTruncation = settings.importanceTruncation ?? DEFAULT_IMPORTANCE_TRUNCATION;
  assertNumberInRange('importanceTruncation', importanceTruncation, { minimum: 1 });
  const approximate = rolloutPrecision !== 'float32';
  const openDecoder = () =>
    openRolloutSession(runtime, config, () => weights, settings, rolloutWeights, rolloutPrecision);
  // With int8 rollouts, sequences are scored with the learner's float32 weights: a session that reads the
  // trainer's arrays as inputs (no copy, never stale), opened when first needed.
  let scorer: DecoderSession | undefined;
  // A packed session holds its own copy of the weights. It is released before an update (it would be stale
  // after it, and it is not held during the update's peak) and opened again when generation next needs it, so
  // several updates in a row (mini-batches) pay for one rebuild. A shared one reads the updated arrays as they are.
  let decoder: DecoderSession | undefined = await openDecoder();
  const releaseStaleDecoder = async () => {
    if (rolloutWeights !== 'packed' || decoder === undefined) return;
    const stale = decoder;
    decoder = undefined;
    await stale.session.release();
  };
  const savedState = 'directory' in model ? await readOptimizerState(model.directory) : undefined;
  let trainer: OnnxTrainer | undefined;
  const trainerFor = async (state: OptimizerState | undefined) =>
    createOnnxTrainer({
      runtime,
      config,
      weights,
      optimizer,
      session: settings,
      padding: tokenizer.paddingTokenId ?? tokenizer.endOfSequenceTokenId,
      microBatchLimit: microBatches,
      recomputeActivations,
      microBatchLoop,
      ...(approximate ? { importanceCorrection: { cap: importanceTruncation } } : {}),
      ...(state === undefined ? {} : { state }),
    });
  return createPolicy({
    runtime,
    provider: 'onnx',
    modelId,
    tokenizer,
    batchSize,
    config,
    maxSequenceLength: config.maxPositionEmbeddings,
    generationConfig,
    decoder: async () => {
      decoder ??= await openDecoder();
      return decoder;
    },
    ...(approximate
      ? {
          rolloutLogProbs: 'approximate' as const,
          scorer: async () => {
            scorer ??= await openRolloutSession(runtime, config, () => weights, settings, 'shared');
            return scorer;
          },
        }
      : {}),
    async releaseDecoder() {
      const open = decoder;
      decoder = undefined;
      await open?.session.release();
      const scoring = scorer;
      scorer = undefined;
      await scoring?.session.release();
    },
    async readWeights() {
      return toHuggingFaceLayout(weights);
    },
    async writeWeights(replacement) {
      const checked = checkLlamaWeights(config, replacement, undefined);
      const state = trainer?.state() ?? savedState;
      await trainer?.release();
      trainer = undefined;
      await releaseStaleDecoder();
      weights = toGraphLayout(checked);
      if (state !== undefined) trainer = await trainerFor(state);
    },
    async train(batch) {
      const started = performance.now();
      // Generation samples from the updated policy: a packed session is opened again from the updated arrays.
      await releaseStaleDecoder();
      trainer ??= await trainerFor(savedState);
      const result = await trainer.step(batch);
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
