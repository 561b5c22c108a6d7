#!/usr/bin/env node
// How much self-play the default `azr train` does per minute, against a baseline checkout in the same run. Each
// run trains the default (or `--config`'s) run for `--steps` steps in a process of its own; this checkout's and
// the baseline's runs alternate, `--repeats` times each, and the medians are compared. Per run it reads the
// run's metrics (steps after the first `--warmup` ones): the step's wall time by phase, the solver answers
// (each judged by the executor and trained on) and the solve tasks per step, and from there answers and tasks
// per minute. It also counts the model's arithmetic in every onnxruntime run (prefill, decode, training and
// statistics passes: 2 FLOPs per weight per token forward, 6 with the backward pass, the head's only where
// logits are computed), and measures onnxruntime's matmul peak on the run's threads, so that each step gets its
// arithmetic floor: the time its model work would take at that peak.
// Usage: node packages/cli/bench/self-play-rate.mjs [--baseline <checkout of the repository, built>]
//        [--steps 40] [--warmup 5] [--repeats 2] [--config <azr.config.json>] [--json]
// (after `npx turbo run build`; the baseline checkout built the same way, e.g. a `git worktree` of an older
// commit whose node_modules link to this one's, with its own `@azr/*` links).
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    baseline: { type: 'string' },
    steps: { type: 'string', default: '40' },
    warmup: { type: 'string', default: '5' },
    repeats: { type: 'string', default: '2' },
    config: { type: 'string' },
    json: { type: 'boolean', default: false },
    // Internal: one training run in this process, its counts printed as JSON.
    'run-in': { type: 'string' },
    out: { type: 'string' },
  },
});

if (values['run-in'] !== undefined) {
  await runOnce(values['run-in'], values.out);
  process.exit(0);
}

/** Trains in this process with the checkout's CLI and prints the run's model arithmetic, counted per call. */
async function runOnce(checkout, out) {
  const { createRequire } = await import('node:module');
  const require = createRequire(join(checkout, 'packages', 'backends', 'package.json'));
  const ort = require('onnxruntime-node');
  const { LLAMA_PRESETS } = await import(
    pathToFileURL(join(checkout, 'packages', 'backends', 'dist', 'index.js')).href
  );
  const config = LLAMA_PRESETS.tiny;
  const H = config.hiddenSize;
  const D = config.headDimension;
  const layerWeights =
    config.layerCount *
    (H * config.headCount * D * 2 + H * config.keyValueHeadCount * D * 2 + 3 * H * config.intermediateSize);
  const headWeights = config.vocabularySize * H;
  const counts = { flops: 0, calls: 0 };
  const run = ort.InferenceSession.prototype.run;
  ort.InferenceSession.prototype.run = function (feeds, ...rest) {
    const ids = feeds.input_ids;
    if (ids !== undefined) {
      const [rows, length] = ids.dims;
      const tokens = rows * length;
      if (feeds.logit_positions !== undefined) {
        // A training pass (the statistics graph has no gradient outputs).
        const training = this.outputNames.some((name) => name.startsWith('grad.'));
        const factor = training ? 6 : 2;
        counts.flops += factor * (tokens * layerWeights + feeds.logit_positions.dims[0] * headWeights);
      } else {
        // Generation: every position through the layers, logits at the last one of each row.
        counts.flops += 2 * (tokens * layerWeights + rows * headWeights);
      }
      counts.calls += 1;
    }
    return run.call(this, feeds, ...rest);
  };
  const { train } = await import(pathToFileURL(join(checkout, 'packages', 'cli', 'dist', 'index.js')).href);
  const steps = Number(values.steps);
  // The arithmetic done by the end of each step (the progress line of step N is written as it ends), so that
  // the evaluations before the first step and after the last are left out.
  const byStep = {};
  await train(
    { seed: 0, steps, out, ...(values.config === undefined ? {} : { config: resolve(values.config) }) },
    {
      write: (line) => {
        const match = /^step\s+(\d+)\//.exec(line);
        if (match !== null) byStep[match[1]] = counts.flops;
      },
      isTerminal: false,
    },
  );
  process.stdout.write(`${JSON.stringify({ ...counts, byStep })}\n`);
}

const median = (numbers) => {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** One run of a checkout in a fresh process: its per-step figures after the warm-up steps. */
async function measure(checkout, label) {
  const out = join(await mkdtemp(join(tmpdir(), `azr-rate-${label}-`)), 'run');
  const child = spawnSync(
    process.execPath,
    [fileURLToPath(import.meta.url), '--run-in', checkout, '--out', out, '--steps', values.steps].concat(
      values.config === undefined ? [] : ['--config', values.config],
    ),
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  if (child.status !== 0) throw new Error(`${label} run failed:\n${child.stderr}`);
  const counts = JSON.parse(child.stdout.trim().split('\n').at(-1));
  const warmup = Number(values.warmup);
  const events = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
  const steps = events.filter((event) => event.type === 'step-end' && event.step > warmup);
  const phases = {};
  for (const event of events)
    if (event.type === 'phase-end' && event.step > warmup)
      phases[event.phase] = (phases[event.phase] ?? 0) + event.durationMs / steps.length;
  const stepMs = steps.reduce((total, event) => total + event.durationMs, 0) / steps.length;
  const solve = (event) => event.groups.filter((group) => group.role === 'solve');
  const answers = steps.reduce((total, event) => total + solve(event).reduce((n, g) => n + g.count, 0), 0);
  const settings = events.find((event) => event.type === 'run-start')?.settings;
  const rollouts = settings?.solveRollouts ?? 1;
  return {
    label,
    stepMs,
    phases,
    answersPerStep: answers / steps.length,
    tasksPerStep: answers / rollouts / steps.length,
    answersPerMinute: (answers / steps.reduce((total, event) => total + event.durationMs, 0)) * 60_000,
    // The steps' arithmetic after the warm-up (an evaluation inside that window counts too).
    flopsPerStep: (counts.byStep[values.steps] - counts.byStep[warmup]) / (Number(values.steps) - warmup),
    batchSize: settings?.batchSize,
  };
}

const checkouts = [{ label: 'this', path: resolve(here, '..', '..', '..') }];
if (values.baseline !== undefined) checkouts.push({ label: 'baseline', path: resolve(values.baseline) });
const runs = Object.fromEntries(checkouts.map(({ label }) => [label, []]));
for (let repeat = 0; repeat < Number(values.repeats); repeat += 1) {
  // Alternate which goes first, so that a drift of the machine's speed weighs on both.
  const order = repeat % 2 === 0 ? checkouts : [...checkouts].reverse();
  for (const { label, path } of order) {
    const result = await measure(path, label);
    runs[label].push(result);
    process.stderr.write(
      `${label}: ${result.stepMs.toFixed(0)} ms a step, ${result.answersPerMinute.toFixed(0)} answers a minute\n`,
    );
  }
}

const { onnxMatmulPeak } = await import(
  pathToFileURL(join(here, '..', '..', 'backends', 'bench', 'matmul-peak.mjs')).href
);
const peak = await onnxMatmulPeak({ threads: 2, sizes: [256, 512, 1024], runs: 20 });

const summary = Object.fromEntries(
  Object.entries(runs).map(([label, results]) => {
    const stepMs = median(results.map((result) => result.stepMs));
    const flops = median(results.map((result) => result.flopsPerStep));
    const phaseNames = Object.keys(results[0].phases);
    return [
      label,
      {
        batchSize: results[0].batchSize,
        stepMs,
        phases: Object.fromEntries(
          phaseNames.map((name) => [name, median(results.map((result) => result.phases[name] ?? 0))]),
        ),
        answersPerStep: median(results.map((result) => result.answersPerStep)),
        tasksPerStep: median(results.map((result) => result.tasksPerStep)),
        answersPerMinute: median(results.map((result) => result.answersPerMinute)),
        floorMs: (flops / (peak * 1e9)) * 1000,
      },
    ];
  }),
);
if (values.json) {
  process.stdout.write(`${JSON.stringify({ peakGflops: peak, summary }, null, 2)}\n`);
} else {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const lines = [
    `Machine: ${cpu}, ${cpus().length} CPUs, Node ${process.versions.node}; onnxruntime matmul peak on 2 threads ${peak.toFixed(0)} GFLOP/s.`,
    `Command: node packages/cli/bench/self-play-rate.mjs${values.baseline === undefined ? '' : ' --baseline <checkout>'} --steps ${values.steps} --warmup ${values.warmup} --repeats ${values.repeats}${values.config === undefined ? '' : ` --config ${values.config}`}; medians over the repeats of steps ${Number(values.warmup) + 1}-${values.steps}.`,
    '',
    '| checkout | batch | step (ms) | propose | validate | learnability | solve | update | answers a step | answers a minute | arithmetic floor of a step (ms) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...Object.entries(summary).map(
      ([label, s]) =>
        `| ${label} | ${s.batchSize} | ${s.stepMs.toFixed(0)} | ${['propose', 'validate', 'learnability', 'solve', 'update'].map((phase) => (s.phases[phase] ?? 0).toFixed(0)).join(' | ')} | ${s.answersPerStep.toFixed(0)} | ${s.answersPerMinute.toFixed(0)} | ${s.floorMs.toFixed(0)} |`,
    ),
  ];
  if (summary.baseline !== undefined)
    lines.push(
      '',
      `Self-play per minute, this checkout over the baseline: ${(summary.this.answersPerMinute / summary.baseline.answersPerMinute).toFixed(2)}x.`,
    );
  process.stdout.write(`${lines.join('\n')}\n`);
}
