import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectModelFolder, type ModelDirectory, readModelDirectory } from '@azr/backends';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WrittenRealShapeModel, writeRealShapeModel } from '../scripts/write-real-shape-model.mjs';
import { sharedFixtures } from './helpers.js';

// SmolLM2-135M's shape (its config.json), with the phi-2 tokenizer's 50,257 + 38 tokens.
const shape = {
  vocabulary: 50_295,
  width: 576,
  mlpWidth: 1536,
  layers: 30,
  heads: 9,
  keyValueHeads: 3,
  headDimension: 64,
  ropeTheta: 100_000,
  rmsNormEpsilon: 1e-5,
  positions: 8192,
};
const perLayer =
  shape.width * shape.heads * shape.headDimension * 2 + // q and o
  shape.width * shape.keyValueHeads * shape.headDimension * 2 + // k and v
  shape.width * shape.mlpWidth * 3 + // gate, up, down
  shape.width * 2; // two RMSNorms
const expectedParameters = shape.vocabulary * shape.width + shape.layers * perLayer + shape.width;

describe.runIf(sharedFixtures !== undefined)(
  'the real-shape model (SmolLM2-135M with the phi-2 tokenizer; skipped when ../shared/fixtures is absent)',
  { timeout: 120_000 },
  () => {
    let workspace: string;
    let written: WrittenRealShapeModel;
    let model: ModelDirectory;

    beforeAll(async () => {
      workspace = await mkdtemp(join(tmpdir(), 'azr-real-shape-'));
      written = await writeRealShapeModel({
        out: join(workspace, 'smollm2-135m'),
        seed: 0,
        fixtures: sharedFixtures as string,
      });
      model = await readModelDirectory(written.directory);
    }, 120_000);

    afterAll(async () => {
      if (workspace !== undefined) await rm(workspace, { recursive: true, force: true });
    });

    it('is a Hugging Face folder with config, float32 safetensors and the phi-2 tokenizer', async () => {
      expect((await readdir(written.directory)).sort()).toEqual([
        'config.json',
        'model.safetensors',
        'tokenizer.json',
        'tokenizer_config.json',
      ]);
      expect((await inspectModelFolder(written.directory)).kind).toBe('safetensors');
      const fixtureTokenizer = join(sharedFixtures as string, 'tokenizers/phi-2.tokenizer.json');
      expect(await readFile(join(written.directory, 'tokenizer.json'), 'utf8')).toBe(
        await readFile(fixtureTokenizer, 'utf8'),
      );
      const header = await readFile(join(written.directory, 'model.safetensors'));
      const headerLength = Number(header.readBigUInt64LE(0));
      const { __metadata__: _, ...tensors } = JSON.parse(
        header.subarray(8, 8 + headerLength).toString('utf8'),
      );
      const dtypes = Object.values(tensors as Record<string, { dtype: string }>).map(
        (tensor) => tensor.dtype,
      );
      expect(dtypes).toHaveLength(2 + shape.layers * 9);
      expect(new Set(dtypes)).toEqual(new Set(['F32']));
      expect(written.bytes).toBeGreaterThan(expectedParameters * 4);
    });

    it("has SmolLM2-135M's config, with the tokenizer's vocabulary and special tokens", async () => {
      expect(model.config).toEqual({
        modelType: 'llama',
        vocabularySize: shape.vocabulary,
        hiddenSize: shape.width,
        intermediateSize: shape.mlpWidth,
        layerCount: shape.layers,
        headCount: shape.heads,
        keyValueHeadCount: shape.keyValueHeads,
        headDimension: shape.headDimension,
        ropeTheta: shape.ropeTheta,
        rmsNormEpsilon: shape.rmsNormEpsilon,
        maxPositionEmbeddings: shape.positions,
        tieWordEmbeddings: true,
        attentionBias: false,
        bosTokenId: 50_256,
        eosTokenId: 50_256,
      });
      const json = JSON.parse(await readFile(join(written.directory, 'config.json'), 'utf8'));
      expect(json).toMatchObject({
        architectures: ['LlamaForCausalLM'],
        hidden_act: 'silu',
        initializer_range: 1 / 24,
        torch_dtype: 'float32',
      });
      expect(model.tokenizer.vocabularySize).toBe(shape.vocabulary);
      expect(model.tokenizer.endOfSequenceTokenId).toBe(50_256);
    });

    it('encodes code with the phi-2 vocabulary, runs of spaces included', () => {
      const code = 'def f(s):\n    for c in s:\n        if c.isdigit():\n            return c\n    return ""';
      const ids = model.tokenizer.encode(code);
      expect(ids.slice(0, 6)).toEqual([4299, 277, 7, 82, 2599, 198]); // def, ' f', '(', 's', '):', '\n'
      // phi-2's whitespace-run tokens (ids 50257-50294): 4, 8 and 12 spaces.
      expect(ids.filter((id) => id >= 50_257)).toEqual([50_284, 50_280, 50_276, 50_284]);
      expect(ids.every((id) => id < model.config.vocabularySize)).toBe(true);
      expect(model.tokenizer.decode(ids)).toBe(code);
    });

    it('has the parameter count of the shape, random matrices at 1/24 and norms at 1', () => {
      let count = 0;
      for (const tensor of model.weights.values()) count += tensor.data.length;
      expect(count).toBe(written.parameterCount);
      expect(Math.abs(count - expectedParameters) / expectedParameters).toBeLessThan(0.01);
      expect(count).toBe(135_173_376);
      // SmolLM2-135M itself (49,152 tokens) has 134,515,008: the same shape but for the vocabulary.
      expect(Math.abs(count - 134_515_008) / 134_515_008).toBeLessThan(0.01);
      expect(model.weights.has('lm_head.weight')).toBe(false);
      expect(model.weights.get('model.embed_tokens.weight')?.shape).toEqual([shape.vocabulary, shape.width]);
      expect(model.weights.get('model.layers.29.self_attn.k_proj.weight')?.shape).toEqual([192, shape.width]);
      const matrix = model.weights.get('model.layers.0.mlp.up_proj.weight')?.data as Float32Array;
      let sum = 0;
      let squares = 0;
      for (const value of matrix) {
        sum += value;
        squares += value * value;
      }
      const mean = sum / matrix.length;
      expect(Math.abs(mean)).toBeLessThan(1e-3);
      expect(Math.sqrt(squares / matrix.length - mean * mean)).toBeCloseTo(1 / 24, 3);
      expect(model.weights.get('model.norm.weight')?.data.every((value) => value === 1)).toBe(true);
    });
  },
);
