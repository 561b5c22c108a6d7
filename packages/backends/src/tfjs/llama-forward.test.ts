import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLlamaConfig } from '../model/config.js';
import { halfToFloat } from '../model/safetensors.js';
import { initializeLlamaWeights } from '../model/weights.js';
import { importGenaiLlamaWeights } from '../onnx/import-weights.js';
import { loadOnnxRuntime } from '../onnx/runtime.js';
import { fixturesDirectory } from '../testing/fixtures.js';
import {
  disposeCache,
  type LlamaCache,
  llamaForward,
  llamaForwardCached,
  toTfjsWeights,
} from './llama-forward.js';
import { initializeTfjs } from './runtime.js';

const fixtures = fixturesDirectory();

describe.runIf(fixtures)('the tfjs Llama forward pass', () => {
  it("reproduces the Llama fixture's logits from its ONNX initializers", async () => {
    const modelPath = join(fixtures as string, 'tiny-random-LlamaForCausalLM-fp16-onnx', 'model.onnx');
    const { config, weights } = await importGenaiLlamaWeights(modelPath);
    expect(config).toMatchObject({
      layerCount: 2,
      headCount: 1,
      hiddenSize: 16,
      vocabularySize: 32_000,
      ropeTheta: 10_000,
    });
    const ids = [[1, 450, 4996, 17354, 1701, 29916, 432, 17204]];
    const length = ids[0]?.length as number;

    const runtime = await loadOnnxRuntime();
    const session = await runtime.InferenceSession.create(modelPath, {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
    });
    const int64 = (values: number[]) =>
      new runtime.Tensor('int64', BigInt64Array.from(values.map(BigInt)), [1, length]);
    const feeds: Record<string, InstanceType<typeof runtime.Tensor>> = {
      input_ids: int64(ids[0] as number[]),
      attention_mask: int64(Array(length).fill(1)),
      position_ids: int64(Array.from({ length }, (_, index) => index)),
    };
    for (let layer = 0; layer < config.layerCount; layer += 1) {
      for (const kind of ['key', 'value'])
        feeds[`past_key_values.${layer}.${kind}`] = new runtime.Tensor(
          'float16',
          new Uint16Array(0),
          [1, 1, 0, 16],
        );
    }
    const output = await session.run(feeds);
    await session.release();
    const expected = Array.from(output.logits?.data as Uint16Array, halfToFloat);

    const { tf } = await initializeTfjs({ backend: 'wasm' });
    const tensors = toTfjsWeights(tf, config, weights);
    const before = tf.memory().numTensors;
    const logits = llamaForward(tf, config, tensors, ids);
    const actual = Array.from(await logits.data());
    logits.dispose();
    expect(tf.memory().numTensors).toBe(before); // the forward pass leaks no tensor
    tensors.dispose();
    expect(tf.memory().numTensors).toBe(before - tensors.tensors.size);

    expect(actual).toHaveLength(expected.length);
    const scale = expected.reduce((largest, value) => Math.max(largest, Math.abs(value)), 0);
    const worst = actual.reduce(
      (largest, value, index) => Math.max(largest, Math.abs(value - (expected[index] as number))),
      0,
    );
    // onnxruntime computes in float16 (about 3 significant digits); this forward pass in float32.
    // Measured: 2.5e-4 on logits up to 0.37 (7e-4 relative).
    expect(worst / scale).toBeLessThan(2e-3);
    const argmax = (values: number[], row: number) => {
      const slice = values.slice(row * config.vocabularySize, (row + 1) * config.vocabularySize);
      return slice.reduce((best, value, index) => (value > (slice[best] as number) ? index : best), 0);
    };
    for (let row = 0; row < length; row += 1) expect(argmax(actual, row)).toBe(argmax(expected, row));
  }, 60_000);
});

describe('the tfjs Llama forward pass with a cache', () => {
  it('generates greedily with the cache exactly what it generates without one', async () => {
    const { tf } = await initializeTfjs({ backend: 'wasm' });
    const config = parseLlamaConfig({
      model_type: 'llama',
      vocab_size: 64,
      hidden_size: 32,
      intermediate_size: 48,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
    });
    const weights = toTfjsWeights(
      tf,
      config,
      initializeLlamaWeights(config, { seed: 5, standardDeviation: 0.2 }),
    );
    const prompt = [
      [3, 17, 42, 8],
      [9, 9, 1, 60],
    ];
    const before = tf.memory().numTensors;
    const lastRow = async (logits: Awaited<ReturnType<typeof llamaForward>>) => {
      const [batch, length, vocabulary] = logits.shape as [number, number, number];
      const data = await logits.data();
      return Array.from({ length: batch }, (_, row) =>
        Array.from(
          data.slice((row * length + length - 1) * vocabulary, (row * length + length) * vocabulary),
        ),
      );
    };
    const argmax = (values: number[]) =>
      values.reduce((best, value, index) => (value > (values[best] as number) ? index : best), 0);

    const plain = prompt.map((row) => [...row]);
    const plainLogits: number[][][] = [];
    for (let step = 0; step < 6; step += 1) {
      const logits = llamaForward(tf, config, weights, plain);
      const rows = await lastRow(logits);
      logits.dispose();
      plainLogits.push(rows);
      for (const [index, row] of rows.entries()) plain[index]?.push(argmax(row));
    }

    const cached = prompt.map((row) => [...row]);
    let cache: LlamaCache | undefined;
    let input = prompt;
    for (let step = 0; step < 6; step += 1) {
      const { logits, cache: next } = llamaForwardCached(tf, config, weights, input, cache);
      disposeCache(cache);
      cache = next;
      const rows = await lastRow(logits);
      logits.dispose();
      rows.forEach((row, index) => {
        const expected = plainLogits[step]?.[index] as number[];
        expect(
          Math.max(...row.map((value, position) => Math.abs(value - (expected[position] as number)))),
        ).toBeLessThan(1e-4);
      });
      const tokens = rows.map(argmax);
      for (const [index, token] of tokens.entries()) cached[index]?.push(token);
      input = tokens.map((token) => [token]);
    }
    disposeCache(cache);
    expect(cached).toEqual(plain);
    expect(new Set(plain.flat()).size).toBeGreaterThan(4);
    expect(tf.memory().numTensors).toBe(before);
    weights.dispose();
  });
});
