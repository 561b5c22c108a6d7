import { parseLlamaConfig } from '../model/config.js';

/**
 * The small Llama-family model the engine tests share: the byte vocabulary, width 32, 2 layers, grouped-query
 * attention (4 heads on 2 key/value heads), tied embeddings. Big enough to exercise every part of the
 * architecture, small enough for a test to train it for a hundred steps in seconds.
 */
export const SMALL_TEST_CONFIG = parseLlamaConfig({
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
