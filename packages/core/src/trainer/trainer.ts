import { createAdvantageEstimator } from '../advantages/estimators.js';
import { TaskBuffer } from '../buffers/task-buffer.js';
import { ConfigError } from '../errors/errors.js';
import { createSeededRandom, restoreSeededRandom } from '../random/seeded-random.js';
import { createDefaultRewards } from '../rewards/rewards.js';
import { solveWithPolicy } from '../rollout/solve-with-policy.js';
import { assertNumberInRange } from '../settings/validate.js';
import type { ExecutorV1 } from '../spec/executor.js';
import type { MetricsSinkV1 } from '../spec/metrics-sink.js';
import type { MonitorV1 } from '../spec/monitor.js';
import type { PolicyModelV1 } from '../spec/policy-model.js';
import type { RandomSource } from '../spec/random-source.js';
import type { WeightedReward } from '../spec/reward.js';
import type { SolvePath } from '../spec/solve-path.js';
import { TASK_ROLES, type TaskBase, type TaskModeName } from '../spec/task.js';
import type { TaskModeV1 } from '../spec/task-mode.js';
import type { TrainerEvent } from '../spec/trainer-event.js';
import { assertSpecificationVersion } from '../spec-version.js';
import { createPaperTaskModes } from '../task-modes/paper.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  readLatestCheckpoint,
  writeCheckpoint,
} from './checkpoint.js';
import {
  checkEvaluation,
  type EvaluationResult,
  evaluateSuites,
  type TrainerEvaluation,
} from './evaluation-schedule.js';
import { runSeeding } from './seeding.js';
import { resolveTrainerSettings, type TrainerSettings, type TrainerSettingsInput } from './settings.js';
import { runSelfPlayStep, type StepResult, type StepRuntime } from './step.js';

export type { StepResult } from './step.js';

/** What a self-play trainer is made of. */
export interface SelfPlayTrainerOptions {
  readonly policy: PolicyModelV1;
  readonly executor: ExecutorV1;
  /** Task modes, run in this order every step. Default: the paper's (`createPaperTaskModes`). */
  readonly modes?: readonly TaskModeV1[];
  readonly settings?: TrainerSettingsInput;
  /**
   * The rewards, summed with their weights into each rollout's reward. Default: `createDefaultRewards`
   * (learnability for proposers, correctness for solvers, both shaped by `settings.rewards`). Add one with
   * `[...createDefaultRewards(settings.rewards), { name, reward, weight }]`.
   */
  readonly rewardFunctions?: readonly WeightedReward[];
  /** Evaluation on held-out suites, on a schedule (see {@link TrainerEvaluation}). Default: none. */
  readonly evaluation?: TrainerEvaluation;
  /** How solver answers are generated and judged (the solve and learnability phases, and evaluation). */
  readonly solvePath?: SolvePath;
  readonly sinks?: readonly MetricsSinkV1[];
  readonly monitors?: readonly MonitorV1[];
  /** Where checkpoints go (`<runDirectory>/checkpoints`). Without it, nothing is written. */
  readonly runDirectory?: string;
  /** Extra seed tasks, added to their modes' buffers after the modes' own (`TaskModeV1.seedTasks`). */
  readonly seeds?: readonly TaskBase[];
  /** Names the run in events. Default `run`. */
  readonly runId?: string;
  /** The clock of the timing fields of events, in milliseconds. Default `performance.now`. */
  readonly now?: () => number;
}

/** How long {@link SelfPlayTrainer.run} goes on. */
export interface RunOptions {
  /** Run this many more steps. */
  readonly steps?: number;
  /** Or run until this many steps are complete in total (what a resumed run wants). */
  readonly untilStep?: number;
  /** Stops the run after the current step; a checkpoint is written first when there is a run directory. */
  readonly signal?: AbortSignal;
  /**
   * Called after each step with its outcome (every proposal and solution, with rewards and verdicts), before
   * that step's checkpoint: for samples, progress displays and custom logging. A throw ends the run.
   */
  readonly onStep?: (result: StepResult) => void | Promise<void>;
  /**
   * Called after each scheduled evaluation of a suite (the trainer's `evaluation` option), after `onStep` and
   * before that step's checkpoint. A throw ends the run.
   */
  readonly onEvaluation?: (result: EvaluationResult) => void | Promise<void>;
}

/** The Absolute Zero self-play loop. */
export interface SelfPlayTrainer {
  /** Completed steps. */
  readonly step: number;
  readonly settings: TrainerSettings;
  /** The buffers, by mode. */
  readonly buffers: ReadonlyMap<TaskModeName, TaskBuffer<TaskBase>>;
  /** Runs one step: propose, validate, learnability, solve, reward, advantage, update. */
  runStep(): Promise<StepResult>;
  /** Runs steps until the options say stop; writes checkpoints on the way and at the end. */
  run(options: RunOptions): Promise<{ readonly reason: 'completed' | 'interrupted' }>;
  /** Writes a checkpoint now (requires a run directory). */
  checkpoint(): Promise<string>;
  /** The random source's state (for tests and reports). */
  randomState(): ReturnType<RandomSource['snapshot']>;
}

interface TrainerState {
  step: number;
  random: RandomSource;
  buffers: Map<TaskModeName, TaskBuffer<TaskBase>>;
  /** Whether the seeding stage is over, or there is none. */
  seeded: boolean;
}

/** Checks the parts of a run against each other before it starts: a `ConfigError` naming what is wrong. */
function checkParts(
  options: SelfPlayTrainerOptions & { readonly modes: readonly TaskModeV1[] },
  settings: TrainerSettings,
  firstStep: number,
): void {
  const { policy, executor, modes } = options;
  assertSpecificationVersion(policy, 'the policy model');
  assertSpecificationVersion(executor, 'the executor');
  if (!policy.capabilities.training) {
    throw new ConfigError(`The policy ${policy.modelId} cannot train; self-play needs a policy that can.`, {
      field: 'policy',
    });
  }
  if (executor.language !== settings.language) {
    throw new ConfigError(
      `The executor runs ${executor.language}, but the run's language is ${settings.language}.`,
      { field: 'language' },
    );
  }
  const names = new Set<string>();
  for (const mode of modes) {
    assertSpecificationVersion(mode, `the task mode ${mode.name}`);
    if (names.has(mode.name))
      throw new ConfigError(`Two task modes are named ${mode.name}; each mode needs a name of its own.`, {
        field: 'modes',
      });
    names.add(mode.name);
    if (settings.proposer === 'random' && typeof mode.sampleProposal !== 'function') {
      throw new ConfigError(
        `proposer "random" draws each mode's proposals from its sampleProposal, which the task mode ${mode.name} does not have; use proposer "model", or modes that can sample proposals (such as createMiniTaskModes).`,
        { field: 'proposer' },
      );
    }
    if (!mode.languages.includes(settings.language)) {
      throw new ConfigError(`The task mode ${mode.name} has no ${settings.language} prompts.`, {
        field: 'modes',
      });
    }
    // Constraints may change with the step (a curriculum); the policy must support them from the first.
    for (const role of TASK_ROLES) {
      if (
        mode.constraint?.(role, policy.tokenizer, { step: firstStep }) !== undefined &&
        !policy.capabilities.constrainedDecoding
      ) {
        throw new ConfigError(
          `The task mode ${mode.name} holds its ${role} completions to a constraint, which the policy ${policy.modelId} does not support.`,
          { field: 'modes' },
        );
      }
    }
  }
  if (settings.hindsightAdvantage > 0 && !modes.some((mode) => typeof mode.hindsightTask === 'function')) {
    throw new ConfigError(
      `hindsightAdvantage relabels wrong answers through a task mode's hindsightTask, which none of the modes (${modes.map((mode) => mode.name).join(', ')}) has; set it to 0, or use modes that have one (the mini induction mode: createMiniTaskModes, or tasks.kind "mini" in azr.config.json).`,
      { field: 'hindsightAdvantage' },
    );
  }
  checkRewards(options.rewardFunctions ?? []);
  if (options.evaluation !== undefined) checkEvaluation(options.evaluation, modes);
}

function checkRewards(rewards: readonly WeightedReward[]): void {
  const names = new Set<string>();
  for (const { name, reward, weight } of rewards) {
    if (typeof name !== 'string' || name.length === 0 || names.has(name))
      throw new ConfigError(`rewardFunctions need unique, non-empty names; got ${JSON.stringify(name)}.`, {
        field: 'rewardFunctions',
      });
    names.add(name);
    if (typeof reward !== 'function')
      throw new ConfigError(`The reward ${name} has no reward function.`, { field: 'rewardFunctions' });
    if (weight !== undefined) assertNumberInRange(`rewardFunctions.${name}.weight`, weight, {});
  }
}

function build(
  options: SelfPlayTrainerOptions & { readonly modes: readonly TaskModeV1[] },
  settings: TrainerSettings,
  state: TrainerState,
  resumed: boolean,
): SelfPlayTrainer {
  checkParts(options, settings, state.step + 1);
  const sinks = options.sinks ?? [];
  const emit = async (event: TrainerEvent) => {
    for (const sink of sinks) await sink.write(event);
  };
  const solvePath = options.solvePath ?? solveWithPolicy;
  const runtime: StepRuntime = {
    settings,
    policy: options.policy,
    executor: options.executor,
    modes: options.modes,
    buffers: state.buffers,
    random: state.random,
    sampling: settings.sampling,
    format: settings.format,
    solvePath,
    constraintOf: (mode, role, step) => mode.constraint?.(role, options.policy.tokenizer, { step }),
    rewards: options.rewardFunctions ?? createDefaultRewards(settings.rewards),
    estimator: createAdvantageEstimator(settings.advantageEstimator, settings.advantages),
    monitors: options.monitors ?? [],
    emit,
    now: options.now ?? (() => performance.now()),
  };
  let started = false;
  // The step the suites were last evaluated at, so that the end of a run does not evaluate a step twice.
  let evaluatedStep: number | undefined;

  async function checkpoint(): Promise<string> {
    if (options.runDirectory === undefined) {
      throw new ConfigError('This trainer has no run directory to write checkpoints to.', {
        field: 'runDirectory',
      });
    }
    const start = runtime.now();
    const directory = await writeCheckpoint(
      options.runDirectory,
      {
        format: CHECKPOINT_FORMAT,
        version: CHECKPOINT_VERSION,
        step: state.step,
        random: state.random.snapshot(),
        settings,
        modes: options.modes.map((mode) => mode.name),
        seeded: state.seeded,
      },
      state.buffers,
      options.policy,
    );
    await emit({ type: 'checkpoint', step: state.step, directory, durationMs: runtime.now() - start });
    return directory;
  }

  async function start(): Promise<void> {
    if (started) return;
    started = true;
    await emit({ type: 'run-start', runId: options.runId ?? 'run', step: state.step, resumed, settings });
  }

  /**
   * The seeding stage, once, before step 1 (see `settings.seeding`), and its checkpoint. Returns false when
   * `signal` stopped it: the run then has no step and no seeds to resume from.
   */
  async function seed(signal?: AbortSignal): Promise<boolean> {
    if (state.seeded) return true;
    const outcome = await runSeeding(runtime, signal);
    if (outcome === 'interrupted') return false;
    state.seeded = true;
    if (options.runDirectory !== undefined) await checkpoint();
    return true;
  }

  async function runStep(): Promise<StepResult> {
    await start();
    await seed();
    const result = await runSelfPlayStep(runtime, state.step + 1);
    state.step = result.step;
    return result;
  }

  async function evaluateNow(onEvaluation: RunOptions['onEvaluation']): Promise<void> {
    if (options.evaluation === undefined) return;
    evaluatedStep = state.step;
    const results = await evaluateSuites(
      { ...runtime, maxTokens: settings.sampling.maxTokens },
      options.evaluation,
      state.step,
    );
    for (const result of results) await onEvaluation?.(result);
  }

  async function run(runOptions: RunOptions): Promise<{ readonly reason: 'completed' | 'interrupted' }> {
    const target =
      runOptions.untilStep ?? (runOptions.steps === undefined ? undefined : state.step + runOptions.steps);
    if (target === undefined || !Number.isInteger(target) || target < 0) {
      throw new ConfigError('run needs steps or untilStep, a non-negative integer.', { field: 'steps' });
    }
    const every = options.evaluation?.every;
    await start();
    if (state.step === 0 && !resumed && evaluatedStep === undefined)
      await evaluateNow(runOptions.onEvaluation);
    let reason: 'completed' | 'interrupted' = (await seed(runOptions.signal)) ? 'completed' : 'interrupted';
    while (reason === 'completed' && state.step < target) {
      if (runOptions.signal?.aborted) {
        reason = 'interrupted';
        break;
      }
      const result = await runStep();
      await runOptions.onStep?.(result);
      if (every !== undefined && state.step % every === 0) await evaluateNow(runOptions.onEvaluation);
      if (options.runDirectory !== undefined && state.step % settings.checkpointEvery === 0)
        await checkpoint();
    }
    if (evaluatedStep !== state.step && state.step > 0) await evaluateNow(runOptions.onEvaluation);
    if (options.runDirectory !== undefined && state.step % settings.checkpointEvery !== 0) await checkpoint();
    await emit({ type: 'run-end', step: state.step, reason });
    for (const sink of sinks) await sink.close?.();
    return { reason };
  }

  return {
    get step() {
      return state.step;
    },
    settings,
    buffers: state.buffers,
    runStep,
    checkpoint,
    randomState: () => state.random.snapshot(),
    run,
  };
}

/** A buffer per mode, with the trainer's capacity and eviction. */
function emptyBuffers(modes: readonly TaskModeName[], settings: TrainerSettings) {
  return new Map(
    modes.map((mode) => [
      mode,
      new TaskBuffer<TaskBase>(mode, {
        capacity: settings.bufferCapacity,
        eviction: settings.bufferEviction,
      }),
    ]),
  );
}

/**
 * Creates a self-play trainer. Each mode's buffer starts from the mode's seed tasks in the run's language (the
 * zero triplet for the paper's modes), then any `seeds`; everything random draws from one source seeded with
 * `settings.seed`, so the same seed and settings give the same run on the same backend.
 */
export function createSelfPlayTrainer(options: SelfPlayTrainerOptions): SelfPlayTrainer {
  const settings = resolveTrainerSettings(options.settings);
  const modes = options.modes ?? createPaperTaskModes();
  const buffers = emptyBuffers(
    modes.map((mode) => mode.name),
    settings,
  );
  for (const mode of modes) buffers.get(mode.name)?.addAll(mode.seedTasks?.(settings.language) ?? []);
  for (const seed of options.seeds ?? []) {
    const buffer = buffers.get(seed.mode);
    if (buffer === undefined)
      throw new ConfigError(`A seed task's mode ${seed.mode} is not one of the run's modes.`, {
        field: 'seeds',
      });
    buffer.add(seed);
  }
  return build(
    { ...options, modes },
    settings,
    { step: 0, random: createSeededRandom(settings.seed), buffers, seeded: settings.seeding.tasks === 0 },
    false,
  );
}

/** What resuming needs besides the run directory. */
export interface ResumeOptions
  extends Omit<SelfPlayTrainerOptions, 'policy' | 'settings' | 'seeds' | 'runDirectory'> {
  readonly runDirectory: string;
  /** Loads the policy saved in a checkpoint's `policy` folder (with the backend's factory). */
  readonly loadPolicy: (directory: string) => Promise<PolicyModelV1>;
}

/**
 * Continues a run from its latest checkpoint: the same settings, buffers, random state, step and policy, so
 * the steps that follow are the ones the uninterrupted run would have taken. Throws `ModelFormatError` for a
 * corrupted checkpoint and `ConfigError` when the run has none.
 */
export async function resumeSelfPlayTrainer(options: ResumeOptions): Promise<SelfPlayTrainer> {
  const checkpoint = await readLatestCheckpoint(options.runDirectory);
  if (checkpoint === undefined) {
    throw new ConfigError(`${options.runDirectory} has no checkpoint to resume from.`, {
      field: 'runDirectory',
    });
  }
  const settings = resolveTrainerSettings(checkpoint.state.settings);
  const modes = options.modes ?? createPaperTaskModes();
  const names = modes.map((mode) => mode.name);
  if (names.join() !== checkpoint.state.modes.join()) {
    throw new ConfigError(
      `The checkpoint was written with the modes ${checkpoint.state.modes.join(', ')}, not ${names.join(', ')}.`,
      { field: 'modes' },
    );
  }
  const buffers = emptyBuffers(names, settings);
  for (const [mode, buffer] of buffers) buffer.addAll(checkpoint.buffers.get(mode) ?? []);
  const policy = await options.loadPolicy(checkpoint.policyDirectory);
  return build(
    { ...options, policy, modes },
    settings,
    {
      step: checkpoint.state.step,
      random: restoreSeededRandom(checkpoint.state.random),
      buffers,
      seeded: checkpoint.state.seeded ?? true,
    },
    true,
  );
}
