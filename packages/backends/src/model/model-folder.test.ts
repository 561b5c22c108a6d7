import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createByteTokenizer, ModelFormatError } from '@azr/core/spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectModelFormatError } from '../testing/expect-model-format-error.js';
import { SMALL_TEST_CONFIG } from '../testing/small-model.js';
import { readModelDirectory, writeModelDirectory } from './directory.js';
import { inspectModelFolder, inspectOnnxModelFile } from './model-folder.js';
import { initializeLlamaWeights } from './weights.js';

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'azr-model-folder-'));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Writes each file (a string is its text, anything else its JSON) into the test folder. */
async function holding(files: Record<string, unknown>): Promise<string> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(directory, name, '..'), { recursive: true });
    await writeFile(join(directory, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return directory;
}

describe('inspectModelFolder', () => {
  it('finds a safetensors folder, which wins over an ONNX export beside it', async () => {
    await holding({ 'config.json': {}, 'model.safetensors': '', 'model.onnx': '', 'genai_config.json': {} });
    expect(await inspectModelFolder(directory)).toEqual({
      kind: 'safetensors',
      directory,
      configFile: join(directory, 'config.json'),
      weightsFile: join(directory, 'model.safetensors'),
    });
  });

  it('finds a sharded checkpoint and the shards its index names', async () => {
    await holding({
      'config.json': {},
      'model.safetensors.index.json': {
        metadata: { total_size: 10 },
        weight_map: {
          'model.norm.weight': 'model-00002-of-00002.safetensors',
          'model.embed_tokens.weight': 'model-00001-of-00002.safetensors',
          'lm_head.weight': 'model-00002-of-00002.safetensors',
        },
      },
    });
    expect(await inspectModelFolder(directory)).toEqual({
      kind: 'sharded-safetensors',
      directory,
      configFile: join(directory, 'config.json'),
      indexFile: join(directory, 'model.safetensors.index.json'),
      shardFiles: ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'],
    });
  });

  it('finds an onnxruntime-genai export: model.onnx beside genai_config.json', async () => {
    await holding({ 'model.onnx': '', 'model.onnx.data': '', 'genai_config.json': { model: {} } });
    expect(await inspectModelFolder(directory)).toEqual({
      kind: 'genai-onnx',
      directory,
      modelFile: join(directory, 'model.onnx'),
      genaiConfigFile: join(directory, 'genai_config.json'),
    });
  });

  it('takes the decoder genai_config.json names, as a string or a filename, over model.onnx', async () => {
    await holding({
      'past.onnx': '',
      'model.onnx': '',
      'genai_config.json': { model: { decoder: { filename: 'past.onnx' } } },
    });
    expect(await inspectModelFolder(directory)).toEqual({
      kind: 'onnx-export',
      directory,
      modelFile: join(directory, 'past.onnx'),
      genaiConfigFile: join(directory, 'genai_config.json'),
    });
    await holding({ 'genai_config.json': { model: { decoder: 'past.onnx' } } });
    expect(await inspectModelFolder(directory)).toMatchObject({ modelFile: join(directory, 'past.onnx') });
  });

  it('falls back to model.onnx when the decoder genai_config.json names is not there', async () => {
    await holding({
      'model.onnx': '',
      'genai_config.json': { model: { decoder: { filename: 'gone.onnx' } } },
    });
    expect(await inspectModelFolder(directory)).toMatchObject({
      kind: 'genai-onnx',
      modelFile: join(directory, 'model.onnx'),
    });
  });

  it('finds a Hugging Face ONNX export: model.onnx, then decoder_model_merged.onnx, then the only .onnx', async () => {
    await holding({ 'decoder_model.onnx': '', 'decoder_model_merged.onnx': '', 'config.json': {} });
    expect(await inspectModelFolder(directory)).toEqual({
      kind: 'onnx-export',
      directory,
      modelFile: join(directory, 'decoder_model_merged.onnx'),
      genaiConfigFile: undefined,
    });
    await holding({ 'model.onnx': '' });
    expect(await inspectModelFolder(directory)).toMatchObject({
      kind: 'onnx-export',
      modelFile: join(directory, 'model.onnx'),
    });
    const single = join(directory, 'single');
    await holding({ 'single/exported.onnx': '', 'single/tokenizer.json': '{}' });
    expect(await inspectModelFolder(single)).toMatchObject({
      kind: 'onnx-export',
      modelFile: join(single, 'exported.onnx'),
    });
  });

  it('prefers an ONNX decoder to a sharded checkpoint beside it', async () => {
    await holding({
      'model.safetensors.index.json': { weight_map: {} },
      'config.json': {},
      'model.onnx': '',
    });
    expect(await inspectModelFolder(directory)).toMatchObject({ kind: 'onnx-export' });
  });

  it('searches the folder only, not an onnx/ subfolder', async () => {
    await holding({ 'onnx/model.onnx': '', 'config.json': {} });
    await expectModelFormatError(inspectModelFolder(directory), /has no model\.safetensors/);
  });

  it('names what is missing in an empty folder', async () => {
    await expectModelFormatError(
      inspectModelFolder(directory),
      new RegExp(`^${directory} has no model\\.safetensors \\(with config\\.json\\) and no ONNX decoder`),
    );
    await holding({ 'tokenizer.json': '{}', 'config.json': {} });
    await expectModelFormatError(inspectModelFolder(directory), /has no model\.safetensors/);
  });

  it('names config.json when model.safetensors has none beside it', async () => {
    await holding({ 'model.safetensors': '' });
    const error = await inspectModelFolder(directory).catch((thrown: unknown) => thrown);
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect((error as ModelFormatError).message).toMatch(/config\.json is missing/);
    expect((error as ModelFormatError).details.path).toBe(join(directory, 'config.json'));
  });

  it('names a folder that is not there', async () => {
    await expectModelFormatError(
      inspectModelFolder(join(directory, 'absent')),
      /^Cannot read the model folder .*absent\.$/,
    );
  });

  it('refuses to guess between several ONNX files', async () => {
    await holding({ 'a.onnx': '', 'b.onnx': '' });
    await expectModelFormatError(
      inspectModelFolder(directory),
      /holds several ONNX files \(a\.onnx, b\.onnx\); name one with \{ file \}/,
    );
  });

  it('names a genai_config.json or a shard index that is not JSON', async () => {
    await holding({ 'model.onnx': '', 'genai_config.json': '{ not json' });
    await expectModelFormatError(inspectModelFolder(directory), /genai_config\.json is not JSON/);
    const sharded = join(directory, 'sharded');
    await holding({ 'sharded/model.safetensors.index.json': '{ not json' });
    await expectModelFormatError(inspectModelFolder(sharded), /model\.safetensors\.index\.json is not JSON/);
  });
});

describe('inspectOnnxModelFile', () => {
  it('describes a named file, genai or not', async () => {
    await holding({ 'past.onnx': '', 'model.onnx': '' });
    expect(await inspectOnnxModelFile(join(directory, 'past.onnx'))).toEqual({
      kind: 'onnx-export',
      directory,
      modelFile: join(directory, 'past.onnx'),
      genaiConfigFile: undefined,
    });
    await holding({ 'genai_config.json': {} });
    expect(await inspectOnnxModelFile(join(directory, 'model.onnx'))).toMatchObject({
      kind: 'genai-onnx',
      genaiConfigFile: join(directory, 'genai_config.json'),
    });
  });

  it('names a file that is not there', async () => {
    await expectModelFormatError(
      inspectOnnxModelFile(join(directory, 'gone.onnx')),
      /^No ONNX model at .*gone\.onnx\.$/,
    );
  });
});

describe('sharded checkpoints', () => {
  it('need config.json beside the index', async () => {
    await holding({ 'model.safetensors.index.json': { weight_map: {} } });
    await expectModelFormatError(
      inspectModelFolder(directory),
      /has model\.safetensors\.index\.json but its config\.json is missing/,
    );
  });
});

describe('readModelDirectory', () => {
  it('reads the folder inspectModelFolder finds, and refuses an ONNX export', async () => {
    const config = SMALL_TEST_CONFIG;
    const model = join(directory, 'model');
    await writeModelDirectory(model, {
      config,
      weights: initializeLlamaWeights(config, { seed: 1 }),
      tokenizer: createByteTokenizer(),
    });
    expect(await inspectModelFolder(model)).toMatchObject({ kind: 'safetensors' });
    expect((await readModelDirectory(model)).config).toEqual(config);
    await holding({ 'export/model.onnx': '' });
    await expectModelFormatError(
      readModelDirectory(join(directory, 'export')),
      /holds an ONNX export \(model\.onnx\), not model\.safetensors/,
    );
  });
});
