#!/usr/bin/env node
// The learning benchmark: does the default `azr train` measurably learn? For each of 3 seeds it trains the
// default run (the tiny preset from random weights on the mini language, the default number of steps),
// evaluates the untrained and the trained model greedily on the held-out suite (suites/mini-javascript.jsonl,
// which training is forbidden to propose), checks that no training task collides with the suite, and writes
// per-mode and per-difficulty accuracies (before, after, mean and spread over seeds), wall times and the
// learning curves (from each run's metrics) into BENCHMARKS.md.
// Usage: npm run bench:learning  (after `npx turbo run build`; about 3 x the default run's time)
// Options: --seeds 0,1,2  --steps N (default: the default config's)  --out <folder for the runs>
//          --config <azr.config.json> (measures another configuration: the section is printed, and BENCHMARKS.md,
//          which records the default run, is left as it is)
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createOnnxPolicy } from '@azr/backends/onnx';
import {
  createMiniTaskModes,
  evaluate,
  loadEvaluationSuite,
  miniBehavior,
  miniExpression,
  miniOperatorCount,
} from '@azr/core';
import { createJavaScriptExecutor } from '@azr/executor';
import { DEFAULT_TRAIN_CONFIG, train } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repositoryRoot = join(here, '..', '..', '..');
const suitePath = join(here, '..', 'suites', 'mini-javascript.jsonl');
const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '0,1,2' },
    steps: { type: 'string' },
    out: { type: 'string' },
    config: { type: 'string' },
  },
});
const seeds = values.seeds.split(',').map(Number);
const steps = values.steps === undefined ? DEFAULT_TRAIN_CONFIG.steps : Number(values.steps);
const outRoot = values.out ?? (await mkdtemp(join(tmpdir(), 'azr-learning-')));
const executor = createJavaScriptExecutor({ workers: 2 });
const suite = await loadEvaluationSuite(await readFile(suitePath, 'utf8'), executor, {
  language: 'javascript',
});
const modes = createMiniTaskModes();
const MODES = modes.map((mode) => mode.name);

/** Greedy accuracy per mode and per difficulty of a policy on the suite. */
async function evaluatePolicy(policy) {
  const report = await evaluate({ policy, executor, tasks: suite, modes, maxTokens: 16, seed: 0 });
  const byMode = {};
  for (const mode of MODES) {
    const results = report.tasks.filter((result) => result.task.mode === mode);
    const levels = {};
    for (const result of results) {
      const level = miniOperatorCount(miniExpression(result.task.program) ?? '');
      levels[level] ??= { correct: 0, total: 0 };
      levels[level].correct += result.correct;
      levels[level].total += 1;
    }
    byMode[mode] = {
      accuracy: results.reduce((total, result) => total + result.correct, 0) / results.length,
      levels: Object.fromEntries(
        Object.entries(levels).map(([level, { correct, total }]) => [level, correct / total]),
      ),
    };
  }
  return byMode;
}

/**
 * Training tasks (from the run's buffers) that are suite tasks of the same mode, comparing programs by what they
 * compute (a rewritten suite task is a collision): must be none. The same function in another mode is another
 * task (see `heldOut` of `createMiniTaskModes`).
 */
async function collisions(runDirectory) {
  const behaviour = (task) => miniBehavior(miniExpression(task.program) ?? '');
  // Tasks with an input are the function on it; induction tasks are the function.
  const key = (mode, task) => `${mode}:${behaviour(task)}${task.input === undefined ? '' : `;${task.input}`}`;
  const keys = new Set(suite.map((task) => key(task.mode, task)));
  let count = 0;
  for (const mode of MODES) {
    const text = await readFile(join(runDirectory, 'buffers', `${mode}.jsonl`), 'utf8');
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const task = JSON.parse(line);
      // The seed tasks are not proposals.
      if (miniExpression(task.program) === undefined || task.step === 0) continue;
      if (keys.has(key(mode, task))) count += 1;
    }
  }
  return count;
}

/** Per-step curves from a run's metrics: solver solve rate per mode, proposal validity, mean difficulty. */
async function curves(runDirectory) {
  const text = await readFile(join(runDirectory, 'metrics.jsonl'), 'utf8');
  const rows = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const event = JSON.parse(line);
    if (event.type !== 'step-end') continue;
    const group = (mode, role) => event.groups.find((each) => each.mode === mode && each.role === role);
    const proposers = MODES.map((mode) => group(mode, 'propose'));
    const mean = (numbers) => {
      const defined = numbers.filter((value) => typeof value === 'number');
      return defined.length === 0 ? undefined : defined.reduce((a, b) => a + b, 0) / defined.length;
    };
    rows.push({
      step: event.step,
      solve: Object.fromEntries(MODES.map((mode) => [mode, group(mode, 'solve')?.solveRate])),
      valid: mean(proposers.map((each) => each?.validRate)),
      difficulty: mean(proposers.slice(0, 2).map((each) => each?.meanDifficulty)),
    });
  }
  return rows;
}

/** A run's held-out curve (its `heldout.jsonl`): accuracy by mode at each evaluated step. */
async function heldOutCurve(runDirectory) {
  const text = await readFile(join(runDirectory, 'heldout.jsonl'), 'utf8').catch(() => '');
  const curve = new Map();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const record = JSON.parse(line);
    curve.set(record.step, Object.fromEntries(MODES.map((mode) => [mode, record.modes[mode]?.passAtK['1']])));
  }
  return curve;
}

const runs = [];
for (const seed of seeds) {
  const untrained = await createOnnxPolicy({
    model: { preset: 'tiny', seed },
    intraOpThreads: DEFAULT_TRAIN_CONFIG.threads,
  });
  const before = await evaluatePolicy(untrained);
  await untrained.doDispose();
  const runDirectory = join(outRoot, `seed-${seed}`);
  const started = performance.now();
  let lastLine = '';
  await train(
    { seed, steps, out: runDirectory, ...(values.config === undefined ? {} : { config: values.config }) },
    {
      write: (line) => {
        lastLine = line;
        if (/^step \d+\/\d+/.test(line) && Number(line.split(/[ /]/)[1]) % 50 === 0)
          process.stdout.write(`seed ${seed}: ${line}`);
      },
      isTerminal: false,
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const latest = (await readFile(join(runDirectory, 'checkpoints', 'latest'), 'utf8')).trim();
  const trained = await createOnnxPolicy({
    model: { directory: join(runDirectory, 'checkpoints', latest, 'policy') },
    intraOpThreads: DEFAULT_TRAIN_CONFIG.threads,
  });
  const after = await evaluatePolicy(trained);
  await trained.doDispose();
  const run = {
    seed,
    seconds,
    before,
    after,
    collisions: await collisions(runDirectory),
    curves: await curves(runDirectory),
    heldOut: await heldOutCurve(runDirectory),
    runDirectory,
  };
  runs.push(run);
  process.stdout.write(
    `seed ${seed}: ${seconds.toFixed(0)} s; ${MODES.map((mode) => `${mode} ${(100 * before[mode].accuracy).toFixed(1)} -> ${(100 * after[mode].accuracy).toFixed(1)}`).join(', ')}; collisions ${run.collisions}; ${lastLine.trim()}\n`,
  );
}
await executor.close();

const percent = (value) => (value === undefined ? 'n/a' : (100 * value).toFixed(1));
const meanOf = (numbers) => numbers.reduce((a, b) => a + b, 0) / numbers.length;
const spreadOf = (numbers) => Math.max(...numbers) - Math.min(...numbers);
const tableRows = [];
for (const mode of MODES) {
  const before = runs.map((run) => run.before[mode].accuracy);
  const after = runs.map((run) => run.after[mode].accuracy);
  const gains = runs.map((run) => run.after[mode].accuracy - run.before[mode].accuracy);
  tableRows.push(
    `| ${mode} | ${runs.map((_run, index) => `${percent(before[index])} → ${percent(after[index])}`).join(' | ')} | ${percent(meanOf(before))} | ${percent(meanOf(after))} | ${percent(spreadOf(after))} | ${percent(meanOf(gains))} | ${percent(Math.min(...gains))} |`,
  );
}
// The issue's targets, checked seed by seed: deduction at least 20 points above the untrained model, abduction
// and induction above it by more than the seed-to-seed spread of the trained accuracy.
const targetLines = MODES.map((mode) => {
  const gains = runs.map((run) => run.after[mode].accuracy - run.before[mode].accuracy);
  const spread = spreadOf(runs.map((run) => run.after[mode].accuracy));
  const bar = mode === 'deduction' ? 0.2 : spread;
  const met = gains.every((gain) => gain >= bar && gain > 0);
  return `- ${mode}: gain ${mode === 'deduction' ? '>= 20 points' : `> the spread (${percent(spread)} points)`} for every seed: ${met ? 'met' : 'not met'} (gains ${gains.map((gain) => percent(gain)).join(', ')})`;
});
const levelRows = [];
for (const mode of MODES) {
  const levels = Object.keys(runs[0].after[mode].levels).sort();
  for (const level of levels) {
    levelRows.push(
      `| ${mode} | ${level} | ${percent(meanOf(runs.map((run) => run.before[mode].levels[level] ?? 0)))} | ${percent(meanOf(runs.map((run) => run.after[mode].levels[level] ?? 0)))} |`,
    );
  }
}
// The learning curves, averaged over seeds, in ten windows of the run.
const windows = 10;
const curveRows = [];
for (let window = 0; window < windows; window += 1) {
  const from = Math.floor((window * steps) / windows) + 1;
  const to = Math.floor(((window + 1) * steps) / windows);
  const rows = runs.flatMap((run) => run.curves.filter((row) => row.step >= from && row.step <= to));
  const average = (pick) => {
    const defined = rows.map(pick).filter((value) => typeof value === 'number');
    return defined.length === 0 ? undefined : meanOf(defined);
  };
  curveRows.push(
    `| ${from}-${to} | ${MODES.map((mode) => percent(average((row) => row.solve[mode]))).join(' | ')} | ${percent(average((row) => row.valid))} | ${average((row) => row.difficulty)?.toFixed(2) ?? 'n/a'} |`,
  );
}
// The held-out curves the runs recorded (every `evaluateEvery` steps), by seed and averaged.
const heldOutSteps = [...new Set(runs.flatMap((run) => [...run.heldOut.keys()]))].sort((a, b) => a - b);
const heldOutRows = heldOutSteps.map((step) => {
  const at = (mode) => runs.map((run) => run.heldOut.get(step)?.[mode]);
  const mean = (values) => (values.every((value) => typeof value === 'number') ? meanOf(values) : undefined);
  return `| ${step} | ${at('deduction').map(percent).join(' / ')} | ${MODES.map((mode) => percent(mean(at(mode)))).join(' | ')} |`;
});
const date = new Date().toISOString().slice(0, 10);
// The settings the runs recorded (the defaults, or the config file over them).
const config = JSON.parse(await readFile(join(runs[0].runDirectory, 'config.json'), 'utf8'));
const section = `<!-- learning:start -->
## Learning: the default run on the held-out suite

Command: \`npm run bench:learning${values.config === undefined ? '' : ` -- --config ${values.config}`}\` (seeds ${seeds.join(', ')}; ${steps} steps each, ${values.config === undefined ? 'the default `azr train`' : 'the config file over the defaults'}: tiny preset from random weights, mini tasks with grammar-constrained generation, engine ${config.engine}, ${config.threads} threads, batch ${config.trainer.batchSize} with ${config.trainer.solveRollouts ?? 1} answers per solve task drawn ${config.trainer.solveSampling === 'balanced' ? 'balanced over difficulty' : 'newest first'}, ${config.trainer.advantageEstimator ?? 'trr++'} advantages, learning rate ${config.optimizer.learningRate}, curriculum ${config.tasks.curriculum === false ? 'none' : `from ${config.tasks.curriculum.startOperators} operator(s), one more every ${config.tasks.curriculum.stepsPerOperator} steps`}).
Machine: ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} CPUs, Node ${process.versions.node}. Measured ${date}.
Suite: \`packages/cli/suites/mini-javascript.jsonl\` (${suite.length} tasks, generated by \`npm run generate:suites -w @azr/cli\`), greedy decoding, accuracy in %.
Training tasks that collide with the suite: ${runs.map((run) => run.collisions).join(', ')} (by seed, within each mode; the mini modes exclude them).
Wall time of the training runs: ${runs.map((run) => `${run.seconds.toFixed(0)} s`).join(', ')} (median ${[...runs.map((run) => run.seconds)].sort((a, b) => a - b)[Math.floor(runs.length / 2)].toFixed(0)} s).

| mode | ${runs.map((run) => `seed ${run.seed}`).join(' | ')} | before (mean) | after (mean) | spread after (max - min) | gain (mean) | gain (smallest) |
|---|${runs.map(() => '---|').join('')}---|---|---|---|---|
${tableRows.join('\n')}

Targets (issue 8):

${targetLines.join('\n')}

By difficulty (operator count of the program), mean over seeds:

| mode | difficulty | before | after |
|---|---|---|---|
${levelRows.join('\n')}

Held-out accuracy during training (each run's \`heldout.jsonl\`, charted in its report; step 0 is the untrained model):

| step | deduction by seed | deduction (mean) | abduction (mean) | induction (mean) |
|---|---|---|---|---|
${heldOutRows.join('\n')}

Learning curves, mean over seeds (training solve rate of each mode's solver, proposal validity, mean operator count of valid deduction and abduction proposals; each run's \`report.html\` charts them step by step):

| steps | solve deduction | solve abduction | solve induction | valid proposals | proposal difficulty |
|---|---|---|---|---|---|
${curveRows.join('\n')}
<!-- learning:end -->`;
if (values.config !== undefined) {
  process.stdout.write(`${section}\nnot written to BENCHMARKS.md (a --config run); runs in ${outRoot}\n`);
} else {
  const benchmarksPath = join(repositoryRoot, 'BENCHMARKS.md');
  let document = await readFile(benchmarksPath, 'utf8').catch(() => '# Benchmarks\n');
  document = document.includes('<!-- learning:start -->')
    ? document.replace(/<!-- learning:start -->[\s\S]*<!-- learning:end -->/, section)
    : `${document.trimEnd()}\n\n${section}\n`;
  await writeFile(benchmarksPath, document);
  process.stdout.write(`written to ${benchmarksPath}; runs in ${outRoot}\n`);
}
