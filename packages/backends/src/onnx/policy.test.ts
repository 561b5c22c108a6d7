import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  createByteTokenizer,
  ModelFormatError,
  type PolicyModelV1,
  UnsupportedCapabilityError,
} from '@azr/core/spec';
import { describePolicyModelConformance } from '@azr/core/test';
import { describe, expect, it } from 'vitest';
import { parseLlamaConfig } from '../model/config.js';
import { writeModelDirectory } from '../model/directory.js';
import { type NamedTensor, readSafetensors, writeSafetensors } from '../model/safetensors.js';
import { initializeLlamaWeights } from '../model/weights.js';
import { fixturesDirectory } from '../testing/fixtures.js';
import { SMALL_TEST_CONFIG } from '../testing/small-model.js';
import { llamaForward, toTfjsWeights } from '../tfjs/llama-forward.js';
import { initializeTfjs } from '../tfjs/runtime.js';
import { DecoderSession, readDecoderLayout } from './decoder-session.js';
import { importGenaiLlamaWeights } from './import-weights.js';
import { buildLlamaGraph } from './llama-graph.js';
import { createOnnxPolicy } from './policy.js';
import { loadOnnxRuntime } from './runtime.js';
import { openSession } from './session.js';

const config = SMALL_TEST_CONFIG;
const model = {
  config,
  weights: initializeLlamaWeights(config, { seed: 3, standardDeviation: 0.1 }),
  tokenizer: createByteTokenizer(),
};

describePolicyModelConformance('onnx policy (SDK-built graph)', () => createOnnxPolicy({ model }), {
  load: (directory) => createOnnxPolicy({ model: { directory } }),
});

const fixtures = fixturesDirectory();
const gpt2 = fixtures && join(fixtures, 'tiny-random-gpt2-fp32-onnx');
const llama = fixtures && join(fixtures, 'tiny-random-LlamaForCausalLM-fp16-onnx');

// Without ../shared/fixtures these are skipped, and fixturesDirectory() says so.
describe.runIf(gpt2 !== undefined && llama !== undefined)('onnx policy on exports by others', () => {
  describePolicyModelConformance(
    'onnx policy (GPT-2 export, past_N layout)',
    () => createOnnxPolicy({ model: { directory: gpt2 as string } }),
    { load: (directory) => createOnnxPolicy({ model: { directory } }) },
  );
  describePolicyModelConformance(
    'onnx policy (float16 Llama export, past_key_values layout)',
    () => createOnnxPolicy({ model: { directory: llama as string } }),
    {
      load: (directory) => createOnnxPolicy({ model: { directory } }),
      // Generation runs the float16 graph step by step, scoring runs it on the whole sequence at once.
      logProbTolerance: 2e-2,
    },
  );
});

/** Logits of one forward pass (positions from 0, no padding) of the SDK's graph. */
async function onnxLogits(
  modelConfig: typeof config,
  weights: typeof model.weights,
  ids: number[][],
): Promise<Float32Array[][]> {
  const runtime = await loadOnnxRuntime();
  const session = await openSession(runtime, await buildLlamaGraph(modelConfig, weights), {});
  const decoder = new DecoderSession(
    runtime,
    session,
    readDecoderLayout(session.inputMetadata, session.outputMetadata, undefined),
  );
  const { logits } = await decoder.run({
    tokenIds: ids,
    attentionMask: ids.map((row) => row.map(() => 1)),
    positionIds: ids.map((row) => row.map((_, position) => position)),
    cache: undefined,
  });
  await session.release();
  if (logits === undefined) throw new Error('no logits');
  return ids.map((row, batchIndex) => row.map((_, position) => logits.row(batchIndex, position).slice()));
}

function largestDifference(left: ArrayLike<number>, right: ArrayLike<number>): number {
  let largest = 0;
  for (let index = 0; index < left.length; index += 1)
    largest = Math.max(largest, Math.abs((left[index] as number) - (right[index] as number)));
  return largest;
}

describe('the onnx engine', () => {
  it('gives the logits of the tfjs engine for the same weights (GQA, q/k/v bias, untied head)', async () => {
    const biased = parseLlamaConfig({
      model_type: 'qwen2',
      vocab_size: 97,
      hidden_size: 48,
      intermediate_size: 80,
      num_hidden_layers: 2,
      num_attention_heads: 6,
      num_key_value_heads: 2,
      max_position_embeddings: 64,
      tie_word_embeddings: false,
      attention_bias: true,
      rope_theta: 1_000_000,
    });
    const weights = initializeLlamaWeights(biased, { seed: 11, standardDeviation: 0.2 });
    const ids = [
      [5, 17, 42, 8, 90, 3, 3],
      [1, 2, 3, 4, 5, 6, 7],
    ];
    const actual = await onnxLogits(biased, weights, ids);
    const { tf } = await initializeTfjs({ backend: 'wasm' });
    const tensors = toTfjsWeights(tf, biased, weights);
    const logits = llamaForward(tf, biased, tensors, ids);
    const expected = await logits.data();
    logits.dispose();
    tensors.dispose();
    let worst = 0;
    for (const [batchIndex, row] of ids.entries())
      for (const position of row.keys()) {
        const offset = (batchIndex * row.length + position) * biased.vocabularySize;
        worst = Math.max(
          worst,
          largestDifference(
            actual[batchIndex]?.[position] as Float32Array,
            expected.subarray(offset, offset + biased.vocabularySize),
          ),
        );
      }
    // Both engines compute in float32; measured 1e-6 on logits of magnitude ~3.
    expect(worst).toBeLessThan(1e-4);
  });

  it.runIf(llama)("reproduces the Llama fixture's logits from its imported weights", async () => {
    const modelPath = join(llama as string, 'model.onnx');
    const imported = await importGenaiLlamaWeights(modelPath);
    const ids = [[1, 450, 4996, 17354, 1701, 29916, 432, 17204]];
    const runtime = await loadOnnxRuntime();
    const session = await openSession(runtime, modelPath, {});
    const decoder = new DecoderSession(
      runtime,
      session,
      readDecoderLayout(session.inputMetadata, session.outputMetadata, modelPath),
    );
    const row = ids[0] as number[];
    const { logits } = await decoder.run({
      tokenIds: ids,
      attentionMask: [row.map(() => 1)],
      positionIds: [row.map((_, position) => position)],
      cache: undefined,
    });
    if (logits === undefined) throw new Error('no logits');
    await session.release();
    const actual = await onnxLogits(imported.config, imported.weights, ids);
    let worst = 0;
    let scale = 0;
    row.forEach((_, position) => {
      const expected = logits.row(0, position);
      for (const value of expected) scale = Math.max(scale, Math.abs(value));
      worst = Math.max(worst, largestDifference(actual[0]?.[position] as Float32Array, expected));
    });
    // The fixture computes in float16 (about 3 significant digits), the SDK's graph in float32.
    expect(worst / scale).toBeLessThan(2e-3);
  });

  it('decodes greedily with its key/value cache exactly as without it', async () => {
    const policy = await createOnnxPolicy({ model });
    const { completions } = await policy.doGenerate({
      prompts: ['function f(x) {'],
      seed: 1,
      temperature: 1,
      topP: 1,
      maxTokens: 12,
      greedy: true,
    });
    await policy.doDispose();
    const completion = completions[0];
    if (completion === undefined) throw new Error('no completion');
    // Without a cache: one full forward pass per prefix, the argmax of its last position.
    const sequence = [...completion.promptTokenIds];
    for (const token of completion.tokenIds) {
      const rows = (await onnxLogits(config, model.weights, [sequence]))[0] as Float32Array[];
      const last = rows.at(-1) as Float32Array;
      expect(last.indexOf(Math.max(...last))).toBe(token);
      sequence.push(token);
    }
  });

  /** Generates `prompts` in one batch and one at a time; expects the same tokens and log probabilities. */
  async function expectSameAsOneAtATime(
    prompts: string[],
    request: {
      seed: number;
      temperature: number;
      topP: number;
      maxTokens: number;
      stop?: readonly string[];
    },
  ) {
    const batched = await createOnnxPolicy({ model, batchSize: prompts.length });
    const alone = await createOnnxPolicy({ model, batchSize: 1 });
    const together = await batched.doGenerate({ prompts, ...request });
    const separately = await alone.doGenerate({ prompts, ...request });
    together.completions.forEach((completion, index) => {
      const single = separately.completions[index];
      expect(completion.tokenIds, `prompt ${index}`).toEqual(single?.tokenIds);
      expect(largestDifference(completion.logProbs, single?.logProbs ?? [])).toBeLessThan(1e-5);
    });
    await batched.doDispose();
    await alone.doDispose();
    return together;
  }

  it('generates the same completions in a padded batch as one prompt at a time', async () => {
    const prompts = ['a', 'def f(a):\n    return a', 'function g(y) {', 'x = [1, 2'];
    const request = { seed: 4, temperature: 0.9, topP: 0.95, maxTokens: 10 } as const;
    await expectSameAsOneAtATime(prompts, request);
  });

  it('runs a repeated prompt once and samples each of its rows on its own, as one prompt at a time', async () => {
    // The answers to one task: the same prompt several times, mixed with others of other lengths.
    const prompts = ['f(4)=', 'f(4)=', 'def f(a):', 'f(4)=', 'x', 'f(4)=', 'def f(a):', 'f(4)='];
    const request = { seed: 9, temperature: 1, topP: 1, maxTokens: 6 } as const;
    const together = await expectSameAsOneAtATime(prompts, request);
    // Each row draws its own tokens: the five answers to 'f(4)=' are not one answer copied.
    const repeated = together.completions.filter((_, index) => prompts[index] === 'f(4)=');
    expect(new Set(repeated.map((completion) => completion.text)).size).toBeGreaterThan(1);
  });

  it('lets a row that stops early leave the batch, its cache rows dropped, as one prompt at a time', async () => {
    const prompts = ['abc', 'def f(a):', 'x = [1, 2', 'function g(y) {', 'q', 'return'];
    // Any vowel or digit ends a completion: with the byte tokenizer, some rows meet one early.
    const stop = [...'aeiou0123456789'];
    const request = { seed: 5, temperature: 1, topP: 1, maxTokens: 12, stop } as const;
    const together = await expectSameAsOneAtATime(prompts, request);
    // The seed makes some rows stop early while others run to maxTokens: the batch shrinks mid-way.
    const reasons = together.completions.map((completion) => completion.finishReason);
    expect(reasons).toContain('stop');
    expect(reasons).toContain('length');
  });

  it('generates and trains the same from packed and from shared rollout weights', async () => {
    const packed = await createOnnxPolicy({ model, rolloutWeights: 'packed' });
    const shared = await createOnnxPolicy({ model, rolloutWeights: 'shared' });
    const request = {
      prompts: ['abc', 'def f(a):'],
      seed: 1,
      temperature: 1,
      topP: 1,
      maxTokens: 8,
      greedy: true,
    };
    const expectSame = async () => {
      const [left, right] = [await packed.doGenerate(request), await shared.doGenerate(request)];
      left.completions.forEach((completion, index) => {
        expect(completion.tokenIds).toEqual(right.completions[index]?.tokenIds);
        expect(largestDifference(completion.logProbs, right.completions[index]?.logProbs ?? [])).toBeLessThan(
          1e-5,
        );
      });
      return left;
    };
    const before = await expectSame();
    const completion = before.completions[0] as (typeof before.completions)[number];
    const sequence = {
      promptTokenIds: completion.promptTokenIds,
      completionTokenIds: completion.tokenIds,
      oldLogProbs: completion.logProbs,
      advantages: completion.logProbs.map(() => 1),
    };
    const batch = { sequences: [sequence], temperature: 1, loss: { clipRatio: 0.2, entropyCoefficient: 0 } };
    for (let step = 0; step < 3; step += 1) {
      const [left, right] = [await packed.doTrainStep(batch), await shared.doTrainStep(batch)];
      expect(Math.abs(left.loss - right.loss)).toBeLessThan(1e-6);
    }
    // The packed session was rebuilt from the updated weights, the shared one read them: both moved, together.
    const after = await expectSame();
    expect(after.completions[0]?.logProbs).not.toEqual(before.completions[0]?.logProbs);
    await packed.doDispose();
    await shared.doDispose();
  });

  it('refuses an unknown rolloutWeights with a ConfigError', async () => {
    await expect(createOnnxPolicy({ model, rolloutWeights: 'mapped' as 'packed' })).rejects.toSatisfy(
      (error: unknown) => ConfigError.isInstance(error) && error.details.field === 'rolloutWeights',
    );
  });

  it('refuses a recomputeActivations that is not a boolean with a ConfigError', async () => {
    await expect(
      createOnnxPolicy({ model, recomputeActivations: 'yes' as unknown as boolean }),
    ).rejects.toSatisfy(
      (error: unknown) => ConfigError.isInstance(error) && error.details.field === 'recomputeActivations',
    );
  });

  it('refuses a microBatchLoop that is not a boolean with a ConfigError', async () => {
    await expect(createOnnxPolicy({ model, microBatchLoop: 1 as unknown as boolean })).rejects.toSatisfy(
      (error: unknown) => ConfigError.isInstance(error) && error.details.field === 'microBatchLoop',
    );
  });

  it('refuses a joinPrompts that is not a boolean with a ConfigError', async () => {
    await expect(createOnnxPolicy({ model, joinPrompts: 'no' as unknown as boolean })).rejects.toSatisfy(
      (error: unknown) => ConfigError.isInstance(error) && error.details.field === 'joinPrompts',
    );
  });

  it('gives the same completions with prompts joining the batch and in batches one after the other', async () => {
    const prompts = [
      'abc',
      'def f(a):',
      'x = [1, 2',
      'function g(y) {',
      'q',
      'return',
      'f(4)=',
      'f(4)=',
      'while',
    ];
    const request = {
      prompts,
      seed: 5,
      temperature: 1,
      topP: 1,
      maxTokens: 12,
      stop: [...'aeiou0123456789'],
    };
    const joined = await createOnnxPolicy({ model, batchSize: 3 });
    const batched = await createOnnxPolicy({ model, batchSize: 3, joinPrompts: false });
    const [together, inBatches] = [await joined.doGenerate(request), await batched.doGenerate(request)];
    together.completions.forEach((completion, index) => {
      const other = inBatches.completions[index];
      expect(completion.tokenIds, `prompt ${index}`).toEqual(other?.tokenIds);
      expect(largestDifference(completion.logProbs, other?.logProbs ?? [])).toBeLessThan(1e-5);
    });
    expect(new Set(together.completions.map((completion) => completion.finishReason))).toEqual(
      new Set(['stop', 'length']),
    );
    await joined.doDispose();
    await batched.doDispose();
  });

  it("takes the same update recomputing the layers' activations as keeping them", async () => {
    const batch = {
      sequences: [
        { promptTokenIds: [3, 4, 5], completionTokenIds: [6, 7], oldLogProbs: [-2, -2], advantages: [1, 1] },
        {
          promptTokenIds: [3, 9],
          completionTokenIds: [8, 6, 2],
          oldLogProbs: [-2, -2, -2],
          advantages: [-1, -1, -1],
        },
      ],
      temperature: 1,
      loss: { clipRatio: 0.2, entropyCoefficient: 0 },
    };
    const kept = await createOnnxPolicy({ model });
    const recomputed = await createOnnxPolicy({ model, recomputeActivations: true });
    const [a, b] = [await kept.doTrainStep(batch), await recomputed.doTrainStep(batch)];
    expect(b.loss).toBeCloseTo(a.loss, 6);
    expect(b.gradientNorm).toBeCloseTo(a.gradientNorm, 5);
    const [left, right] = [await kept.readWeights(), await recomputed.readWeights()];
    for (const [name, { data }] of left)
      expect(
        Math.max(...data.map((value, index) => Math.abs(value - (right.get(name)?.data[index] ?? NaN)))),
        name,
      ).toBeLessThan(1e-6);
    await kept.doDispose();
    await recomputed.doDispose();
  });

  it('replaces its weights with writeWeights and reads them back', async () => {
    const policy = await createOnnxPolicy({ model });
    const request = { prompts: ['abc'], seed: 1, temperature: 1, topP: 1, maxTokens: 8, greedy: true };
    const before = await policy.doGenerate(request);
    const other = initializeLlamaWeights(config, { seed: 99, standardDeviation: 0.1 });
    await policy.writeWeights(other);
    const read = await policy.readWeights();
    expect(read.get('model.layers.1.mlp.up_proj.weight')?.data).toEqual(
      other.get('model.layers.1.mlp.up_proj.weight')?.data,
    );
    const after = await policy.doGenerate(request);
    expect(after.completions[0]?.logProbs).not.toEqual(before.completions[0]?.logProbs);
    const fresh = await createOnnxPolicy({ model: { config, weights: other, tokenizer: model.tokenizer } });
    expect((await fresh.doGenerate(request)).completions[0]?.logProbs).toEqual(
      after.completions[0]?.logProbs,
    );
    await expect(
      policy.writeWeights(new Map([...other].filter(([name]) => name !== 'model.norm.weight'))),
    ).rejects.toSatisfy((error: unknown) => ModelFormatError.isInstance(error));
    await fresh.doDispose();
    await policy.doDispose();
  });
});

describe('onnx policy errors', () => {
  it('names an execution provider this host lacks with a ConfigError', async () => {
    await expect(createOnnxPolicy({ model, executionProviders: ['coreml'] })).rejects.toSatisfy(
      (error: unknown) =>
        ConfigError.isInstance(error) &&
        error.details.field === 'executionProviders' &&
        error.message.includes('coreml'),
    );
    await expect(createOnnxPolicy({ model, executionProviders: ['quantum' as 'cpu'] })).rejects.toSatisfy(
      (error: unknown) => ConfigError.isInstance(error) && error.details.allowed?.includes('cuda') === true,
    );
  });

  it('loads a sharded checkpoint as it loads the same weights in one file', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'azr-onnx-sharded-'));
    try {
      await writeModelDirectory(directory, model);
      const whole = readSafetensors(await readFile(join(directory, 'model.safetensors')));
      await unlink(join(directory, 'model.safetensors'));
      const shards = [new Map<string, NamedTensor>(), new Map<string, NamedTensor>()];
      const weightMap: Record<string, string> = {};
      for (const [name, tensor] of whole) {
        const shard = name.startsWith('model.layers.1.') || name === 'model.norm.weight' ? 1 : 0;
        shards[shard]?.set(name, tensor);
        weightMap[name] = `model-0000${shard + 1}-of-00002.safetensors`;
      }
      for (const [index, tensors] of shards.entries())
        await writeFile(
          join(directory, `model-0000${index + 1}-of-00002.safetensors`),
          writeSafetensors(tensors),
        );
      await writeFile(
        join(directory, 'model.safetensors.index.json'),
        JSON.stringify({ weight_map: weightMap }),
      );
      const request = { prompts: ['abc'], seed: 1, temperature: 1, topP: 1, maxTokens: 8, greedy: true };
      const sharded = await createOnnxPolicy({ model: { directory } });
      const inMemory = await createOnnxPolicy({ model });
      try {
        expect((await sharded.doGenerate(request)).completions[0]?.tokenIds).toEqual(
          (await inMemory.doGenerate(request)).completions[0]?.tokenIds,
        );
      } finally {
        await sharded.doDispose();
        await inMemory.doDispose();
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('rejects a folder with no model in it, and a bad batch size', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'azr-onnx-empty-'));
    try {
      await writeFile(join(directory, 'notes.txt'), 'nothing here');
      await expect(createOnnxPolicy({ model: { directory } })).rejects.toSatisfy((error: unknown) =>
        ModelFormatError.isInstance(error),
      );
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
    await expect(createOnnxPolicy({ model, batchSize: 0 })).rejects.toSatisfy(
      (error: unknown) => ConfigError.isInstance(error) && error.details.field === 'batchSize',
    );
  });

  it.runIf(gpt2)('refuses to hand out or replace the weights of an imported export', async () => {
    const policy: PolicyModelV1 & { readWeights(): Promise<unknown> } = await createOnnxPolicy({
      model: { directory: gpt2 as string },
    });
    await expect(policy.readWeights()).rejects.toSatisfy((error: unknown) =>
      UnsupportedCapabilityError.isInstance(error),
    );
    await policy.doDispose();
  });
});
