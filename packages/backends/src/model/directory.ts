import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createByteTokenizer, ModelFormatError, type TokenizerV1 } from '@azr/core/spec';
import { type LlamaConfig, llamaConfigToJson, parseLlamaConfig } from './config.js';
import { inspectModelFolder } from './model-folder.js';
import { type NamedTensor, writeSafetensors } from './safetensors.js';
import {
  openSafetensorsFile,
  type SafetensorsFile,
  type SafetensorsFileSettings,
} from './safetensors-file.js';
import { loadHuggingFaceTokenizer } from './tokenizer.js';
import { checkLlamaWeights, checkTensorShape, type LlamaWeights, llamaWeightShapes } from './weights.js';

/** A model as it lives in a Hugging Face style folder. */
export interface ModelDirectory {
  readonly config: LlamaConfig;
  readonly weights: LlamaWeights;
  readonly tokenizer: TokenizerV1;
}

/**
 * Reads a model folder: `config.json`, the weights (one `model.safetensors`, or shards that
 * `model.safetensors.index.json` lists), and `tokenizer.json` (with `tokenizer_config.json`), or the SDK's byte
 * tokenizer when `config.json` says `"azr_tokenizer": "byte"`. Weights are read tensor by tensor from disk
 * (files over 2 GiB too; float32, float16 and bfloat16 all become float32), only the ones the config needs.
 * Throws `ModelFormatError` naming the file that is missing or wrong (and the tensor, for weights), or saying
 * what the folder holds instead (an ONNX export).
 *
 * `settings.chunkBytes` is internal (tests read with tiny chunks to exercise the chunked path).
 */
export async function readModelDirectory(
  directory: string,
  settings: SafetensorsFileSettings = {},
): Promise<ModelDirectory> {
  const folder = await inspectModelFolder(directory);
  if (folder.kind !== 'safetensors' && folder.kind !== 'sharded-safetensors')
    throw new ModelFormatError(
      `${directory} holds an ONNX export (${basename(folder.modelFile)}), not model.safetensors with config.json.`,
      { path: directory },
    );
  const { configFile: configPath } = folder;
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
  const weights =
    folder.kind === 'safetensors'
      ? await readWeightsFile(config, folder.weightsFile, settings)
      : await readShardedWeights(config, folder.indexFile, settings);
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

/** The weights a config needs from one safetensors file; shapes are checked from the header before any read. */
async function readWeightsFile(
  config: LlamaConfig,
  path: string,
  settings: SafetensorsFileSettings,
): Promise<LlamaWeights> {
  const file = await openSafetensorsFile(path, settings);
  try {
    const tensors = new Map<string, NamedTensor>();
    for (const [name, shape] of llamaWeightShapes(config)) {
      const entry = file.entries.get(name);
      if (entry === undefined) continue; // checkLlamaWeights names it, with the file.
      checkTensorShape(name, entry.shape, shape, path);
      tensors.set(name, await file.read(name));
    }
    return checkLlamaWeights(config, tensors, path);
  } finally {
    await file.close();
  }
}

/**
 * The weights a config needs from a sharded checkpoint. Every tensor the index names must be in the shard it
 * names (checked from each shard's header before any data is read), and every tensor the config needs must be in
 * the index; errors name the index or the shard, and the tensor.
 */
async function readShardedWeights(
  config: LlamaConfig,
  indexPath: string,
  settings: SafetensorsFileSettings,
): Promise<LlamaWeights> {
  const shards = await readShardIndex(indexPath);
  const needed = llamaWeightShapes(config);
  for (const name of needed.keys()) {
    if (![...shards.values()].some((names) => names.includes(name)))
      throw new ModelFormatError(`${indexPath} has no tensor ${name} in its weight_map.`, {
        path: indexPath,
      });
  }
  const tensors = new Map<string, NamedTensor>();
  const directory = dirname(indexPath);
  for (const [shard, names] of shards) {
    const shardPath = join(directory, shard);
    let file: SafetensorsFile;
    try {
      file = await openSafetensorsFile(shardPath, settings);
    } catch (error) {
      if (!ModelFormatError.isInstance(error)) throw error;
      throw new ModelFormatError(
        `${error.message} (${indexPath} names it as the shard of ${names[0]}${names.length > 1 ? ` and ${names.length - 1} more tensors` : ''}.)`,
        { path: shardPath },
        { cause: error },
      );
    }
    try {
      for (const name of names) {
        const entry = file.entries.get(name);
        if (entry === undefined)
          throw new ModelFormatError(
            `${shardPath} has no tensor ${name}, which ${indexPath} says it holds.`,
            { path: shardPath },
          );
        const shape = needed.get(name);
        if (shape !== undefined) checkTensorShape(name, entry.shape, shape, shardPath);
      }
      for (const name of names) if (needed.has(name)) tensors.set(name, await file.read(name));
    } finally {
      await file.close();
    }
  }
  return checkLlamaWeights(config, tensors, indexPath);
}

/**
 * A shard index's `weight_map` grouped by shard file (in the order of first appearance). Throws
 * `ModelFormatError` naming the index (and the tensor) when it is unreadable, not JSON, has no `weight_map`, or
 * names a shard that is not a plain file name beside it.
 */
async function readShardIndex(indexPath: string): Promise<Map<string, string[]>> {
  let index: unknown;
  try {
    index = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (error) {
    throw new ModelFormatError(`${indexPath} is missing or not JSON.`, { path: indexPath }, { cause: error });
  }
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    throw new ModelFormatError(`${indexPath} has no weight_map object.`, { path: indexPath });
  const shards = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(map)) {
    // Shards lie beside the index; a path elsewhere is a malformed (or hostile) index, not a file to open.
    if (
      typeof shard !== 'string' ||
      shard === '' ||
      basename(shard) !== shard ||
      shard === '..' ||
      shard === '.'
    )
      throw new ModelFormatError(
        `${indexPath} maps tensor ${name} to ${JSON.stringify(shard)}, not a file name beside the index.`,
        { path: indexPath },
      );
    const names = shards.get(shard) ?? [];
    names.push(name);
    shards.set(shard, names);
  }
  return shards;
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
