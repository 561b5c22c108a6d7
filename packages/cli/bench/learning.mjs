#!/usr/bin/env node
// The learning benchmark: does the default `azr train` measurably learn, and does self-play proposing beat
// random tasks? For each seed (3 by default) it trains the default run (the tiny preset from random weights on
// the mini language, the default number of steps; the run evaluates the held-out suite
// suites/mini-javascript.jsonl, which training is forbidden to propose, greedily at step 0, every
// `tasks.evaluateEvery` steps (50 by default) and after its last step, into its heldout.jsonl), and, unless
// --no-ablation, the same run with `trainer.proposer: "random"` (the paper's ablation at equal compute: each
// mode's tasks drawn from a fixed random generator of the mini language, the solver trained alone, the proposer
// not trained). The gain of a run is the mean of its last five held-out evaluations after step 0 (steps 400-600
// of the default 600-step run; fewer when the run has fewer, and the section says how many) minus the untrained model's
// score (the step-0 record). It writes per seed and mode the gains of both runs side by side, the issue's
// targets checked by that measure, whether self-play beat random tasks by it, the held-out curves, the final
// evaluations (the trained checkpoint on the suite after the run, and the untrained model before it), by
// difficulty, collisions of training tasks with the suite, wall times, the learning curves from each run's
// metrics, and whether proposals got harder (mean operator count of valid deduction and abduction proposals,
// first window against last) into BENCHMARKS.md.
// Usage: npm run bench:learning  (after `npx turbo run build`; about 6 x the default run's time, 3 x without
//        the ablation)
// Options: --seeds 0,1,2  --steps N (default: the default config's)  --out <folder for the runs>
//          --no-ablation (the self-play runs alone)
//          --config <azr.config.json> (measures another configuration, the ablation with trainer.proposer
//          "random" over it: the section is printed, and BENCHMARKS.md, which records the default run, is left as
//          it is)
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
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
import { DEFAULT_TRAIN_CONFIG, readTrainConfig, train } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repositoryRoot = join(here, '..', '..', '..');
const suitePath = join(here, '..', 'suites', 'mini-javascript.jsonl');
const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '0,1,2' },
    steps: { type: 'string' },
    out: { type: 'string' },
    config: { type: 'string' },
    'no-ablation': { type: 'boolean', default: false },
  },
});
const seeds = values.seeds.split(',').map(Number);
const steps = values.steps === undefined ? DEFAULT_TRAIN_CONFIG.steps : Number(values.steps);
const ablation = !values['no-ablation'];
const outRoot = values.out ?? (await mkdtemp(join(tmpdir(), 'azr-learning-')));
await mkdir(outRoot, { recursive: true });
/** Held-out evaluations after step 0 that a run's gain averages (the last ones). */
const LATE_EVALUATIONS = 5;

/**
 * The ablation's config file: `trainer.proposer: "random"` over the defaults, or over `--config`'s file (its
 * relative paths made absolute, since the copy lives in the output folder).
 */
async function ablationConfig() {
  let file = {};
  if (values.config !== undefined) {
    file = await readTrainConfig(values.config);
    const base = dirname(resolve(values.config));
    if (file.model !== undefined && 'directory' in file.model)
      file = { ...file, model: { directory: resolve(base, file.model.directory) } };
    if (file.tasks?.heldOut !== undefined)
      file = { ...file, tasks: { ...file.tasks, heldOut: resolve(base, file.tasks.heldOut) } };
    if (file.tasks?.templates !== undefined)
      file = {
        ...file,
        tasks: {
          ...file.tasks,
          templates: Object.fromEntries(
            Object.entries(file.tasks.templates).map(([mode, files]) => [
              mode,
              Object.fromEntries(
                Object.entries(files ?? {}).map(([kind, path]) => [kind, resolve(base, path)]),
              ),
            ]),
          ),
        },
      };
  }
  const path = join(outRoot, 'ablation.config.json');
  await writeFile(
    path,
    `${JSON.stringify({ ...file, trainer: { ...file.trainer, proposer: 'random' } }, null, 2)}\n`,
  );
  return path;
}
const ablationConfigPath = ablation ? await ablationConfig() : undefined;

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

/**
 * The gain of a run by the issue's measure, per mode: the mean of its last five held-out evaluations after step
 * 0 (all of them when it has fewer) minus the untrained model's score (the step-0 record; the bench's own
 * evaluation of the untrained model when the run has none).
 */
function lateGain(heldOut, before) {
  const evaluated = [...heldOut.keys()].filter((step) => step > 0).sort((a, b) => a - b);
  const late = evaluated.slice(-LATE_EVALUATIONS);
  const byMode = {};
  for (const mode of MODES) {
    const untrained = heldOut.get(0)?.[mode] ?? before[mode].accuracy;
    const scores = late.map((step) => heldOut.get(step)?.[mode]).filter((value) => typeof value === 'number');
    const lateMean = scores.length === 0 ? undefined : scores.reduce((a, b) => a + b, 0) / scores.length;
    byMode[mode] = { untrained, lateMean, gain: lateMean === undefined ? undefined : lateMean - untrained };
  }
  return { steps: late, byMode };
}

/** Trains one run (self-play, or the ablation with its config) and measures it. */
async function measureRun(seed, kind, before) {
  const runDirectory = join(outRoot, kind === 'random' ? `seed-${seed}-random` : `seed-${seed}`);
  const config = kind === 'random' ? ablationConfigPath : values.config;
  const label = kind === 'random' ? `seed ${seed} (random tasks)` : `seed ${seed}`;
  const started = performance.now();
  let lastLine = '';
  await train(
    { seed, steps, out: runDirectory, ...(config === undefined ? {} : { config }) },
    {
      write: (line) => {
        lastLine = line;
        if (/^step \d+\/\d+/.test(line) && Number(line.split(/[ /]/)[1]) % 50 === 0)
          process.stdout.write(`${label}: ${line}`);
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
  const heldOut = await heldOutCurve(runDirectory);
  const run = {
    seed,
    kind,
    seconds,
    before,
    after,
    collisions: await collisions(runDirectory),
    curves: await curves(runDirectory),
    heldOut,
    gain: lateGain(heldOut, before),
    runDirectory,
  };
  process.stdout.write(
    `${label}: ${seconds.toFixed(0)} s; gain (late mean of ${run.gain.steps.length}) ${MODES.map((mode) => `${mode} ${points(run.gain.byMode[mode].gain)}`).join(', ')}; final ${MODES.map((mode) => `${mode} ${percent(before[mode].accuracy)} -> ${percent(after[mode].accuracy)}`).join(', ')}; collisions ${run.collisions}; ${lastLine.trim()}\n`,
  );
  return run;
}

const percent = (value) => (value === undefined ? 'n/a' : (100 * value).toFixed(1));
/** A difference in percentage points, signed. */
const points = (value) =>
  value === undefined ? 'n/a' : `${value >= 0 ? '+' : ''}${(100 * value).toFixed(1)}`;
const meanOf = (numbers) => numbers.reduce((a, b) => a + b, 0) / numbers.length;
const spreadOf = (numbers) => Math.max(...numbers) - Math.min(...numbers);
const defined = (numbers) => numbers.every((value) => typeof value === 'number');

const runs = [];
const randomRuns = [];
for (const seed of seeds) {
  const untrained = await createOnnxPolicy({
    model: { preset: 'tiny', seed },
    intraOpThreads: DEFAULT_TRAIN_CONFIG.threads,
  });
  const before = await evaluatePolicy(untrained);
  await untrained.doDispose();
  runs.push(await measureRun(seed, 'model', before));
  // The same model seed: the ablation starts from the same untrained model.
  if (ablation) randomRuns.push(await measureRun(seed, 'random', before));
}
await executor.close();

const arms = [{ name: 'self-play', runs }, ...(ablation ? [{ name: 'random tasks', runs: randomRuns }] : [])];
const gainOf = (run, mode) => run.gain.byMode[mode].gain;
const lateOf = (run, mode) => run.gain.byMode[mode].lateMean;
const lateCounts = [...new Set([...runs, ...randomRuns].map((run) => run.gain.steps.length))];
const lateSteps = (run) =>
  run.gain.steps.length === 0
    ? 'none'
    : run.gain.steps.length === 1
      ? `step ${run.gain.steps[0]}`
      : `steps ${run.gain.steps[0]}-${run.gain.steps.at(-1)}`;

// Gains by the issue's measure, per seed and mode, both runs side by side.
const gainRows = [];
for (const mode of MODES) {
  for (const [index, run] of runs.entries()) {
    const random = randomRuns[index];
    gainRows.push(
      `| ${mode} | ${run.seed} | ${percent(run.gain.byMode[mode].untrained)} | ${percent(lateOf(run, mode))} | ${points(gainOf(run, mode))} |${
        random === undefined
          ? ''
          : ` ${percent(lateOf(random, mode))} | ${points(gainOf(random, mode))} | ${defined([gainOf(run, mode), gainOf(random, mode)]) ? points(gainOf(run, mode) - gainOf(random, mode)) : 'n/a'} |`
      } ${percent(run.after[mode].accuracy)} |${random === undefined ? '' : ` ${percent(random.after[mode].accuracy)} |`}`,
    );
  }
  const summary = arms.map(({ runs: armRuns }) => {
    const gains = armRuns.map((run) => gainOf(run, mode));
    const lates = armRuns.map((run) => lateOf(run, mode));
    return defined(gains) ? { gain: meanOf(gains), spread: spreadOf(lates), late: meanOf(lates) } : undefined;
  });
  const [self, random] = summary;
  gainRows.push(
    `| ${mode} | mean (spread) | ${percent(meanOf(runs.map((run) => run.gain.byMode[mode].untrained)))} | ${self === undefined ? 'n/a' : `${percent(self.late)} (${percent(self.spread)})`} | ${points(self?.gain)} |${
      ablation
        ? ` ${random === undefined ? 'n/a' : `${percent(random.late)} (${percent(random.spread)})`} | ${points(random?.gain)} | ${self === undefined || random === undefined ? 'n/a' : points(self.gain - random.gain)} |`
        : ''
    } ${percent(meanOf(runs.map((run) => run.after[mode].accuracy)))} |${ablation ? ` ${percent(meanOf(randomRuns.map((run) => run.after[mode].accuracy)))} |` : ''}`,
  );
}

// The issue's targets, checked seed by seed on the self-play runs by the late-mean gain: deduction at least 20
// points; abduction and induction larger than the seed-to-seed spread of the per-seed late means.
const targetLines = MODES.map((mode) => {
  const gains = runs.map((run) => gainOf(run, mode));
  const lates = runs.map((run) => lateOf(run, mode));
  if (!defined(gains)) return `- ${mode}: no held-out evaluation after step 0: not measured`;
  const spread = spreadOf(lates);
  const bar = mode === 'deduction' ? 0.2 : spread;
  const met = gains.every((gain) => gain >= bar && gain > 0);
  return `- ${mode}: gain ${mode === 'deduction' ? '>= 20 points' : `> the seed-to-seed spread of the late means (${percent(spread)} points${runs.length === 1 ? ', one seed: no spread' : ''})`} on every seed: ${met ? 'met' : 'not met'} (gains ${gains.map(points).join(', ')})`;
});

/**
 * Whether self-play proposing beat random tasks on a mode, by the late-mean gain, in plain words: ahead on every
 * seed and by more than the seed-to-seed spread of either arm's late means counts as beating it; anything less is
 * said as it is.
 */
function comparison(mode) {
  const pairs = runs.map((run, index) => [gainOf(run, mode), gainOf(randomRuns[index], mode)]);
  if (!pairs.every(defined))
    return {
      line: `- ${mode}: not measured (no held-out evaluation after step 0).`,
      beat: false,
      lost: false,
    };
  const differences = pairs.map(([self, random]) => self - random);
  const ahead = differences.filter((difference) => difference > 0).length;
  const behind = differences.filter((difference) => difference < 0).length;
  const mean = meanOf(differences);
  const noise = Math.max(
    spreadOf(runs.map((run) => lateOf(run, mode))),
    spreadOf(randomRuns.map((run) => lateOf(run, mode))),
  );
  const facts = `self-play ${points(meanOf(pairs.map(([self]) => self)))} against random tasks ${points(meanOf(pairs.map(([, random]) => random)))} points on average; self-play minus random by seed ${differences.map(points).join(', ')}; seed-to-seed spread of the late means up to ${percent(noise)} points`;
  let verdict;
  if (runs.length === 1)
    verdict =
      mean > 0
        ? 'self-play ahead on this one seed, which cannot tell a difference from seed noise'
        : mean < 0
          ? 'random tasks ahead on this one seed, which cannot tell a difference from seed noise'
          : 'no difference on this one seed';
  else if (ahead === 0 && behind === 0) verdict = 'no difference on any seed';
  else if (ahead === runs.length && mean > noise)
    verdict = 'self-play proposing beat random tasks on every seed';
  else if (behind === runs.length && -mean > noise)
    verdict = 'random tasks beat self-play proposing on every seed';
  else if (ahead === runs.length)
    verdict = 'self-play ahead on every seed, but by less than the seed-to-seed spread: not a clear win';
  else if (behind === runs.length)
    verdict = 'random tasks ahead on every seed, but by less than the seed-to-seed spread: not a clear loss';
  else verdict = `no consistent difference (self-play ahead on ${ahead} of ${runs.length} seeds)`;
  return {
    line: `- ${mode}: ${verdict} (${facts}).`,
    beat: runs.length > 1 && ahead === runs.length && mean > noise,
    lost: runs.length > 1 && behind === runs.length && -mean > noise,
  };
}
const comparisons = ablation ? MODES.map((mode) => ({ mode, ...comparison(mode) })) : [];
const beaten = comparisons.filter((each) => each.beat).map((each) => each.mode);
const lost = comparisons.filter((each) => each.lost).map((each) => each.mode);
const even = MODES.filter((mode) => !beaten.includes(mode) && !lost.includes(mode));
const comparisonSummary = !ablation
  ? ''
  : [
      beaten.length === MODES.length
        ? 'On this run, self-play proposing beat random tasks on every mode, by the late-mean gain.'
        : beaten.length === 0
          ? `On this run, self-play proposing did not beat random tasks on any mode by the late-mean gain${runs.length === 1 ? ' (one seed cannot show it)' : ''}.`
          : `On this run, self-play proposing beat random tasks on ${beaten.join(' and ')} by the late-mean gain.`,
      lost.length === 0 ? '' : `Random tasks beat self-play proposing on ${lost.join(' and ')}.`,
      beaten.length === 0 || even.length === 0
        ? ''
        : `On ${even.join(' and ')} there was no clear difference.`,
    ]
      .filter((sentence) => sentence !== '')
      .join(' ');

const levelRows = [];
for (const mode of MODES) {
  const levels = Object.keys(runs[0].after[mode].levels).sort();
  for (const level of levels) {
    const at = (armRuns, pick) => percent(meanOf(armRuns.map((run) => pick(run)[mode].levels[level] ?? 0)));
    levelRows.push(
      `| ${mode} | ${level} | ${at(runs, (run) => run.before)} | ${at(runs, (run) => run.after)} |${ablation ? ` ${at(randomRuns, (run) => run.after)} |` : ''}`,
    );
  }
}

// The learning curves, averaged over seeds, in ten windows of the run.
const windows = Math.min(10, steps);
function windowRows(armRuns) {
  const rows = [];
  for (let window = 0; window < windows; window += 1) {
    const from = Math.floor((window * steps) / windows) + 1;
    const to = Math.floor(((window + 1) * steps) / windows);
    const inWindow = armRuns.flatMap((run) => run.curves.filter((row) => row.step >= from && row.step <= to));
    const average = (pick) => {
      const values = inWindow.map(pick).filter((value) => typeof value === 'number');
      return values.length === 0 ? undefined : meanOf(values);
    };
    rows.push({
      from,
      to,
      solve: Object.fromEntries(MODES.map((mode) => [mode, average((row) => row.solve[mode])])),
      valid: average((row) => row.valid),
      difficulty: average((row) => row.difficulty),
    });
  }
  return rows;
}
/** A window's steps, `from-to` (one step alone when the window is one step long). */
const span = (row) => (row.from === row.to ? `${row.from}` : `${row.from}-${row.to}`);
const stepsOf = (row) => (row.from === row.to ? `step ${row.from}` : `steps ${row.from}-${row.to}`);
const curveTable = (rows) =>
  rows
    .map(
      (row) =>
        `| ${span(row)} | ${MODES.map((mode) => percent(row.solve[mode])).join(' | ')} | ${percent(row.valid)} | ${row.difficulty?.toFixed(2) ?? 'n/a'} |`,
    )
    .join('\n');
const curveHeader = `| steps | solve deduction | solve abduction | solve induction | valid proposals | proposal difficulty |
|---|---|---|---|---|---|`;
const armWindows = arms.map((arm) => ({ ...arm, rows: windowRows(arm.runs) }));
/** Proposal difficulty, first window against last: did proposals get harder over the run? */
function harderLine({ name, rows }) {
  const first = rows.find((row) => row.difficulty !== undefined);
  const last = rows.findLast((row) => row.difficulty !== undefined);
  if (first === undefined || last === undefined || first === last)
    return `- ${name}: not enough windows with valid deduction or abduction proposals to compare.`;
  // Compared as printed (two decimals), so that -0.001 reads as no change rather than "-0.00 ... easier".
  const change = Math.round((last.difficulty - first.difficulty) * 100) / 100;
  const trend = change > 0 ? 'harder' : change < 0 ? 'easier' : 'no harder';
  return `- ${name}: ${first.difficulty.toFixed(2)} operators in ${stepsOf(first)}, ${last.difficulty.toFixed(2)} in ${stepsOf(last)} (${change >= 0 ? '+' : ''}${change.toFixed(2)}): proposals got ${trend}${name === 'random tasks' ? ' (random tasks follow the curriculum by construction: a uniform size up to its limit at the step)' : ''}.`;
}

// The held-out curves the runs recorded (every `evaluateEvery` steps), by seed and averaged, both arms.
const heldOutSteps = [...new Set([...runs, ...randomRuns].flatMap((run) => [...run.heldOut.keys()]))].sort(
  (a, b) => a - b,
);
const heldOutRows = heldOutSteps.map((step) => {
  const at = (armRuns, mode) => armRuns.map((run) => run.heldOut.get(step)?.[mode]);
  const mean = (list) => (defined(list) ? meanOf(list) : undefined);
  const cells = [`${at(runs, 'deduction').map(percent).join(' / ')}`];
  if (ablation) cells.push(`${at(randomRuns, 'deduction').map(percent).join(' / ')}`);
  for (const mode of MODES) {
    cells.push(percent(mean(at(runs, mode))));
    if (ablation) cells.push(percent(mean(at(randomRuns, mode))));
  }
  return `| ${step} | ${cells.join(' | ')} |`;
});
const heldOutHeader = ablation
  ? `| step | deduction by seed (self-play) | deduction by seed (random tasks) | ${MODES.map((mode) => `${mode} self-play | ${mode} random`).join(' | ')} |
|---|---|---|${MODES.map(() => '---|---|').join('')}`
  : `| step | deduction by seed | ${MODES.map((mode) => `${mode} (mean)`).join(' | ')} |
|---|---|${MODES.map(() => '---|').join('')}`;

const date = new Date().toISOString().slice(0, 10);
// The settings the runs recorded (the defaults, or the config file over them).
const config = JSON.parse(await readFile(join(runs[0].runDirectory, 'config.json'), 'utf8'));
const median = (numbers) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)];
const wallTimes = arms
  .map(
    ({ name, runs: armRuns }) =>
      `${name} ${armRuns.map((run) => `${run.seconds.toFixed(0)} s`).join(', ')} (median ${median(armRuns.map((run) => run.seconds)).toFixed(0)} s)`,
  )
  .join('; ');
const commandOptions = [
  ...(values.config === undefined ? [] : [`--config ${values.config}`]),
  ...(ablation ? [] : ['--no-ablation']),
];
const section = `<!-- learning:start -->
## Learning: the default run on the held-out suite

Command: \`npm run bench:learning${commandOptions.length === 0 ? '' : ` -- ${commandOptions.join(' ')}`}\` (seeds ${seeds.join(', ')}; ${steps} steps each, ${values.config === undefined ? 'the default `azr train`' : 'the config file over the defaults'}: tiny preset from random weights, mini tasks with grammar-constrained generation, engine ${config.engine}, ${config.threads} threads, batch ${config.trainer.batchSize} with ${config.trainer.solveRollouts ?? 1} answers per solve task drawn ${config.trainer.solveSampling === 'balanced' ? 'balanced over difficulty' : 'newest first'}, ${config.trainer.learnabilityRollouts ?? 8} learnability rollouts per proposal, ${config.trainer.advantageEstimator ?? 'trr++'} advantages${config.trainer.diversityReward ? `, proposers' diversity reward ${config.trainer.diversityReward}` : ''}${config.trainer.complexityReward ? `, complexity reward ${config.trainer.complexityReward}` : ''}${config.trainer.advantages?.proposerWeight !== undefined ? `, proposer weight ${config.trainer.advantages.proposerWeight}` : ''}, learning rate ${config.optimizer.learningRate}, curriculum ${config.tasks.curriculum === false ? 'none' : `from ${config.tasks.curriculum.startOperators} operator(s), one more every ${config.tasks.curriculum.stepsPerOperator} steps`}${config.tasks.proposalsReadInput?.length ? `, ${config.tasks.proposalsReadInput.join(' and ')} proposals that read x` : ''}${config.tasks.inductionReadsInput ? ', induction answers that read x where the shown outputs differ' : ''}${config.tasks.inductionAnswersFollowCurriculum ? ', induction answers in training within the curriculum' : ''}${(config.trainer.hindsightAdvantage ?? 0) > 0 ? `, wrong induction answers relabelled in hindsight at advantage ${config.trainer.hindsightAdvantage} (at most ${config.trainer.hindsightLimit ?? config.trainer.batchSize} a step)` : ''}, held-out suite evaluated ${config.tasks.evaluateEvery === false ? 'before and after the run only' : `every ${config.tasks.evaluateEvery} steps`}).${ablation ? " Ablation: the same run with `trainer.proposer: \"random\"` (each mode's tasks from a fixed random generator of the mini language, drawn from the run's seed: deduction and abduction programs of a uniform operator count up to the curriculum's limit at the step" + (config.tasks.proposalsReadInput?.length ? ` (${config.tasks.proposalsReadInput.join(' and ')} drawn again until they read x)` : '') + " and a uniform input digit, induction different digits; validated, held-out tasks excluded, buffered and rated as the model's; the solver trained on the same number of tasks and rollouts; the proposer never trained)." : ''}
Machine: ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} CPUs, Node ${process.versions.node}. Measured ${date}.
Suite: \`packages/cli/suites/mini-javascript.jsonl\` (${suite.length} tasks, generated by \`npm run generate:suites -w @azr/cli\`), greedy decoding, accuracy in %.
Training tasks that collide with the suite: ${arms.map(({ name, runs: armRuns }) => `${name} ${armRuns.map((run) => run.collisions).join(', ')}`).join('; ')} (by seed, within each mode; the mini modes exclude them).
Wall time of the training runs: ${wallTimes}.

Gain: the mean of a run's last ${LATE_EVALUATIONS} held-out evaluations after step 0 (its \`heldout.jsonl\`; here ${lateCounts.length === 1 ? `${lateCounts[0]} evaluation(s), ${lateSteps(runs[0])}` : `${lateCounts.join(' or ')} evaluations, by run`}${lateCounts.some((count) => count < LATE_EVALUATIONS) ? `: fewer than ${LATE_EVALUATIONS}, all the run had` : ''}) minus the untrained model's score (the step-0 record), in points. Late mean: that mean. Final: the bench's own evaluation of the last checkpoint after the run.

| mode | seed | untrained (step 0) | self-play late mean | self-play gain |${ablation ? ' random-tasks late mean | random-tasks gain | self-play - random |' : ''} self-play final |${ablation ? ' random-tasks final |' : ''}
|---|---|---|---|---|${ablation ? '---|---|---|' : ''}---|${ablation ? '---|' : ''}
${gainRows.join('\n')}

Targets (issue 20, self-play runs, by the gain above):

${targetLines.join('\n')}
${
  ablation
    ? `
Does self-play proposing beat random tasks? ${comparisonSummary}

${comparisons.map((each) => each.line).join('\n')}
`
    : ''
}
Did proposals get harder? Mean operator count of valid deduction and abduction proposals, first window of the run against the last (the curves below):

${armWindows.map(harderLine).join('\n')}

Final evaluation, untrained (before) and last checkpoint (after), by difficulty (operator count of the program), mean over seeds:

| mode | difficulty | before | after (self-play) |${ablation ? ' after (random tasks) |' : ''}
|---|---|---|---|${ablation ? '---|' : ''}
${levelRows.join('\n')}

Held-out accuracy during training (each run's \`heldout.jsonl\`, charted in its report; step 0 is the untrained model; by mode, mean over seeds):

${heldOutHeader}
${heldOutRows.join('\n')}

${armWindows
  .map(
    ({
      name,
      rows,
    }) => `Learning curves of the ${name === 'random tasks' ? 'random-tasks' : name} runs, mean over seeds (training solve rate of each mode's solver, proposal validity, mean operator count of valid deduction and abduction proposals; each run's \`report.html\` charts them step by step):

${curveHeader}
${curveTable(rows)}`,
  )
  .join('\n\n')}
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
