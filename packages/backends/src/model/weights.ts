import { ConfigError, createSeededRandom, ModelFormatError } from '@azr/core/spec';
import type { LlamaConfig } from './config.js';
import type { NamedTensor } from './safetensors.js';

/** A tensor of the model, float32, row-major, named as Hugging Face names it. */
export interface WeightTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** The weights of a Llama-family model by Hugging Face tensor name. */
export type LlamaWeights = Map<string, WeightTensor>;

/**
 * The tensors a config needs, with their shapes (`[out, in]` for projections, as PyTorch's `Linear` stores
 * them).
 */
export function llamaWeightShapes(config: LlamaConfig): Map<string, readonly number[]> {
  const { hiddenSize, intermediateSize, headCount, keyValueHeadCount, headDimension, vocabularySize } =
    config;
  const shapes = new Map<string, readonly number[]>([
    ['model.embed_tokens.weight', [vocabularySize, hiddenSize]],
  ]);
  for (let layer = 0; layer < config.layerCount; layer += 1) {
    const prefix = `model.layers.${layer}`;
    shapes.set(`${prefix}.input_layernorm.weight`, [hiddenSize]);
    shapes.set(`${prefix}.self_attn.q_proj.weight`, [headCount * headDimension, hiddenSize]);
    shapes.set(`${prefix}.self_attn.k_proj.weight`, [keyValueHeadCount * headDimension, hiddenSize]);
    shapes.set(`${prefix}.self_attn.v_proj.weight`, [keyValueHeadCount * headDimension, hiddenSize]);
    if (config.attentionBias) {
      shapes.set(`${prefix}.self_attn.q_proj.bias`, [headCount * headDimension]);
      shapes.set(`${prefix}.self_attn.k_proj.bias`, [keyValueHeadCount * headDimension]);
      shapes.set(`${prefix}.self_attn.v_proj.bias`, [keyValueHeadCount * headDimension]);
    }
    shapes.set(`${prefix}.self_attn.o_proj.weight`, [hiddenSize, headCount * headDimension]);
    shapes.set(`${prefix}.post_attention_layernorm.weight`, [hiddenSize]);
    shapes.set(`${prefix}.mlp.gate_proj.weight`, [intermediateSize, hiddenSize]);
    shapes.set(`${prefix}.mlp.up_proj.weight`, [intermediateSize, hiddenSize]);
    shapes.set(`${prefix}.mlp.down_proj.weight`, [hiddenSize, intermediateSize]);
  }
  shapes.set('model.norm.weight', [hiddenSize]);
  if (!config.tieWordEmbeddings) shapes.set('lm_head.weight', [vocabularySize, hiddenSize]);
  return shapes;
}

/** Settings of {@link initializeLlamaWeights}. */
export interface InitializeSettings {
  readonly seed: number;
  /** Standard deviation of the normal initialisation of matrices. Default `0.02`, as Hugging Face's. */
  readonly standardDeviation?: number;
}

/**
 * New weights for a model trained from scratch: norms at 1, biases at 0, matrices drawn from a normal
 * distribution (Box-Muller over the SDK's seeded source), the same for the same seed on every platform.
 */
export function initializeLlamaWeights(config: LlamaConfig, settings: InitializeSettings): LlamaWeights {
  const deviation = settings.standardDeviation ?? 0.02;
  if (!(deviation > 0))
    throw new ConfigError('standardDeviation must be positive.', { field: 'standardDeviation' });
  const random = createSeededRandom(settings.seed);
  const normal = (): number => {
    const u = 1 - random.nextFloat();
    const v = random.nextFloat();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const weights: LlamaWeights = new Map();
  for (const [name, shape] of llamaWeightShapes(config)) {
    const count = shape.reduce((total, size) => total * size, 1);
    const data = new Float32Array(count);
    if (name.endsWith('norm.weight')) data.fill(1);
    else if (!name.endsWith('.bias'))
      for (let index = 0; index < count; index += 1) data[index] = normal() * deviation;
    weights.set(name, { shape, data });
  }
  return weights;
}

/**
 * Checks that loaded tensors are exactly the ones a config needs, with the right shapes, and returns them as
 * weights. Extra tensors a checkpoint may carry (`rotary_emb.inv_freq`) are ignored; a tied `lm_head.weight`
 * is dropped. Throws `ModelFormatError` naming the first missing or misshapen tensor (and `path`, the file or
 * index the tensors came from, when given).
 */
export function checkLlamaWeights(
  config: LlamaConfig,
  tensors: ReadonlyMap<string, NamedTensor | WeightTensor>,
  path?: string,
): LlamaWeights {
  const weights: LlamaWeights = new Map();
  for (const [name, shape] of llamaWeightShapes(config)) {
    const tensor = tensors.get(name);
    if (tensor === undefined)
      throw new ModelFormatError(
        `${path === undefined ? 'The weights have' : `${path} has`} no tensor ${name}.`,
        {
          path,
        },
      );
    checkTensorShape(name, tensor.shape, shape, path);
    weights.set(name, { shape, data: tensor.data });
  }
  return weights;
}

/** Throws `ModelFormatError` naming the tensor (and `path`) when `shape` is not the `expected` one. */
export function checkTensorShape(
  name: string,
  shape: readonly number[],
  expected: readonly number[],
  path?: string,
): void {
  if (shape.length !== expected.length || shape.some((size, index) => size !== expected[index])) {
    throw new ModelFormatError(
      `Tensor ${name}${path === undefined ? '' : ` in ${path}`} has the shape [${shape}], the config needs [${expected}].`,
      { path },
    );
  }
}
