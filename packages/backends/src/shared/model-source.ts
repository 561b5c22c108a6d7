import { ConfigError, createByteTokenizer, ModelFormatError, type TokenizerV1 } from '@azr/core/spec';
import { LLAMA_PRESETS, type LlamaConfig } from '../model/config.js';
import { readModelDirectory } from '../model/directory.js';
import { initializeLlamaWeights, type LlamaWeights } from '../model/weights.js';
import { type GenerationConfig, readGenerationConfig } from './generation-config.js';

/** Where a policy's Llama-family model comes from; every engine accepts these. */
export type LlamaModelSource =
  /** A Hugging Face style folder (`config.json`, `model.safetensors`, tokenizer), e.g. one a policy saved. */
  | { readonly directory: string }
  /** New weights for a preset of `LLAMA_PRESETS`, drawn with `seed`, on the SDK's byte tokenizer. */
  | { readonly preset: keyof typeof LLAMA_PRESETS; readonly seed: number }
  /** A model already in memory; `generationConfig` adds stop ids as a folder's `generation_config.json` does. */
  | {
      readonly config: LlamaConfig;
      readonly weights: LlamaWeights;
      readonly tokenizer: TokenizerV1;
      readonly generationConfig?: GenerationConfig;
    };

/** A resolved model: config, weights, tokenizer, generation defaults and the name it goes by. */
export interface ResolvedLlamaModel {
  readonly config: LlamaConfig;
  readonly weights: LlamaWeights;
  readonly tokenizer: TokenizerV1;
  /**
   * The folder's `generation_config.json`, when it has one: its end-of-sequence ids also end completions, and
   * saving the model writes it back. Kept beside the tokenizer rather than on `TokenizerV1` (whose one
   * `endOfSequenceTokenId` is the tokenizer's own) or `LlamaConfig` (which mirrors `config.json`): it is a
   * property of the checkpoint's generation, and only the engines' decoding needs it.
   */
  readonly generationConfig: GenerationConfig | undefined;
  readonly modelId: string;
}

/** Reads, draws or takes the model a source names. Throws `ConfigError` or `ModelFormatError`. */
export async function resolveLlamaModel(
  source: LlamaModelSource,
  modelId: string | undefined,
): Promise<ResolvedLlamaModel> {
  let resolved: ResolvedLlamaModel;
  if ('directory' in source) {
    const folder = await readModelDirectory(source.directory);
    resolved = {
      ...folder,
      generationConfig: await readGenerationConfig(source.directory, folder.config.vocabularySize),
      modelId: modelId ?? source.directory,
    };
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
      generationConfig: undefined,
      modelId: modelId ?? `preset:${source.preset}`,
    };
  } else {
    resolved = { generationConfig: undefined, ...source, modelId: modelId ?? 'custom' };
  }
  if (resolved.tokenizer.vocabularySize > resolved.config.vocabularySize) {
    throw new ModelFormatError(
      `The tokenizer has ${resolved.tokenizer.vocabularySize} tokens, the model ${resolved.config.vocabularySize}.`,
      { path: 'directory' in source ? source.directory : undefined },
    );
  }
  return resolved;
}
