#!/usr/bin/env node
// What keeping the decode batch full saves when completions end at different lengths, as self-play's do. The onnx
// engine generates a request's prompts in a batch of `batchSize` rows, and a waiting prompt takes the row of a
// completion that ended (`generateCompletions`). With `joinPrompts: false` the prompts run in batches one after
// the other, each until its longest completion ends (its finished rows ride along until half have finished). This
// times both on the same prompts and seed (the completions are the same, each sampled from its own stream; checked
// token by token), alternating, on the SmolLM2-135M shape of the scale benchmark: 32 prompts of 120 to 270 tokens,
// at most 64 new tokens, stopped by "x" or "z" (random weights draw one of those in about 1 token of 25), batches of
// 8 rows, 2 threads.
//
// Its floor, an estimate: the same work with every decode step full. The prefill of the first 8 prompts times 4,
// plus (new tokens - prompts) / 8 decode steps, each at the time of a full 8-row step measured in the same run (a
// generation of 64 tokens with no stop, less its prefill, / 63).
//
// Usage: npm run bench:joining -- [--folder /tmp/azr-scale] [--repeats 3]
//   (node packages/backends/bench/joining-prompts.mjs, after `npm run build`; writes the model folder as
//   `npm run bench:scale` does if it is missing)
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createOnnxPolicy } from '@azr/backends/onnx';

const { values } = parseArgs({
  options: {
    folder: { type: 'string', default: process.env.AZR_SCALE_FOLDER ?? '/tmp/azr-scale' },
    repeats: { type: 'string', default: '3' },
  },
});
const repeats = Number(values.repeats);
if (!Number.isInteger(repeats) || repeats < 1)
  throw new Error(`--repeats must be a whole number of at least 1`);
const [SHAPE, SEED, ROWS, PROMPTS, MAX_TOKENS] = ['smollm2-135m', 0, 8, 32, 64];
const directory = join(values.folder, SHAPE);
try {
  const written = JSON.parse(await readFile(join(directory, 'config.json'), 'utf8')).azr_real_shape;
  if (written?.shape !== SHAPE) throw new Error('another shape');
} catch {
  console.log(`writing ${directory}`);
  const { writeRealShapeModel } = await import('../../../scripts/write-real-shape-model.mjs');
  await writeRealShapeModel({ out: directory, shape: SHAPE, seed: SEED });
}

const policy = await createOnnxPolicy({ model: { directory }, intraOpThreads: 2, batchSize: ROWS });
// The same model with `joinPrompts: false`: batches one after the other.
const inBatches = await createOnnxPolicy({
  model: { directory },
  intraOpThreads: 2,
  batchSize: ROWS,
  joinPrompts: false,
});
// Code text, the same on every run, cut to lengths spread over 120 to 270 tokens.
const text = Array.from(
  { length: 400 },
  (_, line) => `def f${line}(x, y=${line % 9}):\n    return [v * ${line % 5} for v in x if v > y]\n`,
).join('');
const prompts = Array.from({ length: PROMPTS }, (_, index) => {
  const target = 120 + Math.round((150 * ((index * 7) % PROMPTS)) / (PROMPTS - 1));
  let end = target * 3;
  while (policy.tokenizer.encode(text.slice(index * 13, index * 13 + end)).length > target) end -= 5;
  return text.slice(index * 13, index * 13 + end);
});
const request = { seed: 1, temperature: 1, topP: 1, maxTokens: MAX_TOKENS, stop: ['x', 'z'] };
const median = (list) => [...list].sort((first, second) => first - second)[Math.floor((list.length - 1) / 2)];
const time = async (work) => {
  const started = performance.now();
  const result = await work();
  return { ms: performance.now() - started, result };
};
const joined = () => policy.doGenerate({ ...request, prompts });
const batched = () => inBatches.doGenerate({ ...request, prompts });
// A full 8-row step: 64 tokens with no stop, less the prefill (maxTokens 1), over the 63 steps after it.
const full = (maxTokens) =>
  policy.doGenerate({ seed: 2, temperature: 1, topP: 1, maxTokens, prompts: prompts.slice(0, ROWS) });
await joined(); // warm-up
await batched();
const times = { joined: [], batched: [], prefill: [], full: [] };
let tokens;
for (let repeat = 0; repeat < repeats; repeat += 1) {
  const a = await time(joined);
  const b = await time(batched);
  times.joined.push(a.ms);
  times.batched.push(b.ms);
  a.result.completions.forEach((completion, index) => {
    if (completion.tokenIds.join() !== b.result.completions[index]?.tokenIds.join())
      throw new Error(`prompt ${index}: the completions differ`);
  });
  tokens = a.result.completions.map((completion) => completion.tokenIds.length);
  times.prefill.push((await time(() => full(1))).ms);
  times.full.push((await time(() => full(MAX_TOKENS))).ms);
}
const step = (median(times.full) - median(times.prefill)) / (MAX_TOKENS - 1);
const newTokens = tokens.reduce((total, count) => total + count, 0);
const floor = (PROMPTS / ROWS) * median(times.prefill) + Math.ceil((newTokens - PROMPTS) / ROWS) * step;
const batchedSteps = Array.from(
  { length: PROMPTS / ROWS },
  (_, batch) => Math.max(...tokens.slice(batch * ROWS, (batch + 1) * ROWS)) - 1,
).reduce((total, count) => total + count, 0);
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;
console.log(
  `${cpus()[0]?.model}, ${cpus().length} CPUs, Node ${process.versions.node}; ${repeats} repeats, medians`,
);
console.log(
  `${PROMPTS} prompts, ${newTokens} new tokens (${Math.min(...tokens)} to ${Math.max(...tokens)} a completion); a full step ${step.toFixed(1)} ms, prefill of 8 prompts ${seconds(median(times.prefill))}`,
);
console.log(`batches one after the other: ${seconds(median(times.batched))} (${batchedSteps} decode steps)`);
console.log(
  `prompts joining the batch:   ${seconds(median(times.joined))}; ${(median(times.batched) / median(times.joined)).toFixed(2)}x`,
);
console.log(
  `floor (every step full, ${Math.ceil((newTokens - PROMPTS) / ROWS)} decode steps): ${seconds(floor)}; joined at ${((100 * floor) / median(times.joined)).toFixed(0)}% of it, batched at ${((100 * floor) / median(times.batched)).toFixed(0)}%`,
);
await policy.doDispose();
await inBatches.doDispose();
