import { describe, expect, it } from 'vitest';
import { LLAMA_PRESETS, parseLlamaConfig } from '../model/config.js';
import { SMALL_TEST_CONFIG } from '../testing/small-model.js';
import { trainingActivationBytes, trainingMemoryPlan } from './memory-plan.js';

describe('the training memory plan', () => {
  it('counts the small test model by hand', () => {
    // Vocabulary 257, width 32, MLP 64, 2 layers, 4 heads of 8 on 2 key/value heads, tied.
    // Parameters: embedding 257 x 32 = 8,224; per layer 2 norms (64) + q 32 x 32 + k, v 16 x 32 each + o 32 x 32
    // (3,072) + gate, up, down 64 x 32 each (6,144) = 9,280; final norm 32. 8,224 + 2 x 9,280 + 32 = 26,816.
    const weights = 26_816 * 4;
    // Per token of 2 x 10: a norm 3 x 32 + 1 = 97; a layer 2 x 97 + q, merged 2 x 32 + k, v 2 x 16
    // + probabilities 4 x 10 + MLP 5 x 64 = 650; 2 layers, the final norm, 7 for the batch's inputs, and the
    // objective's 5 x 257 = 1,285 (with the tied head's gradient, 257 x 32 once, more than attention's
    // 3 x 4 x 10, the MLP's 4 x 64, the norms' 6 x 32 per token).
    const perToken = 2 * 650 + 97 + 7 + 1_285;
    const activations = (2 * 10 * perToken + 257 * 32) * 4;
    expect(trainingMemoryPlan(SMALL_TEST_CONFIG, { sequences: 2, length: 10 })).toEqual({
      weights,
      gradients: weights,
      optimizer: 2 * weights,
      activations,
      total: 4 * weights + activations,
    });
    // Untied, the head's gradient is the graph's output, written in place: no vocabulary x width temporary.
    const untied = { ...SMALL_TEST_CONFIG, tieWordEmbeddings: false };
    expect(trainingActivationBytes(untied, { sequences: 2, length: 10 })).toBe(2 * 10 * perToken * 4);
  });

  it('counts the SmolLM2-135M shape the real-shape script writes', () => {
    const config = parseLlamaConfig({
      model_type: 'llama',
      vocab_size: 50_295,
      hidden_size: 576,
      intermediate_size: 1536,
      num_hidden_layers: 30,
      num_attention_heads: 9,
      num_key_value_heads: 3,
      tie_word_embeddings: true,
    });
    const plan = trainingMemoryPlan(config, { sequences: 1, length: 384 });
    // 135,173,376 parameters (scripts/write-real-shape-model.mjs counts them the same way).
    expect(plan.weights).toBe(135_173_376 * 4);
    // Per token: 30 layers of 6 x 576 + 2 + 2 x 576 + 2 x 192 + 9 x 384 + 5 x 1536 = 16,130, the final norm
    // 1,729, 7 inputs, the objective 5 x 50,295; once, the tied head's gradient, 50,295 x 576.
    expect(plan.activations).toBe((384 * (30 * 16_130 + 1_729 + 7 + 5 * 50_295) + 50_295 * 576) * 4);
  });

  it('counts one layer and every layer input when the graph recomputes the activations', () => {
    const config = LLAMA_PRESETS.tiny;
    const shape = { sequences: 2, length: 100 };
    const kept = trainingActivationBytes(config, shape);
    const recomputed = trainingActivationBytes(config, { ...shape, recomputeActivations: true });
    // Per token, (layers - 1) layers' activations fewer and one input of the hidden width per layer more.
    const layer =
      (kept - trainingActivationBytes({ ...config, layerCount: config.layerCount - 1 }, shape)) / 200 / 4;
    expect(kept - recomputed).toBe(
      200 * ((config.layerCount - 1) * layer - config.layerCount * config.hiddenSize) * 4,
    );
    expect(recomputed).toBeLessThan(kept);
  });

  it('counts the logits at the positions the graph computes them, when that is fewer than all', () => {
    const config = parseLlamaConfig({
      model_type: 'qwen2',
      vocab_size: 151_936,
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
    });
    const every = trainingActivationBytes(config, { sequences: 4, length: 300 });
    // 4 sequences of 250 prompt tokens and 50 completion tokens: logits at 200 positions instead of 1,200.
    const completions = trainingActivationBytes(config, { sequences: 4, length: 300, logitPositions: 200 });
    expect(every - completions).toBe((1_200 - 200) * 5 * 151_936 * 4);
    // More positions than tokens are not counted.
    expect(trainingActivationBytes(config, { sequences: 4, length: 300, logitPositions: 5_000 })).toBe(every);
  });

  it('grows with the tokens, and with attention as the square of the length', () => {
    // Untied, so that nothing is counted once per pass.
    const config = { ...LLAMA_PRESETS.tiny, tieWordEmbeddings: false };
    const bytes = (sequences: number, length: number) =>
      trainingActivationBytes(config, { sequences, length });
    expect(bytes(4, 100)).toBe(2 * bytes(2, 100));
    // Twice as long: twice the tokens, and the probabilities per token (heads x length) grow too.
    expect(bytes(2, 200)).toBeGreaterThan(2 * bytes(2, 100));
    expect(bytes(2, 200) - 2 * bytes(2, 100)).toBe(
      2 * 200 * config.layerCount * config.headCount * 100 * 4 +
        // The attention backward's transient (3 x heads x length) overtakes the MLP's (4 x 352) past 117 tokens.
        2 * 200 * (3 * config.headCount * 200 - 4 * config.intermediateSize) * 4,
    );
    expect(bytes(0, 100)).toBe(0);
  });
});
