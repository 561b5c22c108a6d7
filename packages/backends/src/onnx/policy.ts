import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  assertNumberInRange,
  type Completion,
  DEFAULT_OPTIMIZER_SETTINGS,
  type GenerateRequest,
  type GenerateResult,
  type LogProbsRequest,
  type LogProbsResult,
  ModelFormatError,
  type OptimizerSettings,
  type PolicyCapabilities,
  ResourceClosedError,
  type TokenizerV1,
  type TrainBatch,
  type TrainStepResult,
  UnsupportedCapabilityError,
} from '@azr/core';
import type { LlamaConfig } from '../model/config.js';
import { writeModelDirectory } from '../model/directory.js';
import {
  type GenaiOnnxModelFolder,
  inspectModelFolder,
  inspectOnnxModelFile,
  MODEL_FOLDER_FILES,
  type OnnxExportModelFolder,
  readJsonIfPresent,
  shardedCheckpointError,
} from '../model/model-folder.js';
import { loadHuggingFaceTokenizer } from '../model/tokenizer.js';
import { checkLlamaWeights, type LlamaWeights } from '../model/weights.js';
import type { LlamaPolicyModel } from '../shared/llama-policy.js';
import { type LlamaModelSource, resolveLlamaModel } from '../shared/model-source.js';
import { type OptimizerState, readOptimizerState, writeOptimizerState } from '../shared/optimizer-state.js';
import {
  assertFitsContext,
  assertGenerateRequest,
  CompletionDecoder,
  encodePrompt,
  temperedLogSoftmax,
} from '../shared/sampling.js';
import { type DecoderCache, DecoderSession, readDecoderLayout } from './decoder-session.js';
import { toGraphLayout, toHuggingFaceLayout } from './layout.js';
import { buildLlamaGraph } from './llama-graph.js';
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
   * The model. A `directory` holding `config.json` and `model.safetensors` is a Llama-family model the SDK
   * builds a graph for; a directory holding an ONNX export instead (`genai_config.json`'s decoder,
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
   * Largest `sequences x length^2` of one training pass: bigger batches are split into micro-batches whose
   * gradients are summed. Default `2**22`.
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
  const resolved = await resolveLlamaModel(source.model, settings.modelId);
  const { config, tokenizer, modelId } = resolved;
  const optimizer: OptimizerSettings = { ...DEFAULT_OPTIMIZER_SETTINGS, ...settings.optimizer };
  assertNumberInRange('optimizer.learningRate', optimizer.learningRate, { minimum: 0 });
  const microBatchBudget = settings.microBatchBudget ?? 2 ** 22;
  assertNumberInRange('microBatchBudget', microBatchBudget, { minimum: 1 });
  // The weights live once, in the graph layout: the trainer updates these arrays, the rollout graph is built
  // from them.
  let weights = toGraphLayout(resolved.weights);
  let decoder = await openLlamaSession(runtime, config, weights, settings);
  const savedState =
    'directory' in source.model ? await readOptimizerState(source.model.directory) : undefined;
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
      microBatchBudget,
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
  if (folder.kind === 'safetensors') return { kind: 'llama', model: source };
  if (folder.kind === 'sharded-safetensors') throw shardedCheckpointError(folder);
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

async function createExportPolicy(
  runtime: OnnxRuntimeModule,
  folder: GenaiOnnxModelFolder | OnnxExportModelFolder,
  settings: OnnxPolicySettings,
  batchSize: number,
): Promise<LlamaPolicyModel> {
  const { directory, modelFile: file } = folder;
  const tokenizer = await loadHuggingFaceTokenizer(directory);
  const genai = (await readJsonIfPresent(join(directory, MODEL_FOLDER_FILES.genaiConfig)))?.model as
    | { context_length?: unknown }
    | undefined;
  const hub = await readJsonIfPresent(join(directory, MODEL_FOLDER_FILES.config));
  const declared = [
    settings.maxSequenceLength,
    genai?.context_length,
    hub?.max_position_embeddings,
    hub?.n_positions,
  ].find((value) => typeof value === 'number' && Number.isInteger(value) && value > 0) as number | undefined;
  if (declared === undefined)
    throw new ModelFormatError(
      `${directory} does not say how long a sequence the model takes; set maxSequenceLength.`,
      { path: directory },
    );
  const session = await openSession(runtime, file, settings);
  const decoder = new DecoderSession(
    runtime,
    session,
    readDecoderLayout(session.inputMetadata, session.outputMetadata, file),
  );
  if (tokenizer.vocabularySize > decoder.layout.vocabularySize)
    throw new ModelFormatError(
      `The tokenizer has ${tokenizer.vocabularySize} tokens, the model's logits ${decoder.layout.vocabularySize}.`,
      { path: file },
    );
  const refuse = (capability: string) =>
    new UnsupportedCapabilityError(
      `${file} is an imported ONNX export: the SDK runs it but does not own its weights (${capability}).`,
      { component: 'onnx policy', capability },
    );
  return createPolicy({
    runtime,
    provider: 'onnx',
    modelId: settings.modelId ?? file,
    tokenizer,
    batchSize,
    config: undefined,
    maxSequenceLength: declared,
    decoder: async () => decoder,
    current: () => decoder,
    readWeights: () => Promise.reject(refuse('readWeights')),
    writeWeights: () => Promise.reject(refuse('writeWeights')),
    async save(target) {
      // The export is the model: its folder (graph, external data, tokenizer, configs) is copied as it is.
      await mkdir(target, { recursive: true });
      for (const entry of await readdir(directory, { withFileTypes: true }))
        if (entry.isFile()) await copyFile(join(directory, entry.name), join(target, entry.name));
      // The copy must be found as the same decoder: genai_config.json names it, or it is model.onnx.
      if (basename(file) !== 'model.onnx' && folder.genaiConfigFile === undefined)
        await copyFile(file, join(target, 'model.onnx'));
    },
  });
}

interface PolicyParts {
  readonly runtime: OnnxRuntimeModule;
  readonly provider: string;
  readonly modelId: string;
  readonly tokenizer: TokenizerV1;
  readonly batchSize: number;
  readonly config: LlamaConfig | undefined;
  readonly maxSequenceLength: number;
  /** The session to run now (rebuilt first when the weights changed since). */
  decoder(): Promise<DecoderSession>;
  /** The session as it is, for releasing it. */
  current(): DecoderSession;
  readWeights(): Promise<LlamaWeights>;
  writeWeights(weights: LlamaWeights): Promise<void>;
  /** One policy-gradient update; absent for exports, which do not train. */
  train?(batch: TrainBatch): Promise<TrainStepResult>;
  save(directory: string): Promise<void>;
  release?(): Promise<void>;
}

function createPolicy(parts: PolicyParts): LlamaPolicyModel {
  const { tokenizer, batchSize, maxSequenceLength } = parts;
  const padding = tokenizer.paddingTokenId ?? tokenizer.endOfSequenceTokenId;
  let disposed = false;
  const assertOpen = () => {
    if (disposed) throw new ResourceClosedError({ resource: `onnx policy ${parts.modelId}` });
  };
  const capabilities: PolicyCapabilities = {
    training: parts.train !== undefined,
    constrainedDecoding: true,
    maxSequenceLength,
  };

  async function generateBatch(
    prompts: readonly { prompt: string; index: number }[],
    request: GenerateRequest,
  ): Promise<Completion[]> {
    const decoder = await parts.decoder();
    const decoders = prompts.map(({ prompt, index }) => {
      const ids = encodePrompt(tokenizer, prompt);
      assertFitsContext(ids.length, request.maxTokens, maxSequenceLength);
      return new CompletionDecoder(tokenizer, request, prompt, index, ids);
    });
    // Rows with the same prompt (the answers to one task) share its prefill: the prompt runs once, and the
    // cache row it leaves is copied to each of them before the second token.
    const prefillOf = new Map<string, number>();
    const prefilled: CompletionDecoder[] = [];
    let cacheRowOf = decoders.map((row) => {
      const key = row.promptTokenIds.join(',');
      let cacheRow = prefillOf.get(key);
      if (cacheRow === undefined) {
        cacheRow = prefilled.push(row) - 1;
        prefillOf.set(key, cacheRow);
      }
      return cacheRow;
    });
    // Left padding: every row's last prompt token sits at the same position, so one run serves them all.
    const width = Math.max(...prefilled.map((row) => row.promptTokenIds.length));
    let active = decoders.map((_, row) => row);
    let masks: number[][] = prefilled.map((row) => {
      const pad = width - row.promptTokenIds.length;
      return Array.from({ length: width }, (_, position) => (position < pad ? 0 : 1));
    });
    const nextPositions = decoders.map((row) => row.promptTokenIds.length);
    let tokenIds: number[][] = prefilled.map((row) => [
      ...new Array<number>(width - row.promptTokenIds.length).fill(padding),
      ...row.promptTokenIds,
    ]);
    let positionIds = prefilled.map((row) => {
      const pad = width - row.promptTokenIds.length;
      return Array.from({ length: width }, (_, position) => Math.max(0, position - pad));
    });
    let cache: DecoderCache | undefined;
    while (active.length > 0) {
      request.signal?.throwIfAborted();
      const result = await decoder.run({
        tokenIds,
        attentionMask: masks,
        positionIds,
        cache,
        logitsToKeep: 1,
      });
      cache = result.cache;
      const last = result.logits.sequenceLength - 1;
      const chosen = active.map((row, position) =>
        (decoders[row] as CompletionDecoder).next(result.logits.row(cacheRowOf[position] as number, last)),
      );
      const kept = active.flatMap((row, position) =>
        (decoders[row] as CompletionDecoder).finished ? [] : [position],
      );
      if (kept.length === 0) break;
      const rows = kept.map((position) => cacheRowOf[position] as number);
      if (rows.length < tokenIds.length || rows.some((cacheRow, position) => cacheRow !== position)) {
        cache = decoder.selectRows(cache, rows);
        masks = rows.map((cacheRow) => masks[cacheRow] as number[]);
      }
      active = kept.map((position) => active[position] as number);
      cacheRowOf = active.map((_, position) => position);
      tokenIds = kept.map((position) => [chosen[position] as number]);
      masks = masks.map((mask) => [...mask, 1]);
      positionIds = active.map((row) => [nextPositions[row] as number]);
      for (const row of active) nextPositions[row] = (nextPositions[row] as number) + 1;
    }
    return decoders.map((row) => row.completion());
  }

  return {
    specificationVersion: 'v1',
    provider: parts.provider,
    modelId: parts.modelId,
    config: parts.config,
    capabilities,
    tokenizer,
    async doGenerate(request: GenerateRequest): Promise<GenerateResult> {
      assertOpen();
      request.signal?.throwIfAborted();
      assertGenerateRequest(request);
      const started = performance.now();
      const completions: Completion[] = [];
      const prompts = request.prompts.map((prompt, index) => ({ prompt, index }));
      for (let start = 0; start < prompts.length; start += batchSize)
        completions.push(...(await generateBatch(prompts.slice(start, start + batchSize), request)));
      return { completions, durationMs: performance.now() - started };
    },
    async doComputeLogProbs(request: LogProbsRequest): Promise<LogProbsResult> {
      assertOpen();
      assertNumberInRange('temperature', request.temperature, { minimum: Number.MIN_VALUE });
      const decoder = await parts.decoder();
      const logProbs: number[][] = [];
      for (const sequence of request.sequences) {
        const count = sequence.completionTokenIds.length;
        if (count === 0) {
          logProbs.push([]);
          continue;
        }
        const ids = [...sequence.promptTokenIds, ...sequence.completionTokenIds];
        assertFitsContext(sequence.promptTokenIds.length, count, maxSequenceLength);
        const { logits } = await decoder.run({
          tokenIds: [ids],
          attentionMask: [ids.map(() => 1)],
          positionIds: [ids.map((_, position) => position)],
          cache: undefined,
        });
        const start = sequence.promptTokenIds.length - 1;
        logProbs.push(
          sequence.completionTokenIds.map(
            (token, offset) =>
              temperedLogSoftmax(logits.row(0, start + offset), request.temperature)[token] as number,
          ),
        );
      }
      return { logProbs };
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
      await parts.current().session.release();
    },
  };
}
