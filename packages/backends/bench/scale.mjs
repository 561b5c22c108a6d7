#!/usr/bin/env node
// The scale benchmark (issue 18): random-weight models in the shapes of real small checkpoints, timed through the
// public API of @azr/backends (onnx engine, 2 threads) against PyTorch with OpenBLAS on the same folders, shapes and
// threads, with the machine's floors (memory bandwidth, 2-thread matmul peak) measured in the same run.
//
//   npm run bench:scale                      (after `npm run build`; writes into BENCHMARKS.md)
//   node packages/backends/bench/scale.mjs [--models smollm2-135m,qwen2.5-0.5b,qwen2.5-1.5b] [--engines azr,torch]
//     [--repeats N] [--folder /tmp/azr-scale] [--no-write] [--json results.json] [--force]
//
// Models (written by scripts/write-real-shape-model.mjs under --folder, default $AZR_SCALE_FOLDER or
// /tmp/azr-scale, and reused when config.json says the same shape and seed):
//   smollm2-135m  one float32 model.safetensors (541 MB)
//   qwen2.5-0.5b  bf16 shards through model.safetensors.index.json (988 MB)
//   qwen2.5-1.5b  one bf16 model.safetensors of 3.09 GB (load and generation only)
// Work, each model in child processes of its own (one at a time, so that peaks do not mix and big models never
// run together): load; generation of 64 tokens for each of 8 prompts of 270 tokens (batch 8, temperature 1, no
// stop strings, seeded); one train step of 8 sequences x 384 tokens (270 prompt + 114 completion tokens, PPO-clip,
// AdamW). Peak resident memory per phase from VmHWM, reset at each phase through /proc/self/clear_refs.
// A row that fails (a model that does not load, a child killed for memory) is recorded with its error.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, freemem, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const here = dirname(fileURLToPath(import.meta.url));
const repositoryRoot = join(here, '../../..');
const PYTHON = '/usr/bin/python3';
const THREADS = 2;
const BATCH = 8;
const PROMPT_TOKENS = 270;
const NEW_TOKENS = 64;
const TRAIN_TOKENS = 384;
const COMPLETION_TOKENS = TRAIN_TOKENS - PROMPT_TOKENS; // 114
const SEED = 0;
const log = (message) => process.stderr.write(`${message}\n`);
// onnxruntime execution providers for the onnx engine, as a comma list (scripts/device-check.sh sets it); default
// the CPU. PyTorch stays on the CPU (Debian's build has no CUDA).
const EXECUTION_PROVIDERS = (process.env.AZR_EXECUTION_PROVIDERS ?? '')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);
const ON_CPU = EXECUTION_PROVIDERS.every((name) => name === 'cpu');

/** The models, in run order, with their default repetitions (medians over that many runs). */
const MODELS = [
  {
    shape: 'smollm2-135m',
    label: 'SmolLM2-135M shape, 1 file, f32',
    generateRepeats: 3,
    trainRepeats: 3,
    train: true,
  },
  {
    shape: 'qwen2.5-0.5b',
    label: 'Qwen2.5-0.5B shape, sharded, bf16',
    generateRepeats: 2,
    trainRepeats: 1,
    train: true,
    // PyTorch keeps every activation of a micro-batch for the backward pass: 8 sequences at once would need about
    // 21 GB here (by the count below), so it trains in micro-batches of 2, summing gradients.
    torchMicroBatch: 2,
    // The onnx engine trains it with gradient checkpointing per layer (`recomputeActivations`), the SDK's
    // setting for fitting a model's training into less memory: issue 18's 14 GB target for this step. (With it,
    // the micro-batches run one onnxruntime call each, `microBatchLoop: false`, which holds one set of gradients
    // fewer than the loop; the 135M shape runs them in one call.)
    recomputeActivations: true,
  },
  {
    shape: 'qwen2.5-1.5b',
    label: 'Qwen2.5-1.5B shape, 1 file of 3.1 GB, bf16',
    generateRepeats: 1,
    trainRepeats: 0,
    train: false,
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Memory: the process's peak resident set, resettable per phase.

function residentPeakBytes() {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

function resetResidentPeak() {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // Without it, each phase's peak is the process's peak so far (still an upper bound).
  }
}

function availableBytes() {
  const match = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
  return match ? Number(match[1]) * 1024 : freemem();
}

/** CPU time the whole machine has spent busy (all processes, all CPUs), in seconds, from /proc/stat. */
function machineBusySeconds() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: everything but idle and iowait.
  const busy = fields
    .slice(0, 8)
    .reduce((total, value, index) => (index === 3 || index === 4 ? total : total + value), 0);
  return busy / 100; // USER_HZ
}

/**
 * Waits until the machine is nearly idle (other processes busy under `threshold` CPUs over 5 s), at most
 * `maxMinutes`. The machine is shared; a measurement taken while others compute is not one.
 */
async function waitForQuiet(maxMinutes, threshold = 0.3) {
  const deadline = Date.now() + maxMinutes * 60_000;
  for (;;) {
    const before = machineBusySeconds();
    const ownBefore = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const own = process.cpuUsage(ownBefore);
    const others = machineBusySeconds() - before - (own.user + own.system) / 1e6;
    if (others / 5 < threshold) return others / 5;
    if (Date.now() > deadline) {
      log(`  still busy (${(others / 5).toFixed(2)} CPUs used by other processes); measuring anyway`);
      return others / 5;
    }
    log(`  waiting for a quiet machine: other processes use ${(others / 5).toFixed(2)} CPUs`);
    await new Promise((resolve) => setTimeout(resolve, 25_000));
  }
}

/** The commit measured (`AZR_BENCH_COMMIT` when set, for a checkout without git), and whether sources differ. */
function codeVersion() {
  if (process.env.AZR_BENCH_COMMIT) return process.env.AZR_BENCH_COMMIT;
  const git = (args) => spawnSync('git', args, { cwd: repositoryRoot, encoding: 'utf8' });
  const head = git(['rev-parse', '--short', 'HEAD']);
  if (head.status !== 0) return 'unknown commit';
  const changed = git([
    'status',
    '--porcelain',
    '--',
    'packages/backends/src',
    'packages/core/src',
  ]).stdout.trim();
  return `commit ${head.stdout.trim()}${changed === '' ? '' : ' with uncommitted changes in packages/*/src'}`;
}

/** The CPU as /proc/cpuinfo names it, with its family, model and vector extensions. */
function cpuDescription() {
  const info = readFileSync('/proc/cpuinfo', 'utf8');
  const field = (name) => new RegExp(`^${name}\\s*: (.*)$`, 'm').exec(info)?.[1]?.trim();
  const flags = new Set((field('flags') ?? '').split(' '));
  const vectors = ['avx2', 'avx512f', 'avx512_bf16', 'amx_tile'].filter((flag) => flags.has(flag));
  return `${field('model name') ?? 'unknown CPU'} (family ${field('cpu family')}, model ${field('model')}; ${vectors.join(', ') || 'no AVX2'})`;
}

const errorText = (error) => `${error?.name ?? 'Error'}: ${error?.message ?? String(error)}`;

// ---------------------------------------------------------------------------------------------------------------
// Worker: one half of the streaming read of the bandwidth floor.

if (!isMainThread) {
  const { buffer, begin, end, passes } = workerData;
  const values = new Float64Array(buffer);
  const times = [];
  let total = 0;
  for (let pass = 0; pass < passes; pass += 1) {
    parentPort.postMessage({ ready: pass });
    await new Promise((resolve) => parentPort.once('message', resolve));
    const started = performance.now();
    // Four independent sums, so that the loop waits on memory rather than on one chain of additions.
    let a = 0;
    let b = 0;
    let c = 0;
    let d = 0;
    for (let index = begin; index < end; index += 4) {
      a += values[index];
      b += values[index + 1];
      c += values[index + 2];
      d += values[index + 3];
    }
    total += a + b + c + d;
    times.push(performance.now() - started);
  }
  parentPort.postMessage({ times, total });
}

/**
 * Memory bandwidth of a streaming read: 2 worker threads each sum half of a 2 GiB Float64Array (shared, paged in
 * first), 5 passes; a pass's rate is the bytes over the slower thread's time; the best pass. A floor is a bound
 * nothing beats, and noise on a shared machine only slows a pass down.
 */
async function nodeBandwidth() {
  const bytes = 2 * 2 ** 30;
  const buffer = new SharedArrayBuffer(bytes);
  new Float64Array(buffer).fill(1);
  const length = bytes / 8;
  const passes = 5;
  const workers = [0, 1].map(
    (index) =>
      new Worker(fileURLToPath(import.meta.url), {
        workerData: { buffer, begin: (index * length) / 2, end: ((index + 1) * length) / 2, passes },
      }),
  );
  const results = workers.map(
    (worker) =>
      new Promise((resolve, reject) => {
        worker.on('error', reject);
        worker.on('message', (message) => {
          if (message.times) resolve(message.times);
        });
      }),
  );
  for (let pass = 0; pass < passes; pass += 1) {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise((resolve) => {
            const onMessage = (message) => {
              if (message.ready === pass) {
                worker.off('message', onMessage);
                resolve();
              }
            };
            worker.on('message', onMessage);
          }),
      ),
    );
    for (const worker of workers) worker.postMessage('go');
  }
  const times = await Promise.all(results);
  await Promise.all(workers.map((worker) => worker.terminate()));
  let best = 0;
  for (let pass = 0; pass < passes; pass += 1) {
    const slowest = Math.max(...times.map((list) => list[pass]));
    best = Math.max(best, bytes / (slowest / 1000));
  }
  return best;
}

/** PyTorch's view of the same floors: `x.sum()` over 2 GiB of float32 and a 2048 matmul, 2 threads, best of 5. */
function torchFloors() {
  const script = `
import json, time, torch
torch.set_num_threads(${THREADS})
x = torch.ones(2 ** 29)
best = 0
for _ in range(6):
    s = time.perf_counter(); x.sum(); best = max(best, x.numel() * 4 / (time.perf_counter() - s))
del x
peak = 0
for n in (1024, 2048):
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    for _ in range(5):
        s = time.perf_counter(); a @ b; peak = max(peak, 2 * n ** 3 / (time.perf_counter() - s))
print(json.dumps({"bandwidth": best, "matmul": peak / 1e9}))
`;
  const result = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8' });
  if (result.status !== 0)
    return { error: (result.stderr || result.error?.message || '').trim().split('\n').at(-1) };
  return JSON.parse(result.stdout.trim().split('\n').at(-1));
}

/** onnxruntime's MatMul on float32 squares of 1024 and 2048, 2 threads, fastest run (as the backends bench). */
async function onnxMatmulPeak() {
  const { onnxMatmulPeak: peak } = await import('./matmul-peak.mjs');
  return peak({ threads: THREADS, sizes: [1024, 2048], runsAt2048: 8 });
}

// ---------------------------------------------------------------------------------------------------------------
// The child that runs one model on the SDK's onnx engine: settings as JSON on standard input, results as JSON on
// the last line of standard output.

async function runAzrChild() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const settings = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const results = { errors: {} };
  const childLog = (message) => log(`[azr] ${message}`);
  // On this shared machine, if memory runs out, this process is the one the kernel stops.
  try {
    writeFileSync('/proc/self/oom_score_adj', '1000');
  } catch {
    // Not Linux, or not allowed: nothing to do.
  }
  resetResidentPeak();
  let policy;
  try {
    childLog(`load ${settings.directory}`);
    const { createOnnxPolicy } = await import('../dist/onnx/index.js');
    const started = performance.now();
    policy = await createOnnxPolicy({
      model: { directory: settings.directory },
      intraOpThreads: THREADS,
      batchSize: BATCH,
      ...(settings.recomputeActivations === true ? { recomputeActivations: true } : {}),
      ...(settings.rolloutPrecision === undefined ? {} : { rolloutPrecision: settings.rolloutPrecision }),
      ...(EXECUTION_PROVIDERS.length === 0 ? {} : { executionProviders: EXECUTION_PROVIDERS }),
    });
    results.loadMs = performance.now() - started;
  } catch (error) {
    results.errors.load = errorText(error);
  }
  results.loadPeakBytes = residentPeakBytes();
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
  const request = (maxTokens, seed) => ({
    prompts: settings.prompts,
    seed,
    temperature: 1,
    topP: 1,
    maxTokens,
  });
  if (policy !== undefined && settings.phases.includes('generate')) {
    resetResidentPeak();
    try {
      const first = [];
      for (let repeat = 0; repeat < settings.generateRepeats; repeat += 1) {
        childLog(`prefill only (maxTokens 1), run ${repeat + 1}/${settings.generateRepeats}`);
        const started = performance.now();
        const result = await policy.doGenerate(request(1, 100 + repeat));
        first.push(performance.now() - started);
        results.promptTokens = result.completions.map((completion) => completion.promptTokenIds.length);
      }
      const totals = [];
      let produced = [];
      let last;
      for (let repeat = 0; repeat < settings.generateRepeats; repeat += 1) {
        childLog(`generate ${settings.maxTokens} tokens, run ${repeat + 1}/${settings.generateRepeats}`);
        const started = performance.now();
        last = await policy.doGenerate(request(settings.maxTokens, repeat));
        totals.push(performance.now() - started);
        produced = last.completions.map((completion) => completion.tokenIds.length);
        childLog(`  ${totals.at(-1).toFixed(0)} ms, tokens per completion ${produced.join(' ')}`);
      }
      // The generation's peak, before the learner scores anything below.
      results.generatePeakBytes = residentPeakBytes();
      // Rollouts at another precision: how far their log probabilities are from the learner's on the tokens they
      // sampled, and the importance weights the update gives those tokens (min(pi_learner / pi_rollout, cap)).
      if (settings.rolloutPrecision !== undefined && settings.rolloutPrecision !== 'float32' && last) {
        const { DEFAULT_IMPORTANCE_TRUNCATION } = await import('../dist/onnx/index.js');
        const { logProbs } = await policy.doComputeLogProbs({
          sequences: last.completions.map((completion) => ({
            promptTokenIds: completion.promptTokenIds,
            completionTokenIds: completion.tokenIds,
          })),
          temperature: 1,
        });
        const differences = [];
        const weights = [];
        last.completions.forEach((completion, row) => {
          completion.logProbs.forEach((rollout, index) => {
            const learner = logProbs[row][index];
            differences.push(learner - rollout);
            weights.push(Math.exp(learner - rollout));
          });
        });
        const cap = DEFAULT_IMPORTANCE_TRUNCATION;
        const mean = (values) => values.reduce((total, value) => total + value, 0) / values.length;
        results.rolloutMismatch = {
          tokens: differences.length,
          meanAbsoluteLogProbDifference: mean(differences.map(Math.abs)),
          largestAbsoluteLogProbDifference: Math.max(...differences.map(Math.abs)),
          meanImportanceWeight: mean(weights.map((weight) => Math.min(weight, cap))),
          truncatedShare: weights.filter((weight) => weight > cap).length / weights.length,
          cap,
        };
        childLog(`  rollout mismatch ${JSON.stringify(results.rolloutMismatch)}`);
      }
      const firstTokenMs = median(first);
      const totalMs = median(totals);
      results.generate = {
        firstTokenMs,
        totalMs,
        // From outside the engine: the rest of the time after the first token, over the steps that made the rest.
        decodeMs: totalMs - firstTokenMs,
        decodeStepMs: (totalMs - firstTokenMs) / (settings.maxTokens - 1),
        tokensPerCompletion: produced,
        runs: { firstToken: first, total: totals },
      };
    } catch (error) {
      results.errors.generate = errorText(error);
    }
    results.generatePeakBytes ??= residentPeakBytes();
  }
  if (policy !== undefined && settings.phases.includes('train')) {
    resetResidentPeak();
    try {
      const { train } = settings;
      const batch = {
        sequences: train.promptTokenIds.map((promptTokenIds, index) => ({
          promptTokenIds,
          completionTokenIds: train.completionTokenIds[index],
          oldLogProbs: train.oldLogProbs[index],
          advantages: train.advantages[index],
        })),
        temperature: 1,
        loss: { clipRatio: 0.2, entropyCoefficient: 0 },
      };
      const steps = [];
      for (let repeat = 0; repeat <= settings.trainRepeats; repeat += 1) {
        childLog(`train step ${repeat + 1}/${settings.trainRepeats + 1}`);
        const started = performance.now();
        await policy.doTrainStep(batch);
        steps.push(performance.now() - started);
        childLog(`  ${steps.at(-1).toFixed(0)} ms`);
      }
      results.train = {
        firstMs: steps[0],
        medianMs: steps.length > 1 ? median(steps.slice(1)) : steps[0],
        runs: steps,
      };
    } catch (error) {
      results.errors.train = errorText(error);
    }
    results.trainPeakBytes = residentPeakBytes();
  }
  await policy?.doDispose();
  const cpu = process.cpuUsage();
  results.cpuSeconds = (cpu.user + cpu.system) / 1e6;
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// The parent: folders, floors, workload, children, table.

/** Runs a child with `input` on its standard input; its last stdout line is JSON. Failures become `{ failed }`. */
function runChild(command, args, input, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderrTail = '';
    child.stdout.on('data', (data) => {
      stdout += data;
    });
    child.stderr.on('data', (data) => {
      process.stderr.write(data);
      stderrTail = (stderrTail + data).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code === 0 && last.startsWith('{')) {
        resolve(JSON.parse(last));
        return;
      }
      const lastError = stderrTail
        .trim()
        .split('\n')
        .filter((line) => !line.startsWith('['))
        .at(-1);
      resolve({
        failed:
          signal === 'SIGKILL'
            ? `killed (SIGKILL: out of memory, or over the ${timeoutMs / 60000} min limit)`
            : `exited with ${signal ?? `code ${code}`}${lastError ? `: ${lastError}` : ''}`,
      });
    });
    child.stdin.end(JSON.stringify(input));
  });
}

async function ensureFolder(folder, shape) {
  const directory = join(folder, shape);
  try {
    const config = JSON.parse(await readFile(join(directory, 'config.json'), 'utf8'));
    const written = config.azr_real_shape;
    // config.json is written last and names the shape and seed: its presence means the weights are complete.
    if (written?.shape === shape && written?.seed === SEED) {
      log(`reusing ${directory}`);
      return { directory, config, reused: true };
    }
  } catch {
    // Not written yet.
  }
  log(`writing ${directory} (${shape}, seed ${SEED})`);
  const { writeRealShapeModel } = await import(join(repositoryRoot, 'scripts/write-real-shape-model.mjs'));
  const started = performance.now();
  await writeRealShapeModel({ out: directory, shape, seed: SEED });
  log(`  written in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return {
    directory,
    config: JSON.parse(await readFile(join(directory, 'config.json'), 'utf8')),
    reused: false,
  };
}

/** Counts of one model: parameters, bytes a decode step must read, FLOPs of each phase, train memory by count. */
function modelCounts(json) {
  const hidden = json.hidden_size;
  const mlp = json.intermediate_size;
  const layers = json.num_hidden_layers;
  const heads = json.num_attention_heads;
  const kvHeads = json.num_key_value_heads ?? heads;
  const headDim = json.head_dim ?? hidden / heads;
  const vocabulary = json.vocab_size;
  const bias = json.attention_bias === true || json.model_type === 'qwen2';
  const tied = json.tie_word_embeddings === true;
  const layerMatrices = hidden * heads * headDim * 2 + hidden * kvHeads * headDim * 2 + 3 * hidden * mlp;
  const layerOther = 2 * hidden + (bias ? heads * headDim + 2 * kvHeads * headDim : 0);
  const embedding = vocabulary * hidden;
  const parameters = layers * (layerMatrices + layerOther) + hidden + embedding * (tied ? 1 : 2);
  // Matmul FLOPs per token through the layers and through the head.
  const layerFlopsPerToken = 2 * layers * layerMatrices;
  const headFlopsPerToken = 2 * embedding;
  // Attention (scores and weighted sum) of one query over `keys` positions, all layers.
  const attentionFlops = (keys) => 2 * 2 * layers * heads * headDim * keys;
  const causalKeys = (length) => (length * (length + 1)) / 2;
  // Prefill: every prompt position through the layers, the head at the last position only.
  const prefillFlops =
    BATCH *
    (PROMPT_TOKENS * layerFlopsPerToken + headFlopsPerToken + attentionFlops(causalKeys(PROMPT_TOKENS)));
  // A decode step reads every weight once (the tied head reads the embedding; the embedding lookup is a few rows)
  // and the key/value cache of every sequence; it computes 2 FLOPs per weight per sequence.
  const weightBytes = 4 * (parameters - (tied ? 0 : embedding)); // float32, as both engines hold them
  // int8 rollouts: the products (layers and head) a byte a weight plus a float32 scale per 32; norms and biases
  // float32; the embedding lookup reads a few rows.
  const int8WeightBytes =
    (layers * layerMatrices + embedding) * (1 + 4 / 32) + 4 * (layers * layerOther + hidden);
  const cacheBytes = (past) => BATCH * layers * 2 * kvHeads * headDim * 4 * past;
  const decodeSteps = Array.from({ length: NEW_TOKENS - 1 }, (_, step) => PROMPT_TOKENS + step + 1);
  const decodeStepFlops = (past) => BATCH * (layerFlopsPerToken + headFlopsPerToken + attentionFlops(past));
  // Train step: forward + backward = 3 forward passes; the head only at the positions that predict completion
  // tokens (the loss needs no other logits).
  const trainTokens = BATCH * TRAIN_TOKENS;
  const trainFlops =
    3 *
    (trainTokens * layerFlopsPerToken +
      BATCH * COMPLETION_TOKENS * headFlopsPerToken +
      BATCH * attentionFlops(causalKeys(TRAIN_TOKENS)));
  // Train memory by count: weights, gradients and both AdamW moments (float32), and the activations the backward
  // pass reads as the backends bench counts them (per layer and position 8 x width + 5 x MLP width floats, and two
  // attention-probability tables per head), plus the logits of the loss positions.
  const stateBytes = 16 * parameters;
  const activationBytes = (sequences) =>
    4 *
    (layers *
      (sequences * TRAIN_TOKENS * (8 * hidden + 5 * mlp) + sequences * heads * TRAIN_TOKENS ** 2 * 2) +
      sequences * COMPLETION_TOKENS * vocabulary);
  return {
    parameters,
    weightBytes,
    int8WeightBytes,
    prefillFlops,
    decodeSteps,
    decodeStepFlops,
    cacheBytes,
    trainFlops,
    stateBytes,
    activationBytes,
  };
}

/** Prompts of exactly PROMPT_TOKENS tokens: code text cut where it re-encodes to that length. */
function buildPrompts(tokenizer) {
  const prompts = [];
  for (let row = 0; row < BATCH; row += 1) {
    const lines = [];
    for (let index = 0; index < 60; index += 1) {
      const a = (row * 37 + index * 11) % 97;
      const b = (row * 13 + index * 7) % 89;
      lines.push(
        `def f_${row}_${index}(x):\n    if x > ${a}:\n        return x * ${b} - ${index}\n    return [x, ${a + b}]\n`,
      );
    }
    const ids = tokenizer.encode(lines.join('\n'));
    let prompt;
    for (const cut of [0, 1, -1, 2, -2, 3, -3, 4, -4].map((delta) => PROMPT_TOKENS + delta)) {
      const text = tokenizer.decode(ids.slice(0, cut));
      if (tokenizer.encode(text).length === PROMPT_TOKENS) {
        prompt = text;
        break;
      }
    }
    if (prompt === undefined) throw new Error(`no cut of prompt ${row} encodes to ${PROMPT_TOKENS} tokens`);
    prompts.push(prompt);
  }
  return { prompts, promptTokenIds: prompts.map((prompt) => tokenizer.encode(prompt)) };
}

/** The train batch: the prompts, seeded completion tokens, old log probabilities of a uniform model, +-1 advantages. */
function buildTrainBatch(promptTokenIds, tokenizerVocabulary, modelVocabulary) {
  let state = 0x2545f491;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  // Ids the tokenizer owns, less its special tokens at the end of phi-2's byte-level vocabulary.
  const completionTokenIds = promptTokenIds.map(() =>
    Array.from({ length: COMPLETION_TOKENS }, () =>
      Math.floor(next() * Math.min(tokenizerVocabulary, 50_256)),
    ),
  );
  const oldLogProb = -Math.log(modelVocabulary);
  return {
    promptTokenIds,
    completionTokenIds,
    oldLogProbs: completionTokenIds.map((ids) => ids.map(() => oldLogProb)),
    advantages: completionTokenIds.map((ids, index) => ids.map(() => (index % 2 === 0 ? 1 : -1))),
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      models: { type: 'string', default: MODELS.map((model) => model.shape).join(',') },
      engines: { type: 'string', default: 'azr,azr-int8,torch' },
      repeats: { type: 'string' },
      folder: { type: 'string', default: process.env.AZR_SCALE_FOLDER ?? '/tmp/azr-scale' },
      'no-write': { type: 'boolean', default: false },
      json: { type: 'string' },
      force: { type: 'boolean', default: false },
      'timeout-minutes': { type: 'string', default: '60' },
      'wait-quiet-minutes': { type: 'string', default: '0' },
      render: { type: 'string' },
      child: { type: 'boolean', default: false },
    },
  });
  if (values.child) {
    await runAzrChild();
    return;
  }
  if (values.render !== undefined) {
    // Renders the section again from a run's --json output (after a change to the text), without measuring.
    publish(JSON.parse(readFileSync(values.render, 'utf8')), values['no-write']);
    return;
  }
  const shapes = values.models.split(',').map((name) => name.trim());
  const unknown = shapes.filter((shape) => !MODELS.some((model) => model.shape === shape));
  if (unknown.length > 0)
    throw new Error(
      `Unknown model ${unknown.join(', ')}; the models are ${MODELS.map((m) => m.shape).join(', ')}.`,
    );
  const engines = values.engines.split(',').map((name) => name.trim());
  const repeatsOverride = values.repeats === undefined ? undefined : Number(values.repeats);
  const timeoutMs = Number(values['timeout-minutes']) * 60_000;
  const waitMinutes = Number(values['wait-quiet-minutes']);
  const started = new Date();

  log(
    `free memory ${(availableBytes() / 2 ** 30).toFixed(1)} GiB of ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
  );
  const folders = new Map();
  for (const shape of shapes) folders.set(shape, await ensureFolder(values.folder, shape));

  const torchProbe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  const torchAvailable = torchProbe.status === 0;
  // The floors are measured before and after the models (a floor is the best the machine shows; a shared
  // machine's noise only lowers a measurement), and the better of the two counts.
  const measureFloors = async (when) => {
    if (waitMinutes > 0) await waitForQuiet(waitMinutes);
    log(
      `floors (${when}): memory bandwidth (2 Node threads, PyTorch), matmul peak (onnxruntime, PyTorch; 2 threads)`,
    );
    const measured = {
      nodeBandwidth: await nodeBandwidth(),
      onnxMatmulPeak: await onnxMatmulPeak(),
      torch: torchAvailable ? torchFloors() : { error: 'PyTorch is not installed for /usr/bin/python3' },
    };
    log(
      `  bandwidth ${(measured.nodeBandwidth / 1e9).toFixed(1)} GB/s (Node), ${((measured.torch.bandwidth ?? 0) / 1e9).toFixed(1)} GB/s (torch); ` +
        `matmul ${measured.onnxMatmulPeak.toFixed(0)} GFLOP/s (onnxruntime), ${(measured.torch.matmul ?? 0).toFixed(0)} (torch)`,
    );
    return measured;
  };
  const floorsBefore = await measureFloors('before');

  const { loadHuggingFaceTokenizer } = await import('../dist/index.js');
  const tokenizer = await loadHuggingFaceTokenizer(folders.get(shapes[0]).directory);
  const { prompts, promptTokenIds } = buildPrompts(tokenizer);

  const results = [];
  for (const shape of shapes) {
    const model = MODELS.find((entry) => entry.shape === shape);
    const { directory, config } = folders.get(shape);
    const counts = modelCounts(config);
    const generateRepeats = repeatsOverride ?? model.generateRepeats;
    const trainRepeats = repeatsOverride ?? model.trainRepeats;
    const phases = model.train ? ['generate', 'train'] : ['generate'];
    const train = buildTrainBatch(promptTokenIds, tokenizer.vocabularySize, config.vocab_size);
    const entry = {
      shape,
      label: model.label,
      directory,
      config,
      counts,
      generateRepeats,
      trainRepeats,
      phases,
      engines: {},
    };
    for (const engine of engines) {
      if (engine === 'torch' && !torchAvailable) {
        entry.engines.torch = {
          failed:
            'PyTorch is not installed for /usr/bin/python3 (apt-get install python3-torch libopenblas0-pthread)',
        };
        continue;
      }
      if (waitMinutes > 0) await waitForQuiet(waitMinutes);
      // int8 rollouts change generation only (the learner is the same float32 one).
      const enginePhases = engine === 'azr-int8' ? phases.filter((phase) => phase === 'generate') : phases;
      // The machine is shared: a train step that cannot fit in the memory available now is not started. PyTorch's
      // need is counted (its micro-batches are this script's); the onnx engine sizes its own micro-batches, so
      // only what no engine can do without is counted for it: weights, gradients and AdamW moments. A child the
      // kernel stops for memory (children ask to be the first one stopped) is recorded as such.
      const microBatch = engine === 'torch' ? (model.torchMicroBatch ?? BATCH) : BATCH;
      const needed = !enginePhases.includes('train')
        ? 2 * counts.weightBytes
        : engine === 'torch'
          ? counts.stateBytes + counts.activationBytes(microBatch)
          : counts.stateBytes;
      const available = availableBytes();
      let runPhases = enginePhases;
      let skipped;
      if (!values.force && needed + 2 * 2 ** 30 > available) {
        runPhases = enginePhases.filter((phase) => phase !== 'train');
        skipped = `not run: about ${(needed / 1e9).toFixed(1)} GB needed by count, ${(available / 1e9).toFixed(1)} GB available (--force runs it)`;
        if (!model.train) runPhases = [];
      }
      log(
        `\n${shape} on ${engine} (${runPhases.join(', ') || 'nothing'}; ${(available / 2 ** 30).toFixed(1)} GiB available)`,
      );
      const input = {
        directory,
        prompts,
        promptTokenIds,
        maxTokens: NEW_TOKENS,
        phases: runPhases,
        generateRepeats,
        trainRepeats,
        train,
        threads: THREADS,
        microBatch,
        recomputeActivations: engine === 'azr' && model.recomputeActivations === true,
        ...(engine === 'azr-int8' ? { rolloutPrecision: 'int8' } : {}),
        seed: SEED,
      };
      const busyBefore = machineBusySeconds();
      const started = performance.now();
      const result =
        runPhases.length === 0
          ? { errors: { load: skipped } }
          : engine === 'azr' || engine === 'azr-int8'
            ? await runChild(process.execPath, [fileURLToPath(import.meta.url), '--child'], input, timeoutMs)
            : await runChild(PYTHON, [join(here, 'torch_scale.py')], input, timeoutMs);
      if (skipped !== undefined && enginePhases.includes('train')) {
        result.errors ??= {};
        result.errors.train = skipped;
      }
      result.wallMs = performance.now() - started;
      // What other processes took from the 2 CPUs while this child ran: the machine's busy time less the child's.
      if (result.cpuSeconds !== undefined)
        result.othersCpuShare =
          Math.max(0, machineBusySeconds() - busyBefore - result.cpuSeconds) /
          ((result.wallMs / 1000) * cpus().length);
      result.microBatch = microBatch;
      if (input.recomputeActivations) result.recomputeActivations = true;
      entry.engines[engine] = result;
      log(`${shape} on ${engine}: ${JSON.stringify(result)}`);
    }
    results.push(entry);
  }

  const machine = `${cpuDescription()}, ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
  const raw = {
    date: started.toISOString(),
    code: codeVersion(),
    executionProviders: ON_CPU ? ['cpu'] : EXECUTION_PROVIDERS,
    machine,
    node: process.versions.node,
    floors: combineFloors([floorsBefore, await measureFloors('after')]),
    results: results.map(({ counts, ...rest }) => ({
      ...rest,
      counts: {
        parameters: counts.parameters,
        weightBytes: counts.weightBytes,
        trainFlops: counts.trainFlops,
        stateBytes: counts.stateBytes,
      },
    })),
  };
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(raw, null, 2)}\n`);

  process.stdout.write(`${JSON.stringify(raw)}\n\n`);
  publish(raw, values['no-write']);
}

/** Issue 18's targets for this machine, each with its measurement and whether it is met. */
function targets(generate, train) {
  const met = (ok) => (ok ? 'met' : '**not met**');
  const lines = ['Targets (issue 18, this machine, 2 threads):', ''];
  const small = generate.get('smollm2-135m');
  if (small?.azr !== undefined) {
    const versus = small.torch === undefined ? undefined : small.torch / small.azr;
    lines.push(
      `- 135M generation at most 8 s, at least 5x PyTorch, within 1.4x of the floor: ${seconds(small.azr)}, ` +
        `${versus === undefined ? 'PyTorch not measured' : `${versus.toFixed(2)}x PyTorch`}, ${(small.azr / small.floor).toFixed(2)}x the floor: ` +
        `${met(small.azr <= 8000 && versus !== undefined && versus >= 5 && small.azr <= 1.4 * small.floor)}.`,
    );
  }
  if (small?.int8 !== undefined) {
    const versus = small.torch === undefined ? undefined : small.torch / small.int8;
    lines.push(
      `- 135M generation with int8 rollouts (item 5), at most 8 s, at least 5x PyTorch, beyond the float32 floor: ${seconds(small.int8)}, ` +
        `${versus === undefined ? 'PyTorch not measured' : `${versus.toFixed(2)}x PyTorch`}, ${(small.int8 / small.floor).toFixed(2)}x the float32 floor ` +
        `(${(small.int8 / small.int8Floor).toFixed(2)}x the int8 floor): ` +
        `${met(small.int8 <= 8000 && versus !== undefined && versus >= 5 && small.int8 < small.floor)}.`,
    );
  }
  const smallTrain = train.get('smollm2-135m');
  if (smallTrain?.azr !== undefined) {
    const versus = smallTrain.torch === undefined ? undefined : smallTrain.torch / smallTrain.azr;
    lines.push(
      `- 135M train step at most 16 s, at least 3x PyTorch, within 2x of the arithmetic floor, peak at most 1.5x what it needs: ` +
        `${seconds(smallTrain.azr)}, ${versus === undefined ? 'PyTorch not measured' : `${versus.toFixed(2)}x PyTorch`}, ` +
        `${(smallTrain.azr / smallTrain.floor).toFixed(2)}x the floor, peak ${(smallTrain.peak / smallTrain.needed).toFixed(2)}x: ` +
        `${met(smallTrain.azr <= 16_000 && versus !== undefined && versus >= 3 && smallTrain.azr <= 2 * smallTrain.floor && smallTrain.peak <= 1.5 * smallTrain.needed)}.`,
    );
  }
  const half = generate.get('qwen2.5-0.5b');
  const halfTrain = train.get('qwen2.5-0.5b');
  if (half !== undefined)
    lines.push(
      `- 0.5B sharded loads, and one train step runs in at most 14 GB: ` +
        `${half.loaded ? 'loads' : 'does not load'}${halfTrain?.azr === undefined ? ', no train step' : `, train step peak ${gigabytes(halfTrain.peak)}`}: ` +
        `${met(half.loaded && halfTrain?.azr !== undefined && halfTrain.peak <= 14e9)}.`,
    );
  const large = generate.get('qwen2.5-1.5b');
  if (large !== undefined)
    lines.push(
      `- 1.5B single 3 GB file loads and generates: ${large.azr === undefined ? (large.loaded ? 'loads, does not generate' : 'does not load') : `generates in ${seconds(large.azr)}`}: ${met(large.azr !== undefined)}.`,
    );
  return lines.join('\n');
}

/** The best of several floor measurements, each kind separately, and the measurements themselves. */
function combineFloors(measurements) {
  const best = (pick) => Math.max(0, ...measurements.map(pick).filter((value) => value !== undefined));
  const nodeBandwidth = best((m) => m.nodeBandwidth);
  const onnxMatmulPeak = best((m) => m.onnxMatmulPeak);
  const torchBandwidth = best((m) => m.torch.bandwidth);
  const torchMatmul = best((m) => m.torch.matmul);
  return {
    nodeBandwidth,
    onnxMatmulPeak,
    torch: torchBandwidth > 0 ? { bandwidth: torchBandwidth, matmul: torchMatmul } : measurements[0].torch,
    bandwidth: Math.max(nodeBandwidth, torchBandwidth),
    matmulPeak: Math.max(onnxMatmulPeak, torchMatmul),
    measurements,
  };
}

/** The section's marker: `scale` on the CPU, `scale-cuda` (and so on) when the onnx engine ran elsewhere. */
function sectionMarker(raw) {
  const providers = raw.executionProviders ?? ['cpu'];
  return providers.every((name) => name === 'cpu') ? 'scale' : `scale-${providers.join('-')}`;
}

/** Prints the section and, unless `noWrite`, writes it into BENCHMARKS.md (after the backends section). */
function publish(raw, noWrite) {
  const section = renderSection(raw);
  const marker = sectionMarker(raw);
  process.stdout.write(`${section}\n`);
  if (noWrite) return;
  const path = join(repositoryRoot, 'BENCHMARKS.md');
  let document = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const start = `<!-- ${marker}:start -->`;
  const end = `<!-- ${marker}:end -->`;
  if (document.includes(start) && document.includes(end))
    document =
      document.slice(0, document.indexOf(start)) +
      section +
      document.slice(document.indexOf(end) + end.length);
  else if (document.includes('<!-- backends:end -->'))
    document = document.replace('<!-- backends:end -->', `<!-- backends:end -->\n\n${section}`);
  else document = `${document.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, document);
  log(`wrote the ${marker} section of ${path}`);
}

// ---------------------------------------------------------------------------------------------------------------
// The table.

const seconds = (ms) =>
  ms === undefined
    ? ''
    : ms >= 10_000
      ? `${(ms / 1000).toFixed(1)} s`
      : ms >= 1000
        ? `${(ms / 1000).toFixed(2)} s`
        : `${ms.toFixed(0)} ms`;
const gigabytes = (bytes) => (bytes === undefined ? '' : `${(bytes / 1e9).toFixed(1)} GB`);

function renderSection(raw) {
  const { code, machine, floors } = raw;
  const {
    bandwidth,
    matmulPeak,
    nodeBandwidth: nodeRate,
    onnxMatmulPeak: onnxPeak,
    torch: torchFloor,
  } = floors;
  const results = raw.results.map((result) => ({
    ...result,
    counts: modelCounts(
      result.config ?? JSON.parse(readFileSync(join(result.directory, 'config.json'), 'utf8')),
    ),
  }));
  const rows = [];
  const notes = [];
  const trainSummary = new Map();
  const generateSummary = new Map();
  let torchVersion;
  let torchBlas;
  for (const { label, shape, counts, engines, generateRepeats, trainRepeats, phases } of results) {
    const azr = engines.azr ?? { failed: 'not run (--engines)' };
    const torch = engines.torch ?? { failed: 'not run (--engines)' };
    torchVersion ??= torch.version;
    torchBlas ??= torch.blas;
    const failure = (result, phase) =>
      result.failed ??
      result.errors?.[phase] ??
      (phase !== 'load' && result.errors?.load !== undefined ? 'not run: the model did not load' : undefined);
    const cell = (result, phase, value) =>
      value !== undefined ? seconds(value) : failure(result, phase) === undefined ? '' : 'failed (below)';
    const ratio = (azrMs, torchMs) =>
      azrMs === undefined || torchMs === undefined ? '' : `${(torchMs / azrMs).toFixed(2)}x`;
    const share = (floorMs, ms) => (ms === undefined ? '' : `${((100 * floorMs) / ms).toFixed(0)}%`);
    const peaks = (azrBytes, torchBytes) => `${gigabytes(azrBytes) || '-'} / ${gigabytes(torchBytes) || '-'}`;
    for (const [engineName, result] of [
      ['onnx', azr],
      ['PyTorch', torch],
    ]) {
      const errors = ['load', ...phases]
        .map((phase) => [phase, failure(result, phase)])
        .filter(([, error]) => error);
      // One line when everything failed the same way, or when nothing ran after a failed load.
      if (errors.length > 0 && errors.every(([, error]) => error === errors[0][1]))
        notes.push(`- ${shape}, ${engineName}: ${errors[0][1]}`);
      else if (result.errors?.load !== undefined)
        notes.push(`- ${shape}, ${engineName}, load: ${result.errors.load} (nothing else ran)`);
      else for (const [phase, error] of errors) notes.push(`- ${shape}, ${engineName}, ${phase}: ${error}`);
    }
    // Floors.
    const prefillFloorMs =
      Math.max(counts.prefillFlops / (matmulPeak * 1e9), counts.weightBytes / bandwidth) * 1000;
    const stepFloorMs = (past) =>
      Math.max(
        (counts.weightBytes + counts.cacheBytes(past)) / bandwidth,
        counts.decodeStepFlops(past) / (matmulPeak * 1e9),
      ) * 1000;
    const decodeFloorMs = counts.decodeSteps.reduce((total, past) => total + stepFloorMs(past), 0);
    const meanStepFloorMs = decodeFloorMs / counts.decodeSteps.length;
    const generateFloorMs = prefillFloorMs + decodeFloorMs;
    const trainFloorMs = (counts.trainFlops / (matmulPeak * 1e9)) * 1000;
    const g = (result) => result.generate ?? {};
    const t = (result) => result.train ?? {};
    // One row: a phase's figure on each engine, their ratio, and the floor it is held against.
    const row = (what, step, pick, floorMs, peakCell = '', onnx = azr) =>
      rows.push([
        label,
        what,
        cell(onnx, step, pick(onnx)),
        cell(torch, step, pick(torch)),
        ratio(pick(onnx), pick(torch)),
        floorMs === undefined ? '' : seconds(floorMs),
        floorMs === undefined ? '' : share(floorMs, pick(onnx)),
        peakCell,
      ]);
    row('load', 'load', (result) => result.loadMs, undefined, peaks(azr.loadPeakBytes, torch.loadPeakBytes));
    row(
      `generate 8 x ${NEW_TOKENS} tokens after ${PROMPT_TOKENS} (median of ${generateRepeats})`,
      'generate',
      (result) => g(result).totalMs,
      generateFloorMs,
      peaks(azr.generatePeakBytes, torch.generatePeakBytes),
    );
    row(
      'of which: time to first token (prefill; maxTokens 1)',
      'generate',
      (result) => g(result).firstTokenMs,
      prefillFloorMs,
    );
    row(
      `of which: one decode step (the other ${NEW_TOKENS - 1} tokens' time / ${NEW_TOKENS - 1})`,
      'generate',
      (result) => g(result).decodeStepMs,
      meanStepFloorMs,
    );
    // int8 rollouts (rolloutPrecision 'int8'): the same generation from 8-bit product weights. Their decode floor
    // reads the int8 products (a byte a weight and a float32 scale per 32) instead of float32 ones.
    const int8 = engines['azr-int8'];
    let int8FloorMs;
    if (int8 !== undefined) {
      const int8StepFloorMs = (past) =>
        Math.max(
          (counts.int8WeightBytes + counts.cacheBytes(past)) / bandwidth,
          counts.decodeStepFlops(past) / (matmulPeak * 1e9),
        ) * 1000;
      const int8DecodeFloorMs = counts.decodeSteps.reduce((total, past) => total + int8StepFloorMs(past), 0);
      int8FloorMs = prefillFloorMs + int8DecodeFloorMs;
      row(
        'load, int8 rollouts (rolloutPrecision int8)',
        'load',
        (result) => result.loadMs,
        undefined,
        peaks(int8.loadPeakBytes, undefined),
        int8,
      );
      row(
        `generate 8 x ${NEW_TOKENS} tokens after ${PROMPT_TOKENS}, int8 rollouts (median of ${generateRepeats})`,
        'generate',
        (result) => g(result).totalMs,
        int8FloorMs,
        peaks(int8.generatePeakBytes, torch.generatePeakBytes),
        int8,
      );
      row(
        'of which: time to first token, int8 rollouts',
        'generate',
        (result) => g(result).firstTokenMs,
        prefillFloorMs,
        '',
        int8,
      );
      row(
        'of which: one decode step, int8 rollouts',
        'generate',
        (result) => g(result).decodeStepMs,
        int8DecodeFloorMs / counts.decodeSteps.length,
        '',
        int8,
      );
      const mismatch = int8.rolloutMismatch;
      if (mismatch !== undefined)
        notes.push(
          `- ${shape}, int8 rollouts against the float32 learner, on the ${mismatch.tokens} tokens of the last generation: ` +
            `log probabilities differ by ${mismatch.meanAbsoluteLogProbDifference.toFixed(3)} on average (at most ${mismatch.largestAbsoluteLogProbDifference.toFixed(3)}); ` +
            `the update's importance weights min(pi_float32 / pi_int8, ${mismatch.cap}) average ${mismatch.meanImportanceWeight.toFixed(3)}, ` +
            `${(100 * mismatch.truncatedShare).toFixed(1)}% of tokens truncated to the cap.`,
        );
      else if (int8.errors !== undefined || int8.failed !== undefined)
        notes.push(`- ${shape}, onnx int8 rollouts: ${int8.failed ?? Object.values(int8.errors).join('; ')}`);
    }
    if (phases.includes('train')) {
      row(
        `train step 8 x ${TRAIN_TOKENS} tokens (median of ${trainRepeats} after the first)`,
        'train',
        (result) => t(result).medianMs,
        trainFloorMs,
        peaks(azr.trainPeakBytes, torch.trainPeakBytes),
      );
      row('first train step (builds the training session)', 'train', (result) => t(result).firstMs);
      const needed = counts.stateBytes + counts.activationBytes(BATCH);
      const peaksOfNeeded = [
        t(azr).medianMs === undefined
          ? undefined
          : `the onnx engine's peak is ${(azr.trainPeakBytes / needed).toFixed(2)}x that${azr.recomputeActivations === true ? " (recomputing each layer's activations in the backward pass, one call per micro-batch: `recomputeActivations`)" : ''}`,
        t(torch).medianMs === undefined
          ? undefined
          : `PyTorch's ${(torch.trainPeakBytes / needed).toFixed(2)}x${torch.microBatch === BATCH ? '' : ` (in micro-batches of ${torch.microBatch} sequences, whose activations are 1/${BATCH / torch.microBatch} of that count)`}`,
      ].filter(Boolean);
      notes.push(
        `- ${shape}: a train step needs about ${gigabytes(needed)} by count (weights, gradients and AdamW moments ` +
          `${gigabytes(counts.stateBytes)}, activations of 8 sequences ${gigabytes(counts.activationBytes(BATCH))})` +
          `${peaksOfNeeded.map((part) => `; ${part}`).join('')}.`,
      );
      trainSummary.set(shape, {
        azr: t(azr).medianMs,
        torch: t(torch).medianMs,
        floor: trainFloorMs,
        peak: azr.trainPeakBytes,
        needed,
      });
    }
    const generationNeeded = counts.weightBytes + counts.cacheBytes(PROMPT_TOKENS + NEW_TOKENS);
    const generationPeaks = [
      g(azr).totalMs === undefined
        ? undefined
        : `the onnx engine's peak is ${(azr.generatePeakBytes / generationNeeded).toFixed(2)}x that`,
      g(torch).totalMs === undefined
        ? undefined
        : `PyTorch's ${(torch.generatePeakBytes / generationNeeded).toFixed(2)}x`,
    ].filter(Boolean);
    notes.push(
      `- ${shape}: generation needs about ${gigabytes(generationNeeded)} by count (float32 weights and the key/value cache of 8 x ${PROMPT_TOKENS + NEW_TOKENS} positions)` +
        `${generationPeaks.map((part) => `; ${part}`).join('')}.`,
    );
    generateSummary.set(shape, {
      azr: g(azr).totalMs,
      torch: g(torch).totalMs,
      floor: generateFloorMs,
      loaded: azr.loadMs !== undefined,
      ...(int8 === undefined ? {} : { int8: g(int8).totalMs, int8Floor: int8FloorMs }),
    });
    const busy = [
      ['onnx', azr],
      ['PyTorch', torch],
    ]
      .filter(([, result]) => result.othersCpuShare !== undefined)
      .map(([name, result]) => `${name} ${(100 * result.othersCpuShare).toFixed(0)}%`);
    if (busy.length > 0)
      notes.push(`- ${shape}: share of the CPUs other processes used during the runs: ${busy.join(', ')}.`);
    const produced = g(azr).tokensPerCompletion;
    if (produced?.some((count) => count !== NEW_TOKENS))
      notes.push(
        `- ${shape}: some onnx completions ended early (end of sequence sampled): ${produced.join(', ')} tokens.`,
      );
  }
  const date = raw.date.slice(0, 10);
  const providers = raw.executionProviders ?? ['cpu'];
  const onCpu = providers.every((name) => name === 'cpu');
  const marker = sectionMarker(raw);
  return `<!-- ${marker}:start -->
## @azr/backends: real-shape models (the scale benchmark${onCpu ? '' : `, onnx on ${providers.join(', ')}`})

Machine: ${machine}, Node ${raw.node}, PyTorch ${torchVersion ?? 'not measured'} on ${torchBlas ?? 'an unknown BLAS'}. Measured ${date}, ${code}.
Command: \`npm run bench:scale\` (after \`npm run build\`; PyTorch from \`apt-get install python3-torch libopenblas0-pthread\`).

Random weights in the shapes of real checkpoints, written by \`scripts/write-real-shape-model.mjs\` (phi-2 tokenizer;
the Qwen shapes keep their 151,936-row vocabulary): SmolLM2-135M (135.2M parameters, float32, one file),
Qwen2.5-0.5B (494.0M, bf16, two shards through \`model.safetensors.index.json\`), Qwen2.5-1.5B (1,543.7M, bf16, one
3.09 GB file; load and generation only). Both engines on 2 threads: the SDK's onnx engine through the public API
(\`createOnnxPolicy({ model: { directory }, intraOpThreads: 2, batchSize: 8 })\`, \`doGenerate\`, \`doTrainStep\`), and a
plain Llama/Qwen2 decoder in PyTorch (\`bench/torch_scale.py\`: float32, preallocated key/value cache, AdamW) on the
same safetensors. Generation: 8 prompts of ${PROMPT_TOKENS} tokens, ${NEW_TOKENS} new tokens each, temperature 1, no stop strings,
seeded. Train step: 8 sequences of ${PROMPT_TOKENS} prompt + ${COMPLETION_TOKENS} completion tokens, PPO-clip, AdamW, gradients clipped.
Each model and engine runs in a process of its own; peak resident memory is the process's VmHWM, reset at the start
of each phase (so it includes the weights). Time to first token is a separate \`maxTokens: 1\` call; the onnx
decode step is (generation - time to first token) / ${NEW_TOKENS - 1}, measured from outside the engine (PyTorch times its
phases inside). Medians over the runs each row says (the 1.5B generation: one run).

Floors, measured in the same run (${(floors.measurements?.length ?? 1) > 1 ? 'before and after the models; the better of the two' : 'before the models'}): memory bandwidth ${(bandwidth / 1e9).toFixed(1)} GB/s (the faster of a streaming read of
2 GiB by 2 Node worker threads, ${(nodeRate / 1e9).toFixed(1)} GB/s, and PyTorch's \`sum\` over 2 GiB on 2 threads,
${torchFloor.bandwidth === undefined ? 'not measured' : `${(torchFloor.bandwidth / 1e9).toFixed(1)} GB/s`}); 2-thread matmul peak ${matmulPeak.toFixed(0)} GFLOP/s (the faster of onnxruntime's
MatMul, ${onnxPeak.toFixed(0)}, and PyTorch's, ${torchFloor.matmul === undefined ? 'not measured' : torchFloor.matmul.toFixed(0)}; float32 squares of 1024 and 2048, fastest run).
A decode step's floor is the float32 weights (the tied head included) plus the key/value cache of the 8 sequences
read once at that bandwidth (or its FLOPs at the peak, if more); prefill's is its FLOPs at the matmul peak (head at
the last position only); generation's is prefill plus ${NEW_TOKENS - 1} decode steps. A train step's floor is its arithmetic at
the matmul peak: 6 FLOPs per weight per token through the layers, the head at the ${COMPLETION_TOKENS} positions that predict
completion tokens, attention over the causal half; the AdamW pass over the weights is not counted. "Share of floor"
is floor / onnx time. Ratio: PyTorch time / onnx time (higher: the onnx engine is faster).

| model | phase | onnx (azr) | PyTorch | ratio | floor | onnx share of floor | peak RSS onnx / PyTorch |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.map((row) => `| ${row.join(' | ')} |`).join('\n')}

${[...notes, ...(raw.notes ?? []).map((note) => `- ${note}`)].join('\n')}

${onCpu ? '' : `The onnx engine ran on the execution providers ${providers.join(', ')} (AZR_EXECUTION_PROVIDERS); PyTorch and the floors are the CPU's, so ratios and shares compare a device with the CPU.\n\n`}${targets(generateSummary, trainSummary)}
<!-- ${marker}:end -->`;
}

if (isMainThread) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
