import type { MonitorFlag } from './monitor.js';
import type { TrainStepResult } from './policy-model.js';
import type { TaskModeName, TaskRole } from './task.js';

/** The phases of one self-play step, in order. */
export type TrainerPhase =
  | 'propose'
  | 'validate'
  | 'learnability'
  | 'solve'
  /** Only with the trainer's `hindsightAdvantage`. */
  | 'hindsight'
  | 'reward'
  | 'advantage'
  | 'update';

/** Every {@link TrainerPhase}, in order. */
export const TRAINER_PHASES: readonly TrainerPhase[] = [
  'propose',
  'validate',
  'learnability',
  'solve',
  'hindsight',
  'reward',
  'advantage',
  'update',
];

/** Statistics of one (mode x role) group in one step. Rates are in `[0, 1]`; `undefined` when the group is empty. */
export interface GroupStatistics {
  readonly mode: TaskModeName;
  readonly role: TaskRole;
  /** Number of sequences in the group. */
  readonly count: number;
  /** Share of completions that followed the answer format. */
  readonly wellFormedRate: number | undefined;
  /** For proposers: share of proposals that became tasks, among those not excluded. */
  readonly validRate: number | undefined;
  /** For solvers: share of correct answers; for proposers: mean learnability solve rate of valid proposals. */
  readonly solveRate: number | undefined;
  readonly meanReward: number | undefined;
  /**
   * The mean of each of the trainer's rewards (unweighted) over the group's sequences it applies to, by reward
   * name (the defaults: `learnability` for proposers, `correctness` for solvers). Absent when none applies.
   */
  readonly rewards?: Readonly<Record<string, number>>;
  readonly advantageMean: number | undefined;
  readonly advantageStandardDeviation: number | undefined;
  /** Completion tokens generated for the group. */
  readonly tokens: number;
  /**
   * For proposers of a mode that measures difficulty ({@link TaskModeV1.difficulty}): the mean difficulty of
   * the step's valid proposals; otherwise absent.
   */
  readonly meanDifficulty?: number;
  /**
   * For proposers: proposals the mode's validation set aside (held-out tasks, `ProposalValidation.exclude`),
   * which no other figure of the group counts. Absent when there were none.
   */
  readonly excluded?: number;
}

/** Emitted once when a run starts or resumes. */
export interface RunStartEvent {
  readonly type: 'run-start';
  readonly runId: string;
  readonly step: number;
  readonly resumed: boolean;
  readonly settings: unknown;
}

/** Emitted when a phase of a step ends. */
export interface PhaseEndEvent {
  readonly type: 'phase-end';
  readonly step: number;
  readonly phase: TrainerPhase;
  readonly durationMs: number;
}

/**
 * What a step's policy update reported (the policy's {@link TrainStepResult} without its loss and wall time),
 * over its mini-batches: token-weighted means of the per-token statistics, the largest gradient norm, and the
 * tokens of all of them.
 */
export type UpdateStatistics = Omit<TrainStepResult, 'loss' | 'durationMs'>;

/** Emitted at the end of each step with the statistics of every group. */
export interface StepEndEvent {
  readonly type: 'step-end';
  readonly step: number;
  readonly groups: readonly GroupStatistics[];
  readonly loss: number | undefined;
  /** What the update reported; absent when the step trained on nothing. */
  readonly update?: UpdateStatistics;
  readonly durationMs: number;
  /** Generated tokens per second over the step. */
  readonly tokensPerSecond: number;
  /**
   * With the trainer's `hindsightAdvantage`: the wrong answers trained on again under a task they solve, by
   * mode (modes without any left out).
   */
  readonly hindsight?: Readonly<Record<TaskModeName, number>>;
}

/** Emitted when a monitor flags generated text. */
export interface MonitorFlagEvent {
  readonly type: 'monitor-flag';
  readonly step: number;
  readonly mode: TaskModeName;
  readonly role: TaskRole;
  readonly flag: MonitorFlag;
}

/** Emitted after a checkpoint was written (and renamed into place). */
export interface CheckpointEvent {
  readonly type: 'checkpoint';
  readonly step: number;
  readonly directory: string;
  readonly durationMs: number;
}

/** Accuracy of one mode on an evaluation suite. */
export interface ModeEvaluation {
  readonly tasks: number;
  /** pass@k for each requested k, in [0, 1]. pass@1 is the accuracy. */
  readonly passAtK: Readonly<Record<number, number>>;
}

/** Emitted after the trainer evaluated the policy on one of its evaluation suites (the `evaluation` option). */
export interface EvaluationEvent {
  readonly type: 'evaluation';
  /** The completed steps when it was evaluated: `0` is the untrained policy. */
  readonly step: number;
  /** The suite's name. */
  readonly suite: string;
  /** By mode name; modes without tasks in the suite are absent. */
  readonly modes: Readonly<Record<string, ModeEvaluation>>;
  readonly durationMs: number;
}

/**
 * Emitted after each round of the seeding stage (the trainer's `seeding` setting), in which the policy proposes
 * tasks, without training, until every mode's buffer holds `target` tasks.
 */
export interface SeedingEvent {
  readonly type: 'seeding';
  /** The round, from 1. */
  readonly round: number;
  /** The tasks each mode's buffer holds after the round, by mode name. */
  readonly tasks: Readonly<Record<string, number>>;
  readonly target: number;
  /** Whether the stage is over: every buffer reached the target, or the rounds ran out. */
  readonly done: boolean;
  /** Whether every buffer reached the target. A stage that is `done` without it goes on with what it has. */
  readonly reached: boolean;
  readonly durationMs: number;
}

/** Emitted once when a run ends, normally or by interruption. */
export interface RunEndEvent {
  readonly type: 'run-end';
  readonly step: number;
  readonly reason: 'completed' | 'interrupted' | 'failed';
}

/** Every event the trainer emits. Events are plain JSON-serialisable objects. */
export type TrainerEvent =
  | RunStartEvent
  | PhaseEndEvent
  | StepEndEvent
  | MonitorFlagEvent
  | CheckpointEvent
  | EvaluationEvent
  | SeedingEvent
  | RunEndEvent;
