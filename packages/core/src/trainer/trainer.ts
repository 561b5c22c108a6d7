import { createAdvantageEstimator } from '../advantages/estimators.js';
import { TaskBuffer } from '../buffers/task-buffer.js';
import { zeroInductionTask, zeroTriplet } from '../buffers/zero-triplet.js';
import { ConfigError } from '../errors/errors.js';
import { createSeededRandom, restoreSeededRandom } from '../random/seeded-random.js';
import { createProposerReward, createSolverReward } from '../rewards/rewards.js';
import type { ExecutorV1 } from '../spec/executor.js';
import type { MetricsSinkV1 } from '../spec/metrics-sink.js';
import type { MonitorV1 } from '../spec/monitor.js';
import type { PolicyModelV1 } from '../spec/policy-model.js';
import type { RandomSource } from '../spec/random-source.js';
import { TASK_ROLES, type TaskBase, type TaskModeName, type TaskRole } from '../spec/task.js';
import type { TaskModeV1 } from '../spec/task-mode.js';
import type { GroupStatistics, TrainerEvent, TrainerPhase } from '../spec/trainer-event.js';
import { assertSpecificationVersion } from '../spec-version.js';
import { createAbductionMode } from '../task-modes/abduction.js';
import { createDeductionMode } from '../task-modes/deduction.js';
import { createInductionMode } from '../task-modes/induction.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  readLatestCheckpoint,
  writeCheckpoint,
} from './checkpoint.js';
import { advantage } from './phases/advantage.js';
import { estimateLearnability } from './phases/learnability.js';
import { propose } from './phases/propose.js';
import { reward } from './phases/reward.js';
import { solve } from './phases/solve.js';
import { update } from './phases/update.js';
import { validate } from './phases/validate.js';
import type { ProposalRollout, Rollout, SolveRollout, TrainerRuntime } from './runtime.js';
import { resolveTrainerSettings, type TrainerSettings, type TrainerSettingsInput } from './settings.js';

/** What a self-play trainer is made of. */
export interface SelfPlayTrainerOptions {
  readonly policy: PolicyModelV1;
  readonly executor: ExecutorV1;
  /** Task modes, run in this order every step. Default: deduction, abduction, induction. */
  readonly modes?: readonly TaskModeV1<TaskBase, unknown, unknown>[];
  readonly settings?: TrainerSettingsInput;
  readonly sinks?: readonly MetricsSinkV1[];
  readonly monitors?: readonly MonitorV1[];
  /** Where checkpoints go (`<runDirectory>/checkpoints`). Without it, nothing is written. */
  readonly runDirectory?: string;
  /** Extra seed tasks, added to their modes' buffers after the zero triplets. */
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
}

/** The outcome of one step. */
export interface StepResult {
  readonly step: number;
  readonly proposals: readonly ProposalRollout[];
  readonly solutions: readonly SolveRollout[];
  readonly loss: number | undefined;
  readonly groups: readonly GroupStatistics[];
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

function mean(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : values.reduce((total, value) => total + value, 0) / values.length;
}

function statistics(
  taskMode: TaskModeV1<TaskBase, unknown, unknown>,
  role: 'propose' | 'solve',
  rollouts: readonly Rollout[],
  /** Proposals of the mode that were excluded (not among `rollouts`). */
  excluded = 0,
): GroupStatistics {
  const mode = taskMode.name;
  const mine = rollouts.filter((rollout) => rollout.mode === mode && rollout.role === role);
  const advantages = mine.map((rollout) => rollout.advantage);
  const advantageMean = mean(advantages);
  const proposals = mine as unknown as readonly ProposalRollout[];
  const solutions = mine as unknown as readonly SolveRollout[];
  const difficulties =
    role === 'propose' && taskMode.difficulty !== undefined
      ? proposals.flatMap((proposal) => {
          const value = proposal.task === undefined ? undefined : taskMode.difficulty?.(proposal.task);
          return value === undefined ? [] : [value];
        })
      : [];
  const meanDifficulty = mean(difficulties);
  return {
    mode,
    role,
    count: mine.length,
    wellFormedRate: mean(mine.map((rollout) => (rollout.wellFormed ? 1 : 0))),
    validRate:
      role === 'propose'
        ? mean(proposals.map((proposal) => (proposal.status === 'valid' ? 1 : 0)))
        : undefined,
    solveRate:
      role === 'propose'
        ? mean(
            proposals.flatMap((proposal) => (proposal.solveRate === undefined ? [] : [proposal.solveRate])),
          )
        : mean(solutions.map((solution) => (solution.correct ? 1 : 0))),
    meanReward: mean(mine.map((rollout) => rollout.reward)),
    advantageMean,
    advantageStandardDeviation:
      advantageMean === undefined
        ? undefined
        : Math.sqrt(mean(advantages.map((value) => (value - advantageMean) ** 2)) ?? 0),
    tokens: mine.reduce((total, rollout) => total + rollout.completion.tokenIds.length, 0),
    ...(meanDifficulty === undefined ? {} : { meanDifficulty }),
    ...(excluded === 0 ? {} : { excluded }),
  };
}

function defaultModes(): TaskModeV1<TaskBase, unknown, unknown>[] {
  return [createDeductionMode(), createAbductionMode(), createInductionMode()] as unknown as TaskModeV1<
    TaskBase,
    unknown,
    unknown
  >[];
}

interface TrainerState {
  step: number;
  random: RandomSource;
  buffers: Map<TaskModeName, TaskBuffer<TaskBase>>;
}

function build(
  options: SelfPlayTrainerOptions,
  settings: TrainerSettings,
  state: TrainerState,
  resumed: boolean,
): SelfPlayTrainer {
  assertSpecificationVersion(options.policy, 'the policy model');
  assertSpecificationVersion(options.executor, 'the executor');
  if (!options.policy.capabilities.training) {
    throw new ConfigError(
      `The policy ${options.policy.modelId} cannot train; self-play needs a policy that can.`,
      { field: 'policy' },
    );
  }
  if (options.executor.language !== settings.language) {
    throw new ConfigError(
      `The executor runs ${options.executor.language}, but the run's language is ${settings.language}.`,
      { field: 'language' },
    );
  }
  const modes = options.modes ?? defaultModes();
  for (const mode of modes) {
    assertSpecificationVersion(mode, `the task mode ${mode.name}`);
    if (!mode.languages.includes(settings.language)) {
      throw new ConfigError(`The task mode ${mode.name} has no ${settings.language} prompts.`, {
        field: 'modes',
      });
    }
  }
  // Constraints may change with the step (a curriculum); the policy must support them from the first.
  const constraintOf = (mode: TaskModeV1<TaskBase, unknown, unknown>, role: TaskRole, step: number) =>
    mode.constraint?.(role, options.policy.tokenizer, { step });
  for (const mode of modes) {
    for (const role of TASK_ROLES) {
      if (
        constraintOf(mode, role, state.step + 1) !== undefined &&
        !options.policy.capabilities.constrainedDecoding
      ) {
        throw new ConfigError(
          `The task mode ${mode.name} holds its ${role} completions to a constraint, which the policy ${options.policy.modelId} does not support.`,
          { field: 'modes' },
        );
      }
    }
  }
  const sinks = options.sinks ?? [];
  const now = options.now ?? (() => performance.now());
  const runId = options.runId ?? 'run';
  const runtime: TrainerRuntime = {
    settings,
    policy: options.policy,
    executor: options.executor,
    modes,
    buffers: state.buffers,
    random: state.random,
    proposerReward: createProposerReward(settings.rewards),
    solverReward: createSolverReward(settings.rewards),
    estimator: createAdvantageEstimator(settings.advantageEstimator, settings.advantages),
    monitors: options.monitors ?? [],
    emit: async (event: TrainerEvent) => {
      for (const sink of sinks) await sink.write(event);
    },
    constraintOf,
  };
  let started = false;

  async function timed<T>(step: number, phase: TrainerPhase, work: () => Promise<T> | T): Promise<T> {
    const start = now();
    const result = await work();
    await runtime.emit({ type: 'phase-end', step, phase, durationMs: now() - start });
    return result;
  }

  async function checkpoint(): Promise<string> {
    if (options.runDirectory === undefined) {
      throw new ConfigError('This trainer has no run directory to write checkpoints to.', {
        field: 'runDirectory',
      });
    }
    const start = now();
    const directory = await writeCheckpoint(
      options.runDirectory,
      {
        format: CHECKPOINT_FORMAT,
        version: CHECKPOINT_VERSION,
        step: state.step,
        random: state.random.snapshot(),
        settings,
        modes: modes.map((mode) => mode.name),
      },
      state.buffers,
      options.policy,
    );
    await runtime.emit({ type: 'checkpoint', step: state.step, directory, durationMs: now() - start });
    return directory;
  }

  async function runStep(): Promise<StepResult> {
    if (!started) {
      started = true;
      await runtime.emit({ type: 'run-start', runId, step: state.step, resumed, settings });
    }
    const step = state.step + 1;
    const stepStart = now();
    const proposals = await timed(step, 'propose', () => propose(runtime, step));
    await timed(step, 'validate', () => validate(runtime, step, proposals));
    const learnability = await timed(step, 'learnability', () =>
      estimateLearnability(runtime, step, proposals),
    );
    const solutions = await timed(step, 'solve', () => solve(runtime, step));
    // Excluded proposals (held-out tasks) are neither rewarded nor trained on, and only counted.
    const counted = proposals.filter((proposal) => proposal.status !== 'excluded');
    const rollouts: Rollout[] = [...counted, ...solutions];
    const extra = settings.trainOnLearnabilityRollouts ? [...learnability.rollouts] : [];
    const trained: Rollout[] = [...rollouts, ...extra];
    await timed(step, 'reward', () => reward(runtime, counted, [...solutions, ...extra]));
    await timed(step, 'advantage', () => advantage(runtime, trained));
    const loss = await timed(step, 'update', () => update(runtime, trained));
    for (const rollout of rollouts) {
      for (const monitor of runtime.monitors) {
        for (const flag of monitor.inspect({
          step,
          mode: rollout.mode,
          role: rollout.role,
          text: rollout.completion.text,
        })) {
          await runtime.emit({ type: 'monitor-flag', step, mode: rollout.mode, role: rollout.role, flag });
        }
      }
    }
    const groups = modes.flatMap((mode) => [
      statistics(
        mode,
        'propose',
        rollouts,
        proposals.filter((proposal) => proposal.mode === mode.name && proposal.status === 'excluded').length,
      ),
      statistics(mode, 'solve', rollouts),
    ]);
    const durationMs = now() - stepStart;
    const tokens =
      rollouts.reduce((total, rollout) => total + rollout.completion.tokenIds.length, 0) +
      learnability.tokens;
    state.step = step;
    await runtime.emit({
      type: 'step-end',
      step,
      groups,
      loss,
      durationMs,
      tokensPerSecond: durationMs > 0 ? (tokens * 1000) / durationMs : 0,
    });
    return { step, proposals, solutions, loss, groups };
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
    async run(runOptions: RunOptions) {
      const target =
        runOptions.untilStep ?? (runOptions.steps === undefined ? undefined : state.step + runOptions.steps);
      if (target === undefined || !Number.isInteger(target) || target < 0) {
        throw new ConfigError('run needs steps or untilStep, a non-negative integer.', { field: 'steps' });
      }
      let reason: 'completed' | 'interrupted' = 'completed';
      while (state.step < target) {
        if (runOptions.signal?.aborted) {
          reason = 'interrupted';
          break;
        }
        const result = await runStep();
        await runOptions.onStep?.(result);
        if (options.runDirectory !== undefined && state.step % settings.checkpointEvery === 0)
          await checkpoint();
      }
      if (options.runDirectory !== undefined && state.step % settings.checkpointEvery !== 0)
        await checkpoint();
      await runtime.emit({ type: 'run-end', step: state.step, reason });
      for (const sink of sinks) await sink.close?.();
      return { reason };
    },
  };
}

/**
 * Creates a self-play trainer. Buffers start from the zero triplet in the run's language (and any `seeds`);
 * everything random draws from one source seeded with `settings.seed`, so the same seed and settings give the
 * same run on the same backend.
 */
export function createSelfPlayTrainer(options: SelfPlayTrainerOptions): SelfPlayTrainer {
  const settings = resolveTrainerSettings(options.settings);
  const modes = options.modes ?? defaultModes();
  const buffers = new Map<TaskModeName, TaskBuffer<TaskBase>>();
  for (const mode of modes) {
    const buffer = new TaskBuffer<TaskBase>(mode.name, {
      capacity: settings.bufferCapacity,
      eviction: settings.bufferEviction,
    });
    if (mode.seedTasks !== undefined) buffer.addAll(mode.seedTasks(settings.language));
    else if (mode.name === 'deduction') buffer.add(zeroTriplet('deduction', settings.language));
    else if (mode.name === 'abduction') buffer.add(zeroTriplet('abduction', settings.language));
    else if (mode.name === 'induction') buffer.add(zeroInductionTask(settings.language));
    buffers.set(mode.name, buffer);
  }
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
    { step: 0, random: createSeededRandom(settings.seed), buffers },
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
  const modes = options.modes ?? defaultModes();
  const names = modes.map((mode) => mode.name);
  if (names.join() !== checkpoint.state.modes.join()) {
    throw new ConfigError(
      `The checkpoint was written with the modes ${checkpoint.state.modes.join(', ')}, not ${names.join(', ')}.`,
      { field: 'modes' },
    );
  }
  const buffers = new Map<TaskModeName, TaskBuffer<TaskBase>>();
  for (const mode of names) {
    const buffer = new TaskBuffer<TaskBase>(mode, {
      capacity: settings.bufferCapacity,
      eviction: settings.bufferEviction,
    });
    buffer.addAll(checkpoint.buffers.get(mode) ?? []);
    buffers.set(mode, buffer);
  }
  const policy = await options.loadPolicy(checkpoint.policyDirectory);
  return build(
    { ...options, policy, modes },
    settings,
    { step: checkpoint.state.step, random: restoreSeededRandom(checkpoint.state.random), buffers },
    true,
  );
}
