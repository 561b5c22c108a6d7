import type { Completion, GenerateRequest, TokenizerV1 } from '@azr/core/spec';
import type { LlamaConfig } from '../model/config.js';
import { CompletionDecoder, encodePrompt, type GenerationBounds } from '../shared/sampling.js';
import { disposeCache, type LlamaCache, llamaForwardCached, type TfjsLlamaWeights } from './llama-forward.js';
import type { TfjsModule } from './runtime.js';

/** Generates one prompt's completion with a key/value cache, one token per forward pass after the prompt. */
export async function generateOne(
  tf: TfjsModule,
  config: LlamaConfig,
  weights: TfjsLlamaWeights,
  tokenizer: TokenizerV1,
  bounds: GenerationBounds,
  prompt: string,
  promptIndex: number,
  request: GenerateRequest,
): Promise<Completion> {
  const ids = encodePrompt(tokenizer, prompt);
  const maxTokens = bounds.clamp.budget(ids.length, request.maxTokens, promptIndex);
  const decoder = new CompletionDecoder(tokenizer, request, prompt, promptIndex, ids, {
    maxTokens,
    stopTokenIds: bounds.stopTokenIds,
  });
  let cache: LlamaCache | undefined;
  let input = [ids];
  try {
    while (!decoder.finished) {
      request.signal?.throwIfAborted();
      const { logits, cache: next } = llamaForwardCached(tf, config, weights, input, cache);
      disposeCache(cache);
      cache = next;
      const lastPosition = (input[0]?.length ?? 1) - 1;
      const row = tf.tidy(() => tf.slice(logits, [0, lastPosition, 0], [1, 1, config.vocabularySize]));
      logits.dispose();
      const values = await row.data();
      row.dispose();
      const token = decoder.next(values);
      if (token === undefined) break;
      input = [[token]];
    }
  } finally {
    disposeCache(cache);
  }
  return decoder.completion();
}
