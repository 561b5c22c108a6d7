#!/usr/bin/env node
// Peak resident memory of onnx train steps of the benchmark model, in a process of its own (run by
// engines.mjs): the resident set before the first step, and the process's peak after three steps. The batch is
// the benchmark's: 16 completions of 120 tokens after 8-token prompts.
import { initializeLlamaWeights, LLAMA_PRESETS } from '../dist/index.js';
import { createOnnxPolicy } from '../dist/onnx/index.js';

const threads = Number(process.argv[2] ?? 1);
const config = LLAMA_PRESETS.benchmark;
const tokenizer = {
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
const everyTokenButEnd = Array.from({ length: 127 }, (_, id) => id);
const policy = await createOnnxPolicy({
  model: { config, weights: initializeLlamaWeights(config, { seed: 1 }), tokenizer },
  intraOpThreads: threads,
});
const { completions } = await policy.doGenerate({
  prompts: Array.from({ length: 16 }, (_, index) => `f(${String(index).padStart(3, '0')})=`.slice(0, 8)),
  seed: 99,
  temperature: 1,
  topP: 1,
  maxTokens: 120,
  constraint: {
    specificationVersion: 'v1',
    constraintId: 'benchmark-no-end',
    initialState: () => 0,
    allowedTokenIds: () => everyTokenButEnd,
    advance: (state) => state + 1,
    isComplete: () => false,
  },
});
const batch = {
  sequences: completions.map((completion, index) => ({
    promptTokenIds: completion.promptTokenIds,
    completionTokenIds: completion.tokenIds,
    oldLogProbs: completion.logProbs,
    advantages: completion.tokenIds.map(() => (index % 2 === 0 ? 1 : -1)),
  })),
  temperature: 1,
  loss: { clipRatio: 0.2, entropyCoefficient: 0 },
};
const before = process.memoryUsage().rss;
for (let step = 0; step < 3; step += 1) await policy.doTrainStep(batch);
const peak = process.resourceUsage().maxRSS * 1024;
await policy.doDispose();
process.stdout.write(JSON.stringify({ before, peak }));
