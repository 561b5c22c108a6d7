#!/usr/bin/env node
// What the onnx engine saves on the answers to one task. A mini self-play step asks for 16 answers to each solve
// task: 16 rows with one prompt, whose one-digit answers repeat. Generation runs a repeated prompt once and
// copies its key/value cache to each row; an update trains identical sequences once, weighed by their number.
// This times both on 8 tasks x 16 answers (tiny preset, one thread), against the same work with nothing to
// share: 128 different prompts of the same length, and 128 different sequences of the same lengths. The two
// alternate; prints the medians and their ratios.
// Usage: node packages/backends/bench/repeated-prompts.mjs [--repeats 7]   (after `npx turbo run build`)
import { parseArgs } from 'node:util';
import { createOnnxPolicy } from '@azr/backends/onnx';

const { values } = parseArgs({ options: { repeats: { type: 'string', default: '7' } } });
const repeats = Number(values.repeats);
const [tasks, answers] = [8, 16];
// Learning rate 0: the weights, and so the cost of every call, stay the same from one repeat to the next.
const policy = await createOnnxPolicy({
  model: { preset: 'tiny', seed: 0 },
  optimizer: { learningRate: 0 },
  intraOpThreads: 1,
});
const prompt = (index) => `#DS\nf(x)=${index % 10}+x*${Math.floor(index / 10) % 10}\nf(${index % 7})=`;
const repeated = Array.from({ length: tasks * answers }, (_, index) => prompt(Math.floor(index / answers)));
const different = Array.from({ length: tasks * answers }, (_, index) => prompt(index));
const generate = (prompts) => policy.doGenerate({ prompts, seed: 1, temperature: 1, topP: 1, maxTokens: 2 });

/**
 * A training batch of 8 x 16 sequences. `distinct` answers per task, each repeated (a task's answers take few
 * values), or, with `distinct` 0, every sequence its own prompt and answer.
 */
const sequences = (await generate(different)).completions;
const batch = (distinct) => ({
  sequences: sequences.map((completion, index) => {
    const source =
      distinct === 0
        ? completion
        : (sequences[Math.floor(index / answers) * answers + (index % distinct)] ?? completion);
    return {
      promptTokenIds: source.promptTokenIds,
      completionTokenIds: source.tokenIds,
      oldLogProbs: source.logProbs,
      advantages: source.tokenIds.map(() => ((distinct === 0 ? index : index % distinct) % 2 ? 1 : -1)),
    };
  }),
  temperature: 1,
  loss: { clipRatio: 0.2, entropyCoefficient: 0 },
});
const median = (values) => [...values].sort((first, second) => first - second)[Math.floor(values.length / 2)];
const time = async (work) => {
  const started = performance.now();
  await work();
  return performance.now() - started;
};
const compare = async (label, shared, alone) => {
  const times = { shared: [], alone: [] };
  for (let repeat = 0; repeat < repeats; repeat += 1) {
    times.shared.push(await time(shared));
    times.alone.push(await time(alone));
  }
  const [left, right] = [median(times.shared), median(times.alone)];
  console.log(
    `${label}: ${left.toFixed(0)} ms, against ${right.toFixed(0)} ms, ratio ${(left / right).toFixed(2)}`,
  );
};

await generate(repeated);
await policy.doTrainStep(batch(0));
console.log(
  `onnx engine, ${tasks} tasks x ${answers} answers, tiny preset, 1 thread, medians of ${repeats}:`,
);
await compare(
  'generation, 16 rows a prompt vs 128 prompts',
  () => generate(repeated),
  () => generate(different),
);
for (const distinct of [2, 4, 8])
  await compare(
    `update, ${distinct} different answers a task vs 128 different sequences`,
    () => policy.doTrainStep(batch(distinct)),
    () => policy.doTrainStep(batch(0)),
  );
await policy.doDispose();
