import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createByteTokenizer, ModelFormatError } from '@azr/core/spec';
import { describe, expect, it } from 'vitest';
import { fixturesDirectory } from '../testing/fixtures.js';
import { LLAMA_PRESETS, llamaConfigToJson, parseLlamaConfig } from './config.js';
import { readModelDirectory, writeModelDirectory } from './directory.js';
import { halfToFloat, readSafetensors, writeSafetensors } from './safetensors.js';
import { loadHuggingFaceTokenizer } from './tokenizer.js';
import { checkLlamaWeights, initializeLlamaWeights, llamaWeightShapes } from './weights.js';

const QWEN_LIKE = {
  model_type: 'qwen2',
  vocab_size: 1000,
  hidden_size: 64,
  intermediate_size: 176,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rope_theta: 1_000_000,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: true,
  eos_token_id: [7, 8],
};

describe('Llama-family configs', () => {
  it('reads Hugging Face config.json fields, with the family defaults', () => {
    const config = parseLlamaConfig(QWEN_LIKE);
    expect(config).toMatchObject({
      headDimension: 16,
      keyValueHeadCount: 2,
      attentionBias: true,
      ropeTheta: 1_000_000,
      tieWordEmbeddings: true,
      eosTokenId: 7,
      maxPositionEmbeddings: 2048,
    });
    expect(parseLlamaConfig(llamaConfigToJson(config))).toEqual(config);
  });

  it('names what is wrong', () => {
    expect(() => parseLlamaConfig({ ...QWEN_LIKE, hidden_size: undefined })).toThrow(
      /"hidden_size" is missing/,
    );
    expect(() => parseLlamaConfig({ ...QWEN_LIKE, num_key_value_heads: 3 })).toThrow(
      /4 attention heads cannot share 3/,
    );
    expect(() => parseLlamaConfig({ ...QWEN_LIKE, model_type: 'gpt2' })).toThrow(ModelFormatError);
    expect(() => parseLlamaConfig({ ...QWEN_LIKE, rope_theta: -1 })).toThrow(/rope_theta/);
  });

  it('has the presets the SDK uses', () => {
    expect(LLAMA_PRESETS.benchmark).toMatchObject({
      vocabularySize: 128,
      hiddenSize: 128,
      layerCount: 4,
      headCount: 4,
      maxPositionEmbeddings: 128,
    });
    expect(LLAMA_PRESETS.tiny.vocabularySize).toBe(257);
  });
});

describe('safetensors', () => {
  it('writes and reads back tensors exactly, with metadata', () => {
    const tensors = new Map([
      ['b.weight', { shape: [2, 3], data: Float32Array.from([1, -2.5, 3, 0, 1e-8, -0]) }],
      ['a.bias', { shape: [1], data: Float32Array.from([Math.PI]) }],
    ]);
    const bytes = writeSafetensors(tensors, { format: 'pt' });
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
    const read = readSafetensors(bytes);
    expect([...read.keys()]).toEqual(['a.bias', 'b.weight']);
    expect(read.get('b.weight')).toEqual({
      shape: [2, 3],
      data: Float32Array.from([1, -2.5, 3, 0, 1e-8, -0]),
      dtype: 'F32',
    });
    expect(read.get('a.bias')?.data[0]).toBe(Math.fround(Math.PI));
  });

  it('reads float16 and bfloat16 tensors', () => {
    const header = JSON.stringify({
      h: { dtype: 'F16', shape: [4], data_offsets: [0, 8] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [8, 12] },
    });
    const bytes = new Uint8Array(8 + header.length + 12);
    const view = new DataView(bytes.buffer);
    view.setBigUint64(0, BigInt(header.length), true);
    bytes.set(new TextEncoder().encode(header), 8);
    const start = 8 + header.length;
    for (const [index, bits] of [0x3c00, 0xc000, 0x3555, 0x7c00].entries())
      view.setUint16(start + index * 2, bits, true);
    for (const [index, bits] of [0x3f80, 0xc040].entries()) view.setUint16(start + 8 + index * 2, bits, true);
    const read = readSafetensors(bytes);
    expect(Array.from(read.get('h')?.data ?? [])).toEqual([
      1,
      -2,
      Math.fround(halfToFloat(0x3555)),
      Number.POSITIVE_INFINITY,
    ]);
    expect(halfToFloat(0x3555)).toBeCloseTo(1 / 3, 3);
    expect(Array.from(read.get('b')?.data ?? [])).toEqual([1, -3]);
  });

  it('refuses malformed files with a ModelFormatError', () => {
    expect(() => readSafetensors(new Uint8Array(4))).toThrow(ModelFormatError);
    const header = JSON.stringify({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 8] } });
    const bytes = new Uint8Array(8 + header.length + 8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(new TextEncoder().encode(header), 8);
    expect(() => readSafetensors(bytes, 'model.safetensors')).toThrow(
      /model.safetensors: tensor x's data does not match its shape/,
    );
  });
});

describe('Llama weights', () => {
  const config = parseLlamaConfig(QWEN_LIKE);

  it('names and shapes every tensor as Hugging Face does', () => {
    const shapes = llamaWeightShapes(config);
    expect(shapes.get('model.layers.1.self_attn.k_proj.weight')).toEqual([32, 64]);
    expect(shapes.get('model.layers.0.self_attn.q_proj.bias')).toEqual([64]);
    expect(shapes.has('lm_head.weight')).toBe(false);
    expect(shapes.size).toBe(1 + 2 * 12 + 1);
  });

  it('initialises the same weights from the same seed, norms at one', () => {
    const first = initializeLlamaWeights(config, { seed: 3 });
    const again = initializeLlamaWeights(config, { seed: 3 });
    const other = initializeLlamaWeights(config, { seed: 4 });
    expect(again).toEqual(first);
    expect(other.get('model.embed_tokens.weight')).not.toEqual(first.get('model.embed_tokens.weight'));
    expect(first.get('model.norm.weight')?.data.every((value) => value === 1)).toBe(true);
    const embedding = first.get('model.embed_tokens.weight')?.data ?? new Float32Array();
    const mean = embedding.reduce((total, value) => total + value, 0) / embedding.length;
    const deviation = Math.sqrt(
      embedding.reduce((total, value) => total + (value - mean) ** 2, 0) / embedding.length,
    );
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(deviation).toBeCloseTo(0.02, 3);
  });

  it('round-trips through safetensors and refuses a misshapen tensor', () => {
    const weights = initializeLlamaWeights(config, { seed: 1 });
    const read = readSafetensors(writeSafetensors(weights));
    expect(checkLlamaWeights(config, read)).toEqual(weights);
    read.delete('model.norm.weight');
    expect(() => checkLlamaWeights(config, read)).toThrow(/no tensor model.norm.weight/);
  });
});

const fixtures = fixturesDirectory();

describe.runIf(fixtures)('Hugging Face tokenizers from the shared fixtures', () => {
  it.each([
    ['tokenizers', 'phi-2.', 50_295],
    ['tiny-random-LlamaForCausalLM-fp16-onnx', '', 32_000],
    ['tiny-random-gpt2-fp32-onnx', '', 1000],
  ])('%s round-trips code and knows its special tokens', async (folder, prefix, size) => {
    const tokenizer = await loadHuggingFaceTokenizer(join(fixtures as string, folder), { prefix });
    expect(tokenizer.vocabularySize).toBeGreaterThanOrEqual(size - 1);
    const text = 'def f(a):\n    return a + 1';
    const ids = tokenizer.encode(text);
    expect(ids.length).toBeGreaterThan(3);
    expect(tokenizer.decode(ids).replace(/^ /, '')).toBe(text);
    expect(tokenizer.decode([...ids, tokenizer.endOfSequenceTokenId]).replace(/^ /, '')).toBe(text);
    expect(tokenizer.tokenText(tokenizer.endOfSequenceTokenId)).toBe('');
  });

  it('names a folder without a tokenizer', async () => {
    await expect(loadHuggingFaceTokenizer(fixtures as string)).rejects.toThrow(ModelFormatError);
  });

  it("renders an instruct checkpoint's chat template, and has none for a base model", async () => {
    const base = await loadHuggingFaceTokenizer(join(fixtures as string, 'tokenizers'), { prefix: 'phi-2.' });
    expect(base.applyChatTemplate).toBeUndefined();
    const directory = await mkdtemp(join(tmpdir(), 'azr-chat-'));
    try {
      const config = JSON.parse(
        await readFile(join(fixtures as string, 'tokenizers', 'phi-2.tokenizer_config.json'), 'utf8'),
      );
      await copyFile(
        join(fixtures as string, 'tokenizers', 'phi-2.tokenizer.json'),
        join(directory, 'tokenizer.json'),
      );
      // A ChatML template, as Qwen2.5's instruct checkpoints carry.
      const chatml =
        "{% for message in messages %}{{ '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
      const write = (template: unknown) =>
        writeFile(
          join(directory, 'tokenizer_config.json'),
          JSON.stringify({ ...config, chat_template: template }),
        );
      await write(chatml);
      const chat = await loadHuggingFaceTokenizer(directory);
      expect(
        chat.applyChatTemplate?.([
          { role: 'system', content: 'Reason, then answer.' },
          { role: 'user', content: 'What is f(2)?' },
        ]),
      ).toBe(
        '<|im_start|>system\nReason, then answer.<|im_end|>\n<|im_start|>user\nWhat is f(2)?<|im_end|>\n<|im_start|>assistant\n',
      );
      await write([
        { name: 'tool_use', template: 'x' },
        { name: 'default', template: chatml },
      ]);
      expect((await loadHuggingFaceTokenizer(directory)).applyChatTemplate).toBeTypeOf('function');
      await write('{% for message in messages %}');
      await expect(loadHuggingFaceTokenizer(directory)).rejects.toThrow(/chat template does not parse/);
      await write(42);
      await expect(loadHuggingFaceTokenizer(directory)).rejects.toThrow(/"chat_template" is neither/);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('model folders', () => {
  it('write and read back a model on the byte tokenizer', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'azr-model-'));
    try {
      const config = LLAMA_PRESETS.tiny;
      const weights = initializeLlamaWeights(config, { seed: 9 });
      await writeModelDirectory(directory, { config, weights, tokenizer: createByteTokenizer() });
      const model = await readModelDirectory(directory);
      expect(model.config).toEqual(config);
      expect(model.weights).toEqual(weights);
      expect(model.tokenizer.tokenizerId).toBe('azr-byte');
      await expect(readModelDirectory(join(directory, 'absent'))).rejects.toThrow(
        /Cannot read the model folder/,
      );
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
