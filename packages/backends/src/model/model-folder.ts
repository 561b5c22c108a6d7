import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ModelFormatError } from '@azr/core/spec';

/**
 * The files that name a model folder's layout. One place knows them, so that the engines, the trainer and the
 * CLI agree on what a folder holds.
 */
export const MODEL_FOLDER_FILES = {
  config: 'config.json',
  weights: 'model.safetensors',
  shardIndex: 'model.safetensors.index.json',
  genaiConfig: 'genai_config.json',
} as const;

// ONNX files taken as the decoder when nothing names one: the name optimum and onnxruntime-genai's model builder
// give a decoder, then optimum's merged decoder (with and without cache in one graph).
const PREFERRED_ONNX_FILES = ['model.onnx', 'decoder_model_merged.onnx'] as const;

/** A Hugging Face safetensors folder that the SDK reads: `config.json` and one `model.safetensors`. */
export interface SafetensorsModelFolder {
  readonly kind: 'safetensors';
  readonly directory: string;
  readonly configFile: string;
  readonly weightsFile: string;
}

/**
 * A Hugging Face checkpoint whose weights are split into shards that `model.safetensors.index.json` lists (its
 * `weight_map`: tensor name to shard file), with `config.json`. `readModelDirectory` reads it as it reads one
 * `model.safetensors`, so every engine loads it.
 */
export interface ShardedSafetensorsModelFolder {
  readonly kind: 'sharded-safetensors';
  readonly directory: string;
  readonly configFile: string;
  readonly indexFile: string;
  /** The shard files the index names, sorted, each once. */
  readonly shardFiles: readonly string[];
}

/**
 * A Llama exported by onnxruntime-genai's model builder: `model.onnx` (external data beside it) with
 * `genai_config.json`. The SDK runs it as an export, and can read its weights from the graph's initializers
 * (`importGenaiLlamaWeights` in `@azr/backends/onnx`) to train it.
 */
export interface GenaiOnnxModelFolder {
  readonly kind: 'genai-onnx';
  readonly directory: string;
  readonly modelFile: string;
  readonly genaiConfigFile: string;
}

/**
 * Any other decoder exported to ONNX in the Hugging Face key/value-cache layout. The SDK runs it but does not own
 * its weights, so it generates and does not train.
 */
export interface OnnxExportModelFolder {
  readonly kind: 'onnx-export';
  readonly directory: string;
  readonly modelFile: string;
  /** `genai_config.json` beside the model, when there is one (it may name the decoder and its context). */
  readonly genaiConfigFile: string | undefined;
}

/** What a model folder holds, as {@link inspectModelFolder} finds it. */
export type ModelFolder =
  | SafetensorsModelFolder
  | ShardedSafetensorsModelFolder
  | GenaiOnnxModelFolder
  | OnnxExportModelFolder;

/** The kinds of {@link ModelFolder}. */
export const MODEL_FOLDER_KINDS = [
  'safetensors',
  'sharded-safetensors',
  'genai-onnx',
  'onnx-export',
] as const;

/**
 * Says what a model folder holds, looking only at file names (and at the small JSON files that name other files):
 *
 * - `safetensors`: `model.safetensors` with `config.json`. It wins over anything else in the folder.
 * - `genai-onnx` or `onnx-export`: an ONNX decoder. The decoder is the file `genai_config.json` names, else
 *   `model.onnx`, else `decoder_model_merged.onnx`, else the folder's only `.onnx` file; only the folder itself
 *   is searched. It is `genai-onnx` when it is `model.onnx` beside `genai_config.json`.
 * - `sharded-safetensors`: `model.safetensors.index.json` with `config.json`, and no ONNX decoder.
 *
 * Throws `ModelFormatError` naming the folder and what is missing when it holds none of these: a folder that
 * cannot be read, `model.safetensors` or its shard index without `config.json`, several ONNX files and nothing saying which is the
 * decoder, or no model file at all. Also when `genai_config.json` or the shard index is not JSON.
 */
export async function inspectModelFolder(directory: string): Promise<ModelFolder> {
  const configFile = join(directory, MODEL_FOLDER_FILES.config);
  const weightsFile = join(directory, MODEL_FOLDER_FILES.weights);
  if (await isPresent(weightsFile)) {
    if (!(await isPresent(configFile)))
      throw new ModelFormatError(`${directory} has model.safetensors but its config.json is missing.`, {
        path: configFile,
      });
    return { kind: 'safetensors', directory, configFile, weightsFile };
  }
  const genaiConfigFile = join(directory, MODEL_FOLDER_FILES.genaiConfig);
  const genai = await readJsonIfPresent(genaiConfigFile);
  let entries: string[];
  try {
    entries = await readdir(directory);
  } catch (error) {
    throw new ModelFormatError(
      `Cannot read the model folder ${directory}.`,
      { path: directory },
      { cause: error },
    );
  }
  const onnxFiles = entries.filter((entry) => entry.endsWith('.onnx'));
  const named = genaiDecoderFile(genai);
  const chosen =
    (named !== undefined && entries.includes(named) ? named : undefined) ??
    PREFERRED_ONNX_FILES.find((name) => onnxFiles.includes(name)) ??
    (onnxFiles.length === 1 ? onnxFiles[0] : undefined);
  if (chosen !== undefined)
    return onnxModelFolder(join(directory, chosen), genai === undefined ? undefined : genaiConfigFile);
  if (entries.includes(MODEL_FOLDER_FILES.shardIndex)) {
    const indexFile = join(directory, MODEL_FOLDER_FILES.shardIndex);
    const shardFiles = await readShardFiles(indexFile);
    if (!entries.includes(MODEL_FOLDER_FILES.config))
      throw new ModelFormatError(
        `${directory} has model.safetensors.index.json but its config.json is missing.`,
        { path: configFile },
      );
    return { kind: 'sharded-safetensors', directory, configFile, indexFile, shardFiles };
  }
  throw new ModelFormatError(
    onnxFiles.length > 1
      ? `${directory} holds several ONNX files (${onnxFiles.join(', ')}); name one with { file }.`
      : `${directory} has no model.safetensors (with config.json) and no ONNX decoder (.onnx file).`,
    { path: directory },
  );
}

/**
 * Describes an ONNX decoder file named directly (rather than found in a folder): its folder, and whether it is an
 * onnxruntime-genai export. Throws `ModelFormatError` when the file is not there, or when a `genai_config.json`
 * beside it is not JSON.
 */
export async function inspectOnnxModelFile(
  file: string,
): Promise<GenaiOnnxModelFolder | OnnxExportModelFolder> {
  if (!(await isPresent(file))) throw new ModelFormatError(`No ONNX model at ${file}.`, { path: file });
  const genaiConfigFile = join(dirname(file), MODEL_FOLDER_FILES.genaiConfig);
  const genai = await readJsonIfPresent(genaiConfigFile);
  return onnxModelFolder(file, genai === undefined ? undefined : genaiConfigFile);
}

/** A JSON object read from `path`; `undefined` when the file cannot be read. Throws `ModelFormatError` when it is not JSON. */
export async function readJsonIfPresent(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new ModelFormatError(`${path} is not JSON.`, { path }, { cause: error });
  }
}

function onnxModelFolder(
  modelFile: string,
  genaiConfigFile: string | undefined,
): GenaiOnnxModelFolder | OnnxExportModelFolder {
  const directory = dirname(modelFile);
  // The model builder always writes its decoder as model.onnx, and its initializer names are what the weight
  // import reads; any other file beside a genai_config.json is a different exporter's graph.
  return genaiConfigFile !== undefined && basename(modelFile) === 'model.onnx'
    ? { kind: 'genai-onnx', directory, modelFile, genaiConfigFile }
    : { kind: 'onnx-export', directory, modelFile, genaiConfigFile };
}

/** The decoder file `genai_config.json` names: `model.decoder` as a string, or its `filename`. */
function genaiDecoderFile(genai: Record<string, unknown> | undefined): string | undefined {
  const decoder = (genai?.model as { decoder?: unknown } | undefined)?.decoder;
  const named =
    typeof decoder === 'string' ? decoder : (decoder as { filename?: unknown } | undefined)?.filename;
  return typeof named === 'string' ? named : undefined;
}

async function readShardFiles(indexFile: string): Promise<string[]> {
  const index = await readJsonIfPresent(indexFile);
  const map = index?.weight_map;
  if (typeof map !== 'object' || map === null) return [];
  const files = Object.values(map).filter((value): value is string => typeof value === 'string');
  return [...new Set(files)].sort();
}

async function isPresent(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
