// The benchmark's model, tokenizer and requests, shared by engines.mjs and train-memory.mjs.
import { initializeLlamaWeights, LLAMA_PRESETS } from '../dist/index.js';

export const config = LLAMA_PRESETS.benchmark;
export const BATCH = 16;
export const CONTEXT = config.maxPositionEmbeddings; // 128
export const PROMPT = 8;
export const NEW_TOKENS = CONTEXT - PROMPT;

// The benchmark model has 128 token ids: 127 ASCII characters and an end-of-sequence token.
export const tokenizer = {
  specificationVersion: 'v1',
  tokenizerId: 'benchmark-ascii',
  vocabularySize: 128,
  endOfSequenceTokenId: 127,
  beginningOfSequenceTokenId: undefined,
  paddingTokenId: 127,
  encode: (text) => Array.from(text, (character) => character.charCodeAt(0) % 127),
  decode: (ids) => String.fromCharCode(...ids.filter((id) => id < 127)),
  tokenText: (id) => (id < 127 ? String.fromCharCode(id) : ''),
};

// Every completion runs to the full context: the constraint allows every token but end-of-sequence.
const everyTokenButEnd = Array.from({ length: 127 }, (_, id) => id);
const noEnd = {
  specificationVersion: 'v1',
  constraintId: 'benchmark-no-end',
  initialState: () => 0,
  allowedTokenIds: () => everyTokenButEnd,
  advance: (state) => state + 1,
  isComplete: () => false,
};

export const weights = initializeLlamaWeights(config, { seed: 1 });
export const model = { config, weights, tokenizer };
export const prompts = Array.from({ length: BATCH }, (_, index) =>
  `f(${String(index).padStart(3, '0')})=`.slice(0, PROMPT),
);

/** 16 prompts, 120 sampled tokens each. */
export const generateRequest = (seed) => ({
  prompts,
  seed,
  temperature: 1,
  topP: 1,
  maxTokens: NEW_TOKENS,
  constraint: noEnd,
});

/** A PPO batch from sampled completions: advantages +1 and -1 in turn, as self-play gives. */
export function trainBatchOf(completions) {
  return {
    sequences: completions.map((completion, index) => ({
      promptTokenIds: completion.promptTokenIds,
      completionTokenIds: completion.tokenIds,
      oldLogProbs: completion.logProbs,
      advantages: completion.tokenIds.map(() => (index % 2 === 0 ? 1 : -1)),
    })),
    temperature: 1,
    loss: { clipRatio: 0.2, entropyCoefficient: 0 },
  };
}
