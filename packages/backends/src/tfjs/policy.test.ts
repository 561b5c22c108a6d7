import { createByteTokenizer } from '@azr/core';
import { describePolicyModelConformance } from '@azr/core/test';
import { describe, expect, it } from 'vitest';
import { parseLlamaConfig } from '../model/config.js';
import { initializeLlamaWeights } from '../model/weights.js';
import { createTfjsPolicy } from './policy.js';
import { initializeTfjs } from './runtime.js';

const config = parseLlamaConfig({
  model_type: 'azr-tiny',
  vocab_size: 257,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 256,
  tie_word_embeddings: true,
  eos_token_id: 256,
});

function create() {
  return createTfjsPolicy({
    model: {
      config,
      weights: initializeLlamaWeights(config, { seed: 3, standardDeviation: 0.1 }),
      tokenizer: createByteTokenizer(),
    },
    backend: 'wasm',
    optimizer: { learningRate: 0.01 },
  });
}

describePolicyModelConformance('tfjs policy (wasm)', create, {
  load: (directory) => createTfjsPolicy({ model: { directory }, backend: 'wasm' }),
  testTimeoutMs: 120_000,
});

describe('the tfjs policy', () => {
  it('keeps its tensor count steady across generation and training steps', async () => {
    const { tf } = await initializeTfjs({ backend: 'wasm' });
    const policy = await create();
    const step = async (seed: number) => {
      const { completions } = await policy.doGenerate({
        prompts: ['def f(a):'],
        seed,
        temperature: 1,
        topP: 1,
        maxTokens: 6,
      });
      const completion = completions[0];
      if (completion === undefined) throw new Error('no completion');
      await policy.doTrainStep({
        sequences: [
          {
            promptTokenIds: completion.promptTokenIds,
            completionTokenIds: completion.tokenIds,
            oldLogProbs: completion.logProbs,
            advantages: completion.tokenIds.map(() => 1),
          },
        ],
        temperature: 1,
        loss: { clipRatio: 0.2, entropyCoefficient: 0.01 },
      });
    };
    await step(1);
    const count = tf.memory().numTensors;
    await step(2);
    await step(3);
    expect(tf.memory().numTensors).toBe(count);
    await policy.doDispose();
  });
});
