import { join } from 'node:path';
import { ModelFormatError } from '@azr/core/spec';
import { describe, expect, it } from 'vitest';
import { fixturesDirectory } from '../testing/fixtures.js';
import { describeOnnxModel } from './runtime.js';

const fixtures = fixturesDirectory();

describe.runIf(fixtures)('describeOnnxModel on the shared fixtures', () => {
  it('lists the GPT-2 export with its KV-cache inputs', async () => {
    const description = await describeOnnxModel(
      join(fixtures as string, 'tiny-random-gpt2-fp32-onnx/past.onnx'),
    );
    const inputs = description.inputs.map((input) => input.name);
    expect(inputs.slice(0, 3)).toEqual(['input_ids', 'position_ids', 'attention_mask']);
    expect(inputs.filter((name) => name.startsWith('past_'))).toHaveLength(5);
    const logits = description.outputs.find((output) => output.name === 'logits');
    expect(logits?.type).toBe('float32');
    expect(logits?.shape.at(-1)).toBe(1000);
  });

  it('lists the float16 Llama export, reading its external data', async () => {
    const description = await describeOnnxModel(
      join(fixtures as string, 'tiny-random-LlamaForCausalLM-fp16-onnx/model.onnx'),
    );
    const inputs = Object.fromEntries(description.inputs.map((input) => [input.name, input]));
    expect(inputs.input_ids?.type).toBe('int64');
    expect(inputs['past_key_values.1.value']?.type).toBe('float16');
    expect(description.outputs.map((output) => output.name)).toEqual([
      'logits',
      'present.0.key',
      'present.0.value',
      'present.1.key',
      'present.1.value',
    ]);
  });
});

describe('describeOnnxModel errors', () => {
  it('names a missing model with a ModelFormatError', async () => {
    await expect(describeOnnxModel('/nonexistent/model.onnx')).rejects.toSatisfy(
      (error: unknown) =>
        ModelFormatError.isInstance(error) && error.details.path === '/nonexistent/model.onnx',
    );
  });

  it('names a file that is not an ONNX graph with a ModelFormatError', async () => {
    await expect(
      describeOnnxModel(new URL('../../package.json', import.meta.url).pathname),
    ).rejects.toSatisfy((error: unknown) => ModelFormatError.isInstance(error));
  });
});
