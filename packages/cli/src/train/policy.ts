import {
  createHybridPolicy,
  inspectModelFolder,
  type LlamaModelSource,
  type LlamaPolicyModel,
  loadHuggingFaceTokenizer,
} from '@azr/backends';
import type { OnnxExecutionProvider, RolloutPrecision } from '@azr/backends/onnx';
import { ModelFormatError, type OptimizerSettings, type PolicyModelV1 } from '@azr/core';
import {
  assertEngineExecutionProviders,
  assertEngineOnnxSettings,
  DEFAULT_EXECUTION_PROVIDERS,
  type OnnxEngineSettings,
  onnxGenerationSettings,
  type TrainConfig,
  type TrainEngine,
} from '../config/config.js';

/** How onnxruntime runs a training policy's sessions. */
export interface TrainingPolicyDevices {
  /** onnxruntime's threads per operator. Default `1`. */
  readonly threads?: number;
  /**
   * onnxruntime's execution providers in order of preference. Default `['cpu']`. A provider this host lacks is
   * the onnx engine's `ConfigError` (it names the provider and how to get it), thrown before anything is written.
   */
  readonly executionProviders?: readonly OnnxExecutionProvider[];
  /** The onnx engine's rollout precision. Default `float32`. */
  readonly rolloutPrecision?: RolloutPrecision;
  /**
   * The config's `onnx` settings: all of them for the onnx engine, the generation ones for the hybrid engine's
   * rollouts; any the engine has no use for is a `ConfigError` (see `assertEngineOnnxSettings`).
   */
  readonly onnx?: OnnxEngineSettings;
}

/** What a training policy is created with, from a run's config. */
export function trainingPolicyDevices(config: TrainConfig): TrainingPolicyDevices {
  return {
    threads: config.threads,
    executionProviders: config.executionProviders,
    ...(config.rolloutPrecision === undefined ? {} : { rolloutPrecision: config.rolloutPrecision }),
    ...(config.onnx === undefined ? {} : { onnx: config.onnx }),
  };
}

/** Creates the policy a training run asks for: from the config's model, or from a checkpoint folder. */
export async function createTrainingPolicy(
  engine: TrainEngine,
  requested: LlamaModelSource,
  optimizer: Partial<OptimizerSettings>,
  devices: TrainingPolicyDevices = {},
): Promise<PolicyModelV1> {
  const threads = devices.threads ?? 1;
  const executionProviders = devices.executionProviders ?? DEFAULT_EXECUTION_PROVIDERS;
  assertEngineExecutionProviders(engine, executionProviders);
  assertEngineOnnxSettings(engine, devices.onnx, devices.rolloutPrecision);
  let source = requested;
  if ('directory' in source) source = await trainableSource(source.directory);
  if (engine === 'onnx') {
    const { createOnnxPolicy } = await import('@azr/backends/onnx');
    return createOnnxPolicy({
      ...devices.onnx,
      model: source,
      optimizer,
      intraOpThreads: threads,
      executionProviders,
      ...(devices.rolloutPrecision === undefined ? {} : { rolloutPrecision: devices.rolloutPrecision }),
    });
  }
  const { createTfjsPolicy } = await import('@azr/backends/tfjs');
  const learner = await createTfjsPolicy({ model: source, backend: 'auto', optimizer });
  if (engine === 'tfjs') return learner;
  const { createOnnxPolicy } = await import('@azr/backends/onnx');
  let rollout: LlamaPolicyModel;
  try {
    rollout = await createOnnxPolicy({
      ...onnxGenerationSettings(devices.onnx),
      model: {
        config: learner.config as NonNullable<LlamaPolicyModel['config']>,
        weights: await learner.readWeights(),
        tokenizer: learner.tokenizer,
        // The checkpoint's stop ids (generation_config.json) end the rollouts' completions too.
        ...(learner.generationConfig === undefined ? {} : { generationConfig: learner.generationConfig }),
      },
      intraOpThreads: threads,
      executionProviders,
    });
  } catch (error) {
    await learner.doDispose();
    throw error;
  }
  return createHybridPolicy({ learner, rollout });
}

/** The model a fresh run starts from. */
export function modelSource(config: TrainConfig): LlamaModelSource {
  return 'directory' in config.model
    ? { directory: config.model.directory }
    : { preset: config.model.preset, seed: config.model.seed };
}

/**
 * A training run needs a model whose weights it can update: a Hugging Face style folder (`config.json`,
 * `model.safetensors`), or a Llama exported to ONNX by onnxruntime-genai's model builder, whose weights are read
 * from its initializers (checkpoints then save them as safetensors). Any other export can be evaluated
 * (`azr eval`) but not trained; say so rather than fail deep inside a backend.
 */
async function trainableSource(directory: string): Promise<LlamaModelSource> {
  const folder = await inspectModelFolder(directory);
  switch (folder.kind) {
    case 'safetensors':
    case 'sharded-safetensors':
      return { directory };
    case 'genai-onnx': {
      const { importGenaiLlamaWeights } = await import('@azr/backends/onnx');
      const { config, weights } = await importGenaiLlamaWeights(folder.modelFile);
      return { config, weights, tokenizer: await loadHuggingFaceTokenizer(directory) };
    }
    case 'onnx-export':
      throw new ModelFormatError(
        `${directory} has no model.safetensors (with config.json and tokenizer.json). It holds an ONNX export that is not a genai-builder Llama: azr can evaluate it (azr eval) but not train it.`,
        { path: directory },
      );
  }
}
