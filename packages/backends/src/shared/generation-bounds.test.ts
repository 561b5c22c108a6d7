import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, createByteTokenizer, type GenerateRequest, ModelFormatError } from '@azr/core/spec';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { llamaConfigToJson, parseLlamaConfig } from '../model/config.js';
import { writeModelDirectory } from '../model/directory.js';
import { initializeLlamaWeights } from '../model/weights.js';
import { createOnnxPolicy } from '../onnx/policy.js';
import { SMALL_TEST_CONFIG } from '../testing/small-model.js';
import { createTfjsPolicy } from '../tfjs/policy.js';
import { GENERATION_CONFIG_FILE } from './generation-config.js';

const request: GenerateRequest = {
  prompts: ['def f(x):'],
  seed: 11,
  temperature: 1,
  topP: 1,
  maxTokens: 8,
};

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'azr-generation-bounds-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(directory, { recursive: true, force: true });
});

/** A real model folder of the small test model, with `context` positions. */
async function writeFolder(folder: string, context = SMALL_TEST_CONFIG.maxPositionEmbeddings): Promise<void> {
  const config = parseLlamaConfig({
    ...llamaConfigToJson(SMALL_TEST_CONFIG),
    max_position_embeddings: context,
  });
  await writeModelDirectory(folder, {
    config,
    weights: initializeLlamaWeights(config, { seed: 5, standardDeviation: 0.1 }),
    tokenizer: createByteTokenizer(),
  });
}

describe("generation_config.json's end-of-sequence ids", () => {
  it.each(['onnx', 'tfjs'] as const)(
    'end %s generation as the tokenizer end-of-sequence id does, and are saved with the model',
    async (engine) => {
      const create = (folder: string) =>
        engine === 'onnx'
          ? createOnnxPolicy({ model: { directory: folder } })
          : createTfjsPolicy({ model: { directory: folder }, backend: 'wasm' });
      await writeFolder(directory);
      // Without the file: the seeded run's first token is an ordinary byte, and generation goes on.
      const plain = await create(directory);
      const [before] = (await plain.doGenerate(request)).completions;
      await plain.doDispose();
      const first = before?.tokenIds[0] as number;
      expect(first).not.toBe(256);
      expect(before?.tokenIds.length).toBeGreaterThan(1);
      // Declared a stop id (a list, as Qwen2.5 and Llama-3 instruct list theirs), the same token ends it.
      await writeFile(
        join(directory, GENERATION_CONFIG_FILE),
        JSON.stringify({ eos_token_id: [256, first], temperature: 0.7 }),
      );
      const policy = await create(directory);
      try {
        const [after] = (await policy.doGenerate(request)).completions;
        expect(after?.tokenIds).toEqual([first]);
        expect(after?.finishReason).toBe('end-of-sequence');
        expect(after?.logProbs[0]).toBeCloseTo(before?.logProbs[0] as number, 4);
        const saved = join(directory, 'saved');
        await policy.doSave(saved);
        expect(JSON.parse(await readFile(join(saved, GENERATION_CONFIG_FILE), 'utf8'))).toEqual({
          eos_token_id: [256, first],
          temperature: 0.7,
        });
      } finally {
        await policy.doDispose();
      }
    },
    60_000,
  );

  it('accepts one id as a number, and names the file when it is malformed', async () => {
    await writeFolder(directory);
    const file = join(directory, GENERATION_CONFIG_FILE);
    await writeFile(file, JSON.stringify({ eos_token_id: 7 }));
    const policy = await createOnnxPolicy({ model: { directory } });
    expect(policy.generationConfig?.endOfSequenceTokenIds).toEqual([7]);
    await policy.doDispose();
    for (const content of [
      '{ not json',
      '[1, 2]',
      '{"eos_token_id": "</s>"}',
      '{"eos_token_id": [1, 9999]}',
    ]) {
      await writeFile(file, content);
      await expect(createOnnxPolicy({ model: { directory } })).rejects.toSatisfy(
        (error: unknown) =>
          ModelFormatError.isInstance(error) && error.details.path === file && error.message.includes(file),
      );
    }
  });
});

describe("the model's context bounds generation", () => {
  it.each(['onnx', 'tfjs'] as const)(
    '%s: a prompt that leaves room for fewer than maxTokens generates what fits, and says so once',
    async (engine) => {
      await writeFolder(directory, 64);
      const warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      const policy =
        engine === 'onnx'
          ? await createOnnxPolicy({ model: { directory } })
          : await createTfjsPolicy({ model: { directory }, backend: 'wasm' });
      try {
        expect(policy.capabilities.maxSequenceLength).toBe(64);
        const prompt = 'x'.repeat(50);
        const clamped = { ...request, prompts: [prompt, 'short prompt'], maxTokens: 32, greedy: true };
        for (let call = 0; call < 2; call += 1) {
          const [long, short] = (await policy.doGenerate(clamped)).completions;
          expect(long?.promptTokenIds).toHaveLength(50);
          // Greedy on these weights never picks end-of-sequence: the completion runs into the context.
          expect(long?.tokenIds).toHaveLength(14);
          expect(long?.finishReason).toBe('length');
          // The other prompt of the batch keeps its whole budget.
          expect(short?.tokenIds.length).toBeGreaterThan(14);
          // What was generated can be scored: prompt and completion fit the context.
          const { logProbs } = await policy.doComputeLogProbs({
            sequences: [
              { promptTokenIds: long?.promptTokenIds ?? [], completionTokenIds: long?.tokenIds ?? [] },
            ],
            temperature: 1,
          });
          expect(logProbs[0]).toHaveLength(long?.tokenIds.length ?? 0);
        }
        const clampWarnings = warnings.mock.calls.filter(([, options]) =>
          JSON.stringify(options).includes('AZR_MAX_TOKENS_CLAMPED'),
        );
        expect(clampWarnings).toHaveLength(1);
        expect(String(clampWarnings[0]?.[0])).toMatch(/50 tokens leaves room for 14 of maxTokens 32/);
        // A prompt that alone fills the context is still refused, naming both lengths.
        await expect(policy.doGenerate({ ...clamped, prompts: ['y'.repeat(64)] })).rejects.toSatisfy(
          (error: unknown) =>
            ConfigError.isInstance(error) &&
            error.details.field === 'prompts' &&
            /64 tokens/.test(error.message) &&
            /64 positions/.test(error.message),
        );
      } finally {
        await policy.doDispose();
      }
    },
    60_000,
  );
});
