import { ConfigError, createByteTokenizer, ModelFormatError, type TokenizerV1 } from '@azr/core/spec';
import { LLAMA_PRESETS, type LlamaConfig } from '../model/config.js';
import { readModelDirectory } from '../model/directory.js';
import { initializeLlamaWeights, type LlamaWeights } from '../model/weights.js';

/** Where a policy's Llama-family model comes from; every engine accepts these. */
export type LlamaModelSource =
  /** A Hugging Face style folder (`config.json`, `model.safetensors`, tokenizer), e.g. one a policy saved. */
  | { readonly directory: string }
  /** New weights for a preset of `LLAMA_PRESETS`, drawn with `seed`, on the SDK's byte tokenizer. */
  | { readonly preset: keyof typeof LLAMA_PRESETS; readonly seed: number }
  /** A model already in memory. */
  | { readonly config: LlamaConfig; readonly weights: LlamaWeights; readonly tokenizer: TokenizerV1 };

/** A resolved model: config, weights, tokenizer and the name it goes by. */
export interface ResolvedLlamaModel {
  readonly config: LlamaConfig;
  readonly weights: LlamaWeights;
  readonly tokenizer: TokenizerV1;
  readonly modelId: string;
}

/** Reads, draws or takes the model a source names. Throws `ConfigError` or `ModelFormatError`. */
export async function resolveLlamaModel(
  source: LlamaModelSource,
  modelId: string | undefined,
): Promise<ResolvedLlamaModel> {
  let resolved: ResolvedLlamaModel;
  if ('directory' in source) {
    resolved = { ...(await readModelDirectory(source.directory)), modelId: modelId ?? source.directory };
  } else if ('preset' in source) {
    const config = LLAMA_PRESETS[source.preset] as LlamaConfig | undefined;
    if (config === undefined)
      throw new ConfigError(`Unknown preset ${String(source.preset)}.`, {
        field: 'model.preset',
        allowed: Object.keys(LLAMA_PRESETS),
      });
    const tokenizer = createByteTokenizer();
    if (config.vocabularySize < tokenizer.vocabularySize)
      throw new ConfigError(
        `The ${String(source.preset)} preset (vocabulary ${config.vocabularySize}) is smaller than the byte tokenizer (${tokenizer.vocabularySize}); it is for runs that bring their own tokenizer: pass { config: LLAMA_PRESETS.${String(source.preset)}, weights, tokenizer }.`,
        { field: 'model.preset', allowed: Object.keys(LLAMA_PRESETS) },
      );
    resolved = {
      config,
      weights: initializeLlamaWeights(config, { seed: source.seed }),
      tokenizer,
      modelId: modelId ?? `preset:${source.preset}`,
    };
  } else {
    resolved = { ...source, modelId: modelId ?? 'custom' };
  }
  if (resolved.tokenizer.vocabularySize > resolved.config.vocabularySize) {
    throw new ModelFormatError(
      `The tokenizer has ${resolved.tokenizer.vocabularySize} tokens, the model ${resolved.config.vocabularySize}.`,
      { path: 'directory' in source ? source.directory : undefined },
    );
  }
  return resolved;
}
