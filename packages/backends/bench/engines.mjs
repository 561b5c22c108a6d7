#!/usr/bin/env node
// Backends benchmark: forward latency, KV-cache sampling and train step of the benchmark model on each engine
// (onnxruntime-node, TensorFlow.js wasm, the hybrid of both), the weight sync of the hybrid, the machine's
// measured matmul peak, and PyTorch (Debian's python3-torch) as the peer, all in one run.
// Usage: npm run bench -w @azr/backends  (after `npm run build`; writes into BENCHMARKS.md at the repository root)
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHybridPolicy } from '../dist/index.js';
import {
  ADAMW_GRAPH_NAMES,
  applyAdamW,
  buildAdamWGraph,
  buildLlamaGraph,
  createOnnxPolicy,
  LLAMA_GRAPH_NAMES,
  loadOnnxRuntime,
} from '../dist/onnx/index.js';
import { createTfjsPolicy, initializeTfjs, llamaForward, toTfjsWeights } from '../dist/tfjs/index.js';
import {
  BATCH,
  CONTEXT,
  config,
  generateRequest,
  model,
  NEW_TOKENS,
  PROMPT,
  prompts,
  trainBatchOf,
  weights,
} from './benchmark-model.mjs';
import { onnxMatmulPeak } from './matmul-peak.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repositoryRoot = join(here, '../../..');
const REPEATS = Number(process.env.AZR_BENCH_REPEATS ?? 5);
const log = (message) => process.stderr.write(`${message}\n`);

function median(values) {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
async function medianMs(run, repeats) {
  const times = [];
  for (let index = 0; index < repeats; index += 1) {
    const started = performance.now();
    await run(index);
    times.push(performance.now() - started);
  }
  return median(times);
}

// Arithmetic of the work, to express speeds as a share of the machine's peak.
const projectionParameters =
  config.layerCount *
    (2 * config.hiddenSize * config.headCount * config.headDimension +
      2 * config.hiddenSize * config.keyValueHeadCount * config.headDimension +
      3 * config.hiddenSize * config.intermediateSize) +
  config.hiddenSize * config.vocabularySize;
/** FLOPs of a forward pass over `length` new positions after `past` cached ones, per sequence. */
function forwardFlops(length, past) {
  const attention =
    config.layerCount * 4 * config.headCount * config.headDimension * length * (past + length);
  return 2 * projectionParameters * length + attention;
}
const forwardBatchFlops = BATCH * forwardFlops(CONTEXT, 0);
let samplingFlops = BATCH * forwardFlops(PROMPT, 0);
for (let position = PROMPT; position < CONTEXT - 1; position += 1)
  samplingFlops += BATCH * forwardFlops(1, position);
const trainFlops = 3 * forwardBatchFlops; // forward, and a backward pass of about twice its cost

const runtime = await loadOnnxRuntime();

/** The machine's practical peak on `threads` threads (`matmul-peak.mjs`). */
function matmulPeak(threads) {
  return onnxMatmulPeak({ threads, sizes: [512, 1024, 2048], runsAt2048: 5 });
}

log('matmul peak');
const peakOneThread = await matmulPeak(1);
const peakTwoThreads = await matmulPeak(2);

log('onnx forward');
const ids = Array.from({ length: BATCH * CONTEXT }, (_, index) => (index * 31) % 127);
const forwardSession = await runtime.InferenceSession.create(await buildLlamaGraph(config, weights), {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
});
const int64 = (values) => new runtime.Tensor('int64', BigInt64Array.from(values, BigInt), [BATCH, CONTEXT]);
const feeds = {
  [LLAMA_GRAPH_NAMES.inputIds]: int64(ids),
  [LLAMA_GRAPH_NAMES.attentionMask]: int64(ids.map(() => 1)),
  [LLAMA_GRAPH_NAMES.positionIds]: int64(ids.map((_, index) => index % CONTEXT)),
  [LLAMA_GRAPH_NAMES.logitsToKeep]: new runtime.Tensor('int64', BigInt64Array.of(BigInt(CONTEXT)), [1]),
};
for (let layer = 0; layer < config.layerCount; layer += 1)
  for (const name of [LLAMA_GRAPH_NAMES.pastKey(layer), LLAMA_GRAPH_NAMES.pastValue(layer)])
    feeds[name] = new runtime.Tensor('float32', new Float32Array(0), [
      BATCH,
      config.keyValueHeadCount,
      0,
      config.headDimension,
    ]);
await forwardSession.run(feeds);
const onnxForwardMs = await medianMs(() => forwardSession.run(feeds), REPEATS);
await forwardSession.release();

log('tfjs forward');
const { tf } = await initializeTfjs({ backend: 'wasm' });
const tfjsWeights = toTfjsWeights(tf, config, weights);
const idRows = Array.from({ length: BATCH }, (_, row) => ids.slice(row * CONTEXT, (row + 1) * CONTEXT));
const tfjsForward = async () => {
  const logits = llamaForward(tf, config, tfjsWeights, idRows);
  await logits.data();
  logits.dispose();
};
await tfjsForward();
const tfjsForwardMs = await medianMs(tfjsForward, REPEATS);
tfjsWeights.dispose();

async function samplingRate(policy, repeats) {
  await policy.doGenerate({ ...generateRequest(0), maxTokens: 4 });
  let tokens = 0;
  const ms = await medianMs(async (index) => {
    const { completions } = await policy.doGenerate(generateRequest(index + 1));
    tokens = completions.reduce((total, completion) => total + completion.tokenIds.length, 0);
  }, repeats);
  return { ms, tokensPerSecond: tokens / (ms / 1000), tokens };
}

log('onnx sampling');
const onnx = await createOnnxPolicy({ model, batchSize: BATCH });
const onnxSampling = await samplingRate(onnx, REPEATS);
log('tfjs sampling');
const tfjs = await createTfjsPolicy({ model, backend: 'wasm' });
const tfjsSampling = await samplingRate(tfjs, Math.max(1, Math.floor(REPEATS / 2)));

// A batch of 16 sampled completions of 120 tokens, as self-play trains on.
const { completions } = await onnx.doGenerate(generateRequest(99));
const trainBatch = trainBatchOf(completions);
log('tfjs train step');
await tfjs.doTrainStep(trainBatch);
const tfjsTrainMs = await medianMs(() => tfjs.doTrainStep(trainBatch), Math.max(1, Math.floor(REPEATS / 2)));

log('onnx train step');
// Two warm-up steps: the first builds the training session, the second lets onnxruntime size its memory arena.
await onnx.doTrainStep(trainBatch);
await onnx.doTrainStep(trainBatch);
const onnxTrainMs = await medianMs(() => onnx.doTrainStep(trainBatch), REPEATS);
const onnxTwoThreads = await createOnnxPolicy({ model, batchSize: BATCH, intraOpThreads: 2 });
await onnxTwoThreads.doTrainStep(trainBatch);
await onnxTwoThreads.doTrainStep(trainBatch);
const onnxTrainTwoThreadsMs = await medianMs(() => onnxTwoThreads.doTrainStep(trainBatch), REPEATS);
await onnxTwoThreads.doDispose();
const onnxBestTrainMs = Math.min(onnxTrainMs, onnxTrainTwoThreadsMs);
// After an update the rollout session is rebuilt from the new weights before the next generation: the one copy
// of the weights the onnx engine makes. Measured as the extra time of a one-token generation right after a step.
const oneToken = { ...generateRequest(7), prompts: prompts.slice(0, 1), maxTokens: 1 };
const plainGenerateMs = await medianMs(() => onnx.doGenerate(oneToken), REPEATS);
const refreshTimes = [];
for (let index = 0; index < REPEATS; index += 1) {
  await onnx.doTrainStep(trainBatch);
  const started = performance.now();
  await onnx.doGenerate(oneToken);
  refreshTimes.push(performance.now() - started - plainGenerateMs);
}
const refreshMs = median(refreshTimes);
const memory = JSON.parse(
  execFileSync(process.execPath, [join(here, 'train-memory.mjs'), '1'], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  }),
);
// What a step needs to hold: weights, their gradients and both AdamW moments (4 copies), and the activations the
// backward pass reads, counted from the training graph (per layer: the normalised inputs, projections, rotary
// outputs, attention probabilities, MLP intermediates; then the logits and their softmax).
const parameters = [...weights.values()].reduce((total, tensor) => total + tensor.data.length, 0);
const positions = BATCH * CONTEXT;
const perLayer =
  positions * (8 * config.hiddenSize + 5 * config.intermediateSize) +
  BATCH * config.headCount * CONTEXT * CONTEXT * 2;
const activations = config.layerCount * perLayer + positions * config.vocabularySize * 4;
const neededBytes = 4 * (4 * parameters + activations);
const peakStepBytes = memory.peak - memory.before;
const arithmeticMs = (trainFlops / (peakTwoThreads * 1e9)) * 1000;

log('AdamW: JavaScript against an ONNX graph');
// The trainer's optimizer runs in JavaScript over typed arrays; the same update as an ONNX graph is measured
// beside it, with the copies back into the arrays that keeping the weights in one place requires.
const adamwOptimizer = {
  learningRate: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  weightDecay: 0.01,
  maxGradientNorm: 1,
};
const adamwWeights = new Map(
  [...weights].map(([name, { shape, data }]) => [name, { shape, data: data.slice() }]),
);
const adamwGradients = new Map(
  [...weights].map(([name, { data }]) => [name, data.map((value) => value * 0.1)]),
);
const adamwMoments = new Map();
const javascriptAdamWMs = await medianMs(
  (index) => applyAdamW(adamwWeights, adamwGradients, adamwMoments, index + 1, adamwOptimizer, 1),
  10,
);
async function graphAdamWMs(threads) {
  const shapes = new Map([...adamwWeights].map(([name, { shape }]) => [name, shape]));
  const session = await runtime.InferenceSession.create(await buildAdamWGraph(shapes), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const names = ADAMW_GRAPH_NAMES;
  const scalar = (value) => new runtime.Tensor('float32', Float32Array.of(value), [1]);
  const ms = await medianMs(async (index) => {
    const feeds = {
      [names.learningRate]: scalar(adamwOptimizer.learningRate),
      [names.beta1]: scalar(adamwOptimizer.beta1),
      [names.beta2]: scalar(adamwOptimizer.beta2),
      [names.epsilon]: scalar(adamwOptimizer.epsilon),
      [names.decay]: scalar(1 - adamwOptimizer.learningRate * adamwOptimizer.weightDecay),
      [names.correction1]: scalar(1 - adamwOptimizer.beta1 ** (index + 1)),
      [names.correction2]: scalar(1 - adamwOptimizer.beta2 ** (index + 1)),
      [names.scale]: scalar(1),
    };
    for (const [name, { shape, data }] of adamwWeights) {
      const moment = adamwMoments.get(name);
      feeds[names.weight(name)] = new runtime.Tensor('float32', data, [...shape]);
      feeds[names.gradient(name)] = new runtime.Tensor('float32', adamwGradients.get(name), [...shape]);
      feeds[names.first(name)] = new runtime.Tensor('float32', moment.first, [...shape]);
      feeds[names.second(name)] = new runtime.Tensor('float32', moment.second, [...shape]);
    }
    const results = await session.run(feeds);
    for (const [name, { data }] of adamwWeights) {
      const moment = adamwMoments.get(name);
      data.set(results[names.updated('weight', name)].data);
      moment.first.set(results[names.updated('first', name)].data);
      moment.second.set(results[names.updated('second', name)].data);
    }
  }, 10);
  await session.release();
  return ms;
}
const graphAdamWOneThreadMs = await graphAdamWMs(1);
const graphAdamWTwoThreadsMs = await graphAdamWMs(2);

log('hybrid');
const hybrid = await createHybridPolicy({ learner: tfjs, rollout: onnx });
await hybrid.syncWeights();
const syncMs = await medianMs(() => hybrid.syncWeights(), 10);
const hybridTrainMs = await medianMs(
  () => hybrid.doTrainStep(trainBatch),
  Math.max(1, Math.floor(REPEATS / 2)),
);
const hybridSampling = await samplingRate(hybrid, REPEATS);
await hybrid.doDispose();

log('pytorch');
let torch;
const python = '/usr/bin/python3';
const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
if (probe.status === 0) {
  const output = execFileSync(
    python,
    [
      join(here, 'torch_peer.py'),
      JSON.stringify({
        ...config,
        threads: 1,
        batch: BATCH,
        contextLength: CONTEXT,
        promptLength: PROMPT,
        repeats: REPEATS,
      }),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  torch = JSON.parse(output.trim().split('\n').at(-1));
} else {
  log(`PyTorch is not installed for ${python} (apt-get install python3-torch); the peer column stays empty.`);
}

const gflops = (flops, ms) => flops / (ms / 1000) / 1e9;
const share = (flops, ms) => `${((100 * gflops(flops, ms)) / peakOneThread).toFixed(1)}%`;
const number = (value, digits = 0) =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const versus = (ms, peerMs) => (peerMs === undefined ? 'not measured' : `${number(peerMs / ms, 1)}x`);
const torchSampleMs = torch?.sampleMs;
const torchTokensPerSecond = torch ? (BATCH * NEW_TOKENS) / (torch.sampleMs / 1000) : undefined;
const rows = [
  [
    'forward B16 x T128',
    'onnxruntime-node',
    `${number(onnxForwardMs, 1)} ms`,
    gflops(forwardBatchFlops, onnxForwardMs),
    share(forwardBatchFlops, onnxForwardMs),
    versus(onnxForwardMs, torch?.forwardMs),
  ],
  [
    'forward B16 x T128',
    'tfjs wasm',
    `${number(tfjsForwardMs, 1)} ms`,
    gflops(forwardBatchFlops, tfjsForwardMs),
    share(forwardBatchFlops, tfjsForwardMs),
    versus(tfjsForwardMs, torch?.forwardMs),
  ],
  [
    'KV-cache sampling, 16 x 120 tokens',
    'onnxruntime-node',
    `${number(onnxSampling.tokensPerSecond)} tok/s`,
    gflops(samplingFlops, onnxSampling.ms),
    share(samplingFlops, onnxSampling.ms),
    versus(onnxSampling.ms, torchSampleMs),
  ],
  [
    'KV-cache sampling, 16 x 120 tokens',
    'tfjs wasm (one prompt at a time)',
    `${number(tfjsSampling.tokensPerSecond)} tok/s`,
    gflops(samplingFlops, tfjsSampling.ms),
    share(samplingFlops, tfjsSampling.ms),
    versus(tfjsSampling.ms, torchSampleMs),
  ],
  [
    'KV-cache sampling, 16 x 120 tokens',
    'hybrid (onnx rollout)',
    `${number(hybridSampling.tokensPerSecond)} tok/s`,
    gflops(samplingFlops, hybridSampling.ms),
    share(samplingFlops, hybridSampling.ms),
    versus(hybridSampling.ms, torchSampleMs),
  ],
  [
    'train step, 16 x (8 + 120) tokens',
    'tfjs wasm',
    `${number(tfjsTrainMs)} ms`,
    gflops(trainFlops, tfjsTrainMs),
    share(trainFlops, tfjsTrainMs),
    versus(tfjsTrainMs, torch?.trainMs),
  ],
  [
    'train step, 16 x (8 + 120) tokens',
    'onnxruntime-node, 1 thread (training graph + AdamW)',
    `${number(onnxTrainMs)} ms`,
    gflops(trainFlops, onnxTrainMs),
    share(trainFlops, onnxTrainMs),
    versus(onnxTrainMs, torch?.trainMs),
  ],
  [
    'train step, 16 x (8 + 120) tokens',
    'onnxruntime-node, 2 threads',
    `${number(onnxTrainTwoThreadsMs)} ms`,
    gflops(trainFlops, onnxTrainTwoThreadsMs),
    `${((100 * gflops(trainFlops, onnxTrainTwoThreadsMs)) / peakTwoThreads).toFixed(1)}% of 2-thread peak`,
    versus(onnxTrainTwoThreadsMs, torch?.trainMs),
  ],
  [
    'train step, 16 x (8 + 120) tokens',
    'hybrid (tfjs step + weight sync)',
    `${number(hybridTrainMs)} ms`,
    gflops(trainFlops, hybridTrainMs),
    share(trainFlops, hybridTrainMs),
    versus(hybridTrainMs, torch?.trainMs),
  ],
  [
    'rollout session rebuilt after an onnx update',
    'onnxruntime-node',
    `${number(refreshMs, 1)} ms`,
    undefined,
    '',
    '',
  ],
  [
    'AdamW update of every weight',
    'JavaScript over typed arrays (what the onnx trainer runs)',
    `${number(javascriptAdamWMs, 1)} ms`,
    undefined,
    '',
    '',
  ],
  [
    'AdamW update of every weight',
    'ONNX graph, 1 thread (copies back included)',
    `${number(graphAdamWOneThreadMs, 1)} ms`,
    undefined,
    '',
    '',
  ],
  [
    'AdamW update of every weight',
    'ONNX graph, 2 threads (copies back included)',
    `${number(graphAdamWTwoThreadsMs, 1)} ms`,
    undefined,
    '',
    '',
  ],
  [
    'weight sync learner -> rollout',
    'hybrid (tfjs -> onnx session rebuild)',
    `${number(syncMs, 1)} ms`,
    undefined,
    '',
    '',
  ],
];
if (torch) {
  rows.push(
    [
      'forward B16 x T128',
      `PyTorch ${torch.version} (the peer)`,
      `${number(torch.forwardMs, 1)} ms`,
      gflops(forwardBatchFlops, torch.forwardMs),
      share(forwardBatchFlops, torch.forwardMs),
      '1.0x',
    ],
    [
      'KV-cache sampling, 16 x 120 tokens',
      `PyTorch ${torch.version} (the peer)`,
      `${number(torchTokensPerSecond)} tok/s`,
      gflops(samplingFlops, torch.sampleMs),
      share(samplingFlops, torch.sampleMs),
      '1.0x',
    ],
    [
      'train step, 16 x (8 + 120) tokens',
      `PyTorch ${torch.version} (the peer)`,
      `${number(torch.trainMs)} ms`,
      gflops(trainFlops, torch.trainMs),
      share(trainFlops, torch.trainMs),
      '1.0x',
    ],
  );
}
rows.sort((left, right) => left[0].localeCompare(right[0]));

const met = (ok) => (ok ? 'met' : '**not met**');
const date = new Date().toISOString().slice(0, 10);
const section = `<!-- backends:start -->
## @azr/backends: engines on the benchmark model

Machine: ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} CPUs, Node ${process.versions.node}. Measured ${date}.
Command: \`npm run bench -w @azr/backends\` (after \`npm run build\`; PyTorch from \`apt-get install python3-torch\`).

Model \`LLAMA_PRESETS.benchmark\`: vocabulary 128, width 128, 4 layers, 4 heads, context 128, random weights
(seeded); batch 16. Every engine runs on one thread (onnxruntime \`intraOpThreads: 1\`, tfjs wasm, PyTorch
\`set_num_threads(1)\`) unless its row says 2 threads. Sampling draws 120 tokens after an 8-token prompt for each of 16 prompts (end of
sequence is masked so that every row runs to the full context); the onnx engine decodes the 16 together, the
tfjs policy one after the other. The train step is one PPO-clip update with AdamW over those 16 completions,
timed after warm-up steps (an onnx policy's first step also builds its training session, under a second, once).
Medians of ${REPEATS} runs (sampling and forward) and ${Math.max(1, Math.floor(REPEATS / 2))} (tfjs and hybrid train steps, tfjs sampling). GFLOP/s counts the model's
arithmetic (projections, attention over the full causal window; a train step as 3 forward passes) and the share
is of the measured single-thread matmul peak.

Measured matmul peak (onnxruntime MatMul on float32 squares of 512, 1024 and 2048, fastest run; a peak is a maximum, and noise on this shared machine only slows runs down): ${number(peakOneThread, 1)} GFLOP/s on 1 thread, ${number(peakTwoThreads, 1)} GFLOP/s on 2.

| measurement | engine | median | GFLOP/s | share of 1-thread peak | vs PyTorch (higher is faster) |
| --- | --- | ---: | ---: | ---: | ---: |
${rows.map(([what, engine, value, rate, part, peer]) => `| ${what} | ${engine} | ${value} | ${rate === undefined ? '' : number(rate, 2)} | ${part} | ${peer} |`).join('\n')}

Targets: onnx sampling at least 5,000 tokens/s at batch 16: ${number(onnxSampling.tokensPerSecond)}, ${met(onnxSampling.tokensPerSecond >= 5000)}.
tfjs (wasm) train step under 3 s: ${number(tfjsTrainMs)} ms, ${met(tfjsTrainMs < 3000)}. Weight sync under 50 ms: ${number(syncMs, 1)} ms, ${met(syncMs < 50)}.
onnx train step at least 5x faster than tfjs wasm: ${number(tfjsTrainMs / onnxBestTrainMs, 1)}x (${number(onnxBestTrainMs)} ms against ${number(tfjsTrainMs)} ms), ${met(tfjsTrainMs / onnxBestTrainMs >= 5)}.
onnx train step within 5x of the time its arithmetic takes at the 2-thread peak (${number(arithmeticMs, 1)} ms): ${number(onnxBestTrainMs / arithmeticMs, 1)}x, ${met(onnxBestTrainMs <= 5 * arithmeticMs)}.
onnx train step peak memory (resident set above the process before the first step, in a process of its own): ${number(peakStepBytes / 2 ** 20, 1)} MiB, against ${number(neededBytes / 2 ** 20, 1)} MiB for weights, gradients, AdamW moments and the activations the backward pass reads: ${number(peakStepBytes / neededBytes, 2)}x (target at most 3x), ${met(peakStepBytes <= 3 * neededBytes)}.
${torch ? '' : '\nPyTorch was not installed when this ran (`apt-get install python3-torch`): the peer column says so.\n'}<!-- backends:end -->`;

process.stdout.write(`${section}\n`);
const benchmarksPath = join(repositoryRoot, 'BENCHMARKS.md');
let document = readFileSync(benchmarksPath, 'utf8');
document = document.includes('<!-- backends:start -->')
  ? document.replace(/<!-- backends:start -->[\s\S]*<!-- backends:end -->/, section)
  : `${document.trimEnd()}\n\n${section}\n`;
writeFileSync(benchmarksPath, document);
