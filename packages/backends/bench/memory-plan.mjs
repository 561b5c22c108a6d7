#!/usr/bin/env node
// The training memory plan (`trainingMemoryPlan`) against the memory a training step takes: for each shape, in a
// process of its own, one pass of the onnx training graph (as the onnx trainer runs it: weights fed as inputs,
// every gradient out) and the AdamW update after it; the process's peak resident memory less its resident
// memory once onnxruntime is loaded (before the weights exist), divided by the plan's total.
//
// Each sequence is a prompt of half its length and a completion; a training graph that computes logits at the
// completions' positions alone (`logit_positions`) is measured, and planned, that way.
//
// Usage: node packages/backends/bench/memory-plan.mjs [--real] [--threads 2]   (after `npm run build`)
//   --real adds SmolLM2-135M's shape (random weights, 135M parameters, vocabulary 50,295; about a minute and
//   4 GB per row on 2 threads).
//
// The session options are `openSession`'s (src/onnx/session.ts): sequential, all graph optimizations, the CPU
// arena on. Prints a Markdown table.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { REAL_SHAPES } from '../../../scripts/write-real-shape-model.mjs';
import { LLAMA_PRESETS, parseLlamaConfig, trainingMemoryPlan } from '../dist/index.js';
import {
  applyAdamW,
  buildLlamaTrainingGraph,
  loadOnnxRuntime,
  TRAINING_GRAPH_NAMES,
} from '../dist/onnx/index.js';

const { values } = parseArgs({
  options: {
    real: { type: 'boolean', default: false },
    threads: { type: 'string', default: '2' },
    child: { type: 'string' },
  },
});

const MODELS = {
  /** `SMALL_TEST_CONFIG` (src/testing/small-model.ts). */
  'small test model': {
    model_type: 'azr-tiny',
    vocab_size: 257,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 256,
    tie_word_embeddings: true,
  },
  tiny: 'tiny',
  /** SmolLM2-135M with the phi-2 tokenizer's 50,295 tokens, as scripts/write-real-shape-model.mjs writes it. */
  'SmolLM2-135M shape': { ...REAL_SHAPES['smollm2-135m'].config, vocab_size: 50_295 },
};

const configOf = (name) => {
  const model = MODELS[name];
  return model === 'tiny' ? LLAMA_PRESETS.tiny : parseLlamaConfig(model);
};

if (values.child !== undefined) await child(JSON.parse(values.child));
else parent();

/** One pass and one AdamW update; prints the resident memory before the weights and the process's peak. */
async function child({ model, sequences, length, threads }) {
  const config = configOf(model);
  const runtime = await loadOnnxRuntime();
  const baseline = process.memoryUsage().rss;
  const names = TRAINING_GRAPH_NAMES;
  // Random weights, drawn in the graph layout's shapes (projections [in, out]) so that no second copy is made.
  const weights = new Map();
  let seed = 1;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31 - 0.5;
  };
  const session = await runtime.InferenceSession.create(await buildLlamaTrainingGraph(config), {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  for (const name of session.inputNames) {
    const metadata = session.inputMetadata.find((input) => input.name === name);
    if (!name.startsWith('model.') && name !== 'lm_head.weight') continue;
    const shape = metadata.shape;
    const data = new Float32Array(shape.reduce((total, size) => total * size, 1));
    if (name.endsWith('norm.weight')) data.fill(1);
    else if (!name.endsWith('.bias'))
      for (let index = 0; index < data.length; index += 1) data[index] = random() * 0.04;
    weights.set(name, { shape, data });
  }
  const dims = [sequences, length];
  const tokens = sequences * length;
  const ids = BigInt64Array.from({ length: tokens }, (_, index) =>
    BigInt((index * 7919) % config.vocabularySize),
  );
  // Each sequence: a prompt of half the length, then its completion. A graph with `logit_positions` computes
  // logits at the completions' positions alone; one without, at every position.
  const counted = [];
  for (let row = 0; row < sequences; row += 1)
    for (let index = length / 2 - 1; index < length - 1; index += 1) counted.push(row * length + index);
  const atCompletions = session.inputNames.includes(names.logitPositions);
  const predicted = atCompletions ? [1, counted.length] : dims;
  const floats = (value) =>
    new runtime.Tensor('float32', new Float32Array(predicted[0] * predicted[1]).fill(value), predicted);
  const scalar = (value) => new runtime.Tensor('float32', Float32Array.of(value), [1]);
  const targets = atCompletions ? BigInt64Array.from(counted, (position) => ids[position + 1]) : ids.slice();
  const feeds = {
    [names.inputIds]: new runtime.Tensor('int64', ids, dims),
    ...(atCompletions
      ? {
          [names.logitPositions]: new runtime.Tensor('int64', BigInt64Array.from(counted, BigInt), [
            counted.length,
          ]),
        }
      : {}),
    [names.targets]: new runtime.Tensor('int64', targets, predicted),
    [names.mask]: floats(1),
    [names.oldLogProbs]: floats(-5),
    [names.proximalFromCurrent]: floats(0),
    [names.behaviourLogProbs]: floats(-5),
    [names.advantages]: floats(1),
    [names.temperature]: scalar(1),
    [names.clipRatio]: scalar(0.2),
    [names.entropyCoefficient]: scalar(0),
    [names.importanceCap]: scalar(0),
    [names.denominator]: scalar(tokens),
  };
  for (const [name, { shape, data }] of weights)
    feeds[names.weight(name)] = new runtime.Tensor('float32', data, shape);
  const started = performance.now();
  const results = await session.run(feeds);
  const gradients = new Map([...weights.keys()].map((name) => [name, results[names.gradient(name)].data]));
  applyAdamW(
    weights,
    gradients,
    new Map(),
    1,
    { learningRate: 1e-5, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, maxGradientNorm: 1 },
    1,
  );
  const seconds = (performance.now() - started) / 1000;
  const peak = process.resourceUsage().maxRSS * 1024;
  const logitPositions = atCompletions ? counted.length : tokens;
  process.stdout.write(JSON.stringify({ baseline, peak, seconds, logitPositions }));
}

function parent() {
  const cases = [
    ['small test model', 2, 64],
    ['small test model', 16, 128],
    ['tiny', 16, 128],
    ['tiny', 64, 256],
    ...(values.real
      ? [
          ['SmolLM2-135M shape', 1, 64],
          ['SmolLM2-135M shape', 1, 384],
          ['SmolLM2-135M shape', 2, 384],
        ]
      : []),
  ];
  const megabytes = (bytes) => (bytes / 2 ** 20).toFixed(0);
  const rows = [
    '| model | pass | logit positions | weights | gradients | AdamW | activations | plan total | measured | measured / plan |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const [model, sequences, length] of cases) {
    const config = configOf(model);
    const run = spawnSync(
      process.execPath,
      [
        fileURLToPath(import.meta.url),
        '--child',
        JSON.stringify({ model, sequences, length, threads: Number(values.threads) }),
      ],
      { encoding: 'utf8', maxBuffer: 2 ** 20 },
    );
    if (run.status !== 0) throw new Error(`${model} ${sequences} x ${length}: ${run.stderr}`);
    const { baseline, peak, seconds, logitPositions } = JSON.parse(run.stdout);
    const plan = trainingMemoryPlan(config, { sequences, length, logitPositions });
    const measured = peak - baseline;
    process.stderr.write(`${model} ${sequences} x ${length}: ${seconds.toFixed(1)} s\n`);
    rows.push(
      `| ${model} | ${sequences} x ${length} | ${logitPositions} | ${megabytes(plan.weights)} | ${megabytes(plan.gradients)} | ${megabytes(plan.optimizer)} | ${megabytes(plan.activations)} | ${megabytes(plan.total)} | ${megabytes(measured)} | ${(measured / plan.total).toFixed(2)} |`,
    );
  }
  process.stdout.write(
    `Memory in MiB; measured: peak resident memory less the process's once onnxruntime is loaded.\n\n${rows.join('\n')}\n`,
  );
}
