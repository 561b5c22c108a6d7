#!/usr/bin/env node
// What an onnx update saves on sequences without advantage. A mini self-play step trains a few hundred short
// solver sequences, and the answers of a task that all got the same reward carry advantage 0: with no entropy
// bonus they add nothing to the gradient, so the onnx trainer gives them a forward pass (for the token mean and
// the statistics) and no backward pass. This times one update of 400 mini-like sequences (a deduction prompt
// and a one-digit answer) with a share of them at advantage 0, against the same update with that share at
// advantage 1e-9 (trained in full, the same gradient up to rounding), alternating the two, on the tiny
// preset with one thread. Prints the medians and their ratio for each share.
// Usage: node packages/backends/bench/inert-sequences.mjs [--repeats 7]   (after `npx turbo run build`)
import { parseArgs } from 'node:util';
import { createOnnxPolicy } from '@azr/backends/onnx';

const { values } = parseArgs({ options: { repeats: { type: 'string', default: '7' } } });
const repeats = Number(values.repeats);
// Learning rate 0: the weights, and so every update's cost, stay the same from one repeat to the next.
const policy = await createOnnxPolicy({
  model: { preset: 'tiny', seed: 0 },
  optimizer: { learningRate: 0 },
  intraOpThreads: 1,
});
const prompts = Array.from(
  { length: 400 },
  (_, index) => `#DS\nf(x)=${index % 7}+x*${index % 3}\nf(${index % 10})=`,
);
const { completions } = await policy.doGenerate({ prompts, seed: 1, temperature: 1, topP: 1, maxTokens: 2 });

/** The batch with the first `share` of each 20 sequences at advantage `zero`, the rest at +1 or -1. */
const batch = (share, zero) => ({
  sequences: completions.map((completion, index) => ({
    promptTokenIds: completion.promptTokenIds,
    completionTokenIds: completion.tokenIds,
    oldLogProbs: completion.logProbs,
    advantages: completion.tokenIds.map(() => (index % 20 < share * 20 ? zero : index % 2 ? 1 : -1)),
  })),
  temperature: 1,
  loss: { clipRatio: 0.2, entropyCoefficient: 0 },
});
const median = (values) => [...values].sort((first, second) => first - second)[Math.floor(values.length / 2)];

await policy.doTrainStep(batch(0.5, 0)); // builds both sessions
console.log(`onnx update of ${completions.length} sequences, tiny preset, 1 thread, medians of ${repeats}:`);
for (const share of [0.25, 0.45, 1]) {
  const times = { skipped: [], trained: [] };
  for (let repeat = 0; repeat < repeats; repeat += 1) {
    for (const [name, zero] of [
      ['skipped', 0],
      ['trained', 1e-9],
    ]) {
      const started = performance.now();
      await policy.doTrainStep(batch(share, zero));
      times[name].push(performance.now() - started);
    }
  }
  const [skipped, trained] = [median(times.skipped), median(times.trained)];
  console.log(
    `${(share * 100).toFixed(0)}% without advantage: ${skipped.toFixed(0)} ms skipped, ${trained.toFixed(0)} ms trained, ratio ${(skipped / trained).toFixed(2)}`,
  );
}
await policy.doDispose();
