import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { createHybridPolicy, type LlamaModelSource, type LlamaPolicyModel } from '@azr/backends';
import { ConfigError, ModelFormatError, type OptimizerSettings, type PolicyModelV1 } from '@azr/core';
import type { TrainConfig, TrainEngine } from '../config/config.js';

/** Creates the policy a training run asks for: from the config's model, or from a checkpoint folder. */
export async function createTrainingPolicy(
  engine: TrainEngine,
  source: LlamaModelSource,
  optimizer: Partial<OptimizerSettings>,
): Promise<PolicyModelV1> {
  if ('directory' in source) await assertTrainableDirectory(source.directory);
  const { createTfjsPolicy } = await import('@azr/backends/tfjs');
  if (engine === 'onnx')
    throw new ConfigError(
      'The onnx engine generates but cannot train yet (onnxruntime-node has no training API); use --engine hybrid, which generates on onnxruntime and trains on TensorFlow.js.',
      { field: 'engine', allowed: ['hybrid', 'tfjs'] },
    );
  const learner = await createTfjsPolicy({ model: source, backend: 'auto', optimizer });
  if (engine === 'tfjs') return learner;
  const { createOnnxPolicy } = await import('@azr/backends/onnx');
  let rollout: LlamaPolicyModel;
  try {
    rollout = await createOnnxPolicy({
      model: {
        config: learner.config as NonNullable<LlamaPolicyModel['config']>,
        weights: await learner.readWeights(),
        tokenizer: learner.tokenizer,
      },
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
 * A training run needs a model it owns the weights of: `config.json` and `model.safetensors`. An ONNX export
 * can be evaluated (`azr eval`) but not trained; say so rather than fail deep inside a backend.
 */
async function assertTrainableDirectory(directory: string): Promise<void> {
  const exists = async (name: string) =>
    access(join(directory, name)).then(
      () => true,
      () => false,
    );
  if (await exists('model.safetensors')) return;
  const hint = (await exists('model.onnx'))
    ? ' It holds an ONNX export, which azr can run (azr eval) but not train: training needs the weights as safetensors.'
    : '';
  throw new ModelFormatError(
    `${directory} has no model.safetensors (with config.json and tokenizer.json).${hint}`,
    { path: directory },
  );
}
