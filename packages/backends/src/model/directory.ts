import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createByteTokenizer, ModelFormatError, type TokenizerV1 } from '@azr/core/spec';
import { type LlamaConfig, llamaConfigToJson, parseLlamaConfig } from './config.js';
import { inspectModelFolder, shardedCheckpointError } from './model-folder.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';
import { loadHuggingFaceTokenizer } from './tokenizer.js';
import { checkLlamaWeights, type LlamaWeights } from './weights.js';

/** A model as it lives in a Hugging Face style folder. */
export interface ModelDirectory {
  readonly config: LlamaConfig;
  readonly weights: LlamaWeights;
  readonly tokenizer: TokenizerV1;
}

/**
 * Reads a model folder: `config.json`, `model.safetensors`, and `tokenizer.json` (with
 * `tokenizer_config.json`), or the SDK's byte tokenizer when `config.json` says `"azr_tokenizer": "byte"`.
 * Throws `ModelFormatError` naming the file that is missing or wrong, or saying what the folder holds instead
 * (a sharded checkpoint, an ONNX export).
 */
export async function readModelDirectory(directory: string): Promise<ModelDirectory> {
  const folder = await inspectModelFolder(directory);
  if (folder.kind === 'sharded-safetensors') throw shardedCheckpointError(folder);
  if (folder.kind !== 'safetensors')
    throw new ModelFormatError(
      `${directory} holds an ONNX export (${basename(folder.modelFile)}), not model.safetensors with config.json.`,
      { path: directory },
    );
  const { configFile: configPath, weightsFile: weightsPath } = folder;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new ModelFormatError(
      `${configPath} is missing or not JSON.`,
      { path: configPath },
      { cause: error },
    );
  }
  const config = parseLlamaConfig(json, configPath);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(weightsPath);
  } catch (error) {
    throw new ModelFormatError(
      `${weightsPath} is missing or unreadable.`,
      { path: weightsPath },
      { cause: error },
    );
  }
  const weights = checkLlamaWeights(config, readSafetensors(bytes, weightsPath), weightsPath);
  const tokenizer =
    json.azr_tokenizer === 'byte' ? createByteTokenizer() : await loadHuggingFaceTokenizer(directory);
  if (tokenizer.vocabularySize > config.vocabularySize) {
    throw new ModelFormatError(
      `The tokenizer has ${tokenizer.vocabularySize} tokens but the model only ${config.vocabularySize}.`,
      { path: directory },
    );
  }
  return { config, weights, tokenizer };
}

/**
 * Writes a model folder that {@link readModelDirectory} and Hugging Face tools read: `config.json`,
 * `model.safetensors` (float32) and the tokenizer. A model on the byte tokenizer is marked in `config.json`; a
 * Hugging Face tokenizer's `tokenizer.json` (and `tokenizer_config.json`) is copied from where it was loaded.
 */
export async function writeModelDirectory(
  directory: string,
  model: { readonly config: LlamaConfig; readonly weights: LlamaWeights; readonly tokenizer: TokenizerV1 },
): Promise<void> {
  const byteTokenizer = model.tokenizer.tokenizerId === 'azr-byte';
  await mkdir(directory, { recursive: true });
  if (!byteTokenizer) await copyTokenizerFiles(model.tokenizer, directory);
  const config = {
    ...llamaConfigToJson(model.config),
    ...(byteTokenizer ? { azr_tokenizer: 'byte' } : {}),
  };
  await writeFile(join(directory, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  await writeFile(join(directory, 'model.safetensors'), writeSafetensors(model.weights, { format: 'pt' }));
}

/**
 * Copies the files a Hugging Face tokenizer was loaded from (its id is the path of its `tokenizer.json`) into
 * `directory` as `tokenizer.json` and `tokenizer_config.json`. Throws `ModelFormatError` when they cannot be
 * found, rather than writing a model folder that cannot be loaded back.
 */
export async function copyTokenizerFiles(tokenizer: TokenizerV1, directory: string): Promise<void> {
  const source = tokenizer.tokenizerId;
  if (!source.endsWith('tokenizer.json')) {
    throw new ModelFormatError(
      `The tokenizer ${source} was not loaded from a tokenizer.json file, so it cannot be saved with the model.`,
      { path: source },
    );
  }
  try {
    await copyFile(source, join(directory, 'tokenizer.json'));
  } catch (error) {
    throw new ModelFormatError(
      `Cannot copy the tokenizer from ${source}.`,
      { path: source },
      { cause: error },
    );
  }
  const configSource = `${source.slice(0, -'tokenizer.json'.length)}tokenizer_config.json`;
  try {
    await copyFile(configSource, join(directory, 'tokenizer_config.json'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
