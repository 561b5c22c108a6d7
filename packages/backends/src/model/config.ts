import { ModelFormatError } from '@azr/core/spec';

/**
 * A Llama-family decoder (RMSNorm, rotary position embedding, SwiGLU, grouped-query attention, optional q/k/v
 * bias as in Qwen2), described the way Hugging Face's `config.json` does.
 */
export interface LlamaConfig {
  /** `llama`, `qwen2`, `mistral`, `smollm`... Informative; the architecture is the same. */
  readonly modelType: string;
  readonly vocabularySize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly layerCount: number;
  readonly headCount: number;
  /** Key/value heads; fewer than `headCount` is grouped-query attention. */
  readonly keyValueHeadCount: number;
  /** Width of one head. Default `hiddenSize / headCount`. */
  readonly headDimension: number;
  readonly ropeTheta: number;
  readonly rmsNormEpsilon: number;
  /** Longest sequence the model is made for. */
  readonly maxPositionEmbeddings: number;
  /** Whether the output projection reuses the embedding matrix. */
  readonly tieWordEmbeddings: boolean;
  /** Whether the q, k and v projections have biases (Qwen2). */
  readonly attentionBias: boolean;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
}

function integer(
  record: Record<string, unknown>,
  names: readonly string[],
  path: string | undefined,
  fallback?: number,
): number {
  for (const name of names) {
    const value = record[name];
    if (value !== undefined) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
        throw new ModelFormatError(
          `config.json: "${name}" must be a positive integer, got ${JSON.stringify(value)}.`,
          { path },
        );
      }
      return value;
    }
  }
  if (fallback !== undefined) return fallback;
  throw new ModelFormatError(`config.json: "${names[0]}" is missing.`, { path });
}

function number(
  record: Record<string, unknown>,
  name: string,
  fallback: number,
  path: string | undefined,
): number {
  const value = record[name] ?? fallback;
  if (typeof value !== 'number' || !(value > 0)) {
    throw new ModelFormatError(
      `config.json: "${name}" must be a positive number, got ${JSON.stringify(value)}.`,
      { path },
    );
  }
  return value;
}

function tokenId(value: unknown): number | undefined {
  if (Array.isArray(value)) return tokenId(value[0]);
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

/**
 * Reads a Hugging Face `config.json` of a Llama-family model. Throws `ModelFormatError` naming the field that
 * is missing or wrong, or the architecture when it is not one of this family.
 */
export function parseLlamaConfig(json: unknown, path?: string): LlamaConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelFormatError('config.json must hold a JSON object.', { path });
  }
  const record = json as Record<string, unknown>;
  const modelType = typeof record.model_type === 'string' ? record.model_type : 'llama';
  const supported = ['llama', 'qwen2', 'mistral', 'smollm', 'smollm3', 'azr-tiny'];
  if (!supported.includes(modelType)) {
    throw new ModelFormatError(
      `config.json: model_type "${modelType}" is not a Llama-family decoder (${supported.join(', ')}).`,
      { path },
    );
  }
  const hiddenSize = integer(record, ['hidden_size'], path);
  const headCount = integer(record, ['num_attention_heads'], path);
  const keyValueHeadCount = integer(record, ['num_key_value_heads'], path, headCount);
  if (headCount % keyValueHeadCount !== 0) {
    throw new ModelFormatError(
      `config.json: ${headCount} attention heads cannot share ${keyValueHeadCount} key/value heads.`,
      { path },
    );
  }
  const headDimension = integer(record, ['head_dim'], path, Math.floor(hiddenSize / headCount));
  if (headDimension % 2 !== 0) {
    throw new ModelFormatError(
      `config.json: the head dimension ${headDimension} must be even for rotary embeddings.`,
      { path },
    );
  }
  return {
    modelType,
    vocabularySize: integer(record, ['vocab_size'], path),
    hiddenSize,
    intermediateSize: integer(record, ['intermediate_size'], path),
    layerCount: integer(record, ['num_hidden_layers'], path),
    headCount,
    keyValueHeadCount,
    headDimension,
    ropeTheta: number(record, 'rope_theta', 10_000, path),
    rmsNormEpsilon: number(record, 'rms_norm_eps', 1e-6, path),
    maxPositionEmbeddings: integer(record, ['max_position_embeddings'], path, 2048),
    tieWordEmbeddings: record.tie_word_embeddings === true,
    attentionBias: record.attention_bias === true || modelType === 'qwen2',
    bosTokenId: tokenId(record.bos_token_id),
    eosTokenId: tokenId(record.eos_token_id),
  };
}

/** Writes a config as Hugging Face's `config.json` fields. */
export function llamaConfigToJson(config: LlamaConfig): Record<string, unknown> {
  return {
    architectures: [config.modelType === 'qwen2' ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'],
    model_type: config.modelType,
    vocab_size: config.vocabularySize,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.layerCount,
    num_attention_heads: config.headCount,
    num_key_value_heads: config.keyValueHeadCount,
    head_dim: config.headDimension,
    rope_theta: config.ropeTheta,
    rms_norm_eps: config.rmsNormEpsilon,
    max_position_embeddings: config.maxPositionEmbeddings,
    tie_word_embeddings: config.tieWordEmbeddings,
    attention_bias: config.attentionBias,
    ...(config.bosTokenId === undefined ? {} : { bos_token_id: config.bosTokenId }),
    ...(config.eosTokenId === undefined ? {} : { eos_token_id: config.eosTokenId }),
  };
}

/**
 * Model presets. `tiny` trains from scratch on a laptop CPU with the byte tokenizer (257 tokens); `benchmark`
 * is the model DESIGN.md's measurements use (vocabulary 128, width 128, 4 layers, 4 heads, context 128).
 */
export const LLAMA_PRESETS = {
  tiny: parseLlamaConfig({
    model_type: 'azr-tiny',
    vocab_size: 257,
    hidden_size: 128,
    intermediate_size: 352,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 1024,
    tie_word_embeddings: true,
    eos_token_id: 256,
  }),
  benchmark: parseLlamaConfig({
    model_type: 'azr-tiny',
    vocab_size: 128,
    hidden_size: 128,
    intermediate_size: 352,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 4,
    max_position_embeddings: 128,
    tie_word_embeddings: true,
  }),
} as const satisfies Record<string, LlamaConfig>;
