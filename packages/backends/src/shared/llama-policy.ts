import type { PolicyModelV1 } from '@azr/core/spec';
import type { LlamaConfig } from '../model/config.js';
import type { LlamaWeights } from '../model/weights.js';
import type { GenerationConfig } from './generation-config.js';

/**
 * A policy on a Llama-family model whose weights can be read and replaced while it runs: what
 * `createHybridPolicy` needs to copy a learner's weights into a rollout engine after each update. Weights are
 * exchanged in Hugging Face names and layout (`[out, in]` projections), float32.
 */
export interface LlamaPolicyModel extends PolicyModelV1 {
  /** The model's configuration; `undefined` for an imported ONNX export whose weights the SDK does not own. */
  readonly config: LlamaConfig | undefined;
  /**
   * The model folder's `generation_config.json`, when it had one (its end-of-sequence ids end completions).
   * Pass it on with the weights to build a second engine on the same model (`{ config, weights, tokenizer,
   * generationConfig }`), so that both stop alike.
   */
  readonly generationConfig?: GenerationConfig;
  /** A copy of the current weights. */
  readWeights(): Promise<LlamaWeights>;
  /** Replaces every weight (same config, same names and shapes). Optimizer state is kept. */
  writeWeights(weights: LlamaWeights): Promise<void>;
}
