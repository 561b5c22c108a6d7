import type { TaskBuffer } from '../buffers/task-buffer.js';
import type { AdvantageEstimatorV1 } from '../spec/advantage-estimator.js';
import type { ExecutorV1 } from '../spec/executor.js';
import type { GenerationConstraintV1 } from '../spec/generation-constraint.js';
import type { MonitorV1 } from '../spec/monitor.js';
import type { Completion, PolicyModelV1 } from '../spec/policy-model.js';
import type { RandomSource } from '../spec/random-source.js';
import type { ProposerRewardFn, SolverRewardFn } from '../spec/reward.js';
import type { TaskBase, TaskModeName, TaskRole } from '../spec/task.js';
import type { ProposeContext, TaskModeV1 } from '../spec/task-mode.js';
import type { TrainerEvent } from '../spec/trainer-event.js';
import type { TrainerSettings } from './settings.js';

/** Everything the phases of a step share. */
export interface TrainerRuntime {
  readonly settings: TrainerSettings;
  readonly policy: PolicyModelV1;
  readonly executor: ExecutorV1;
  readonly modes: readonly TaskModeV1<TaskBase, unknown, unknown>[];
  readonly buffers: ReadonlyMap<TaskModeName, TaskBuffer<TaskBase>>;
  readonly random: RandomSource;
  readonly proposerReward: ProposerRewardFn;
  readonly solverReward: SolverRewardFn;
  readonly estimator: AdvantageEstimatorV1;
  readonly monitors: readonly MonitorV1[];
  readonly emit: (event: TrainerEvent) => Promise<void>;
  /** The generation constraint of a mode's role at a step, if the mode has one. */
  readonly constraintOf: (
    mode: TaskModeV1<TaskBase, unknown, unknown>,
    role: TaskRole,
    step: number,
  ) => GenerationConstraintV1 | undefined;
}

/** One trained sequence of a step: a prompt, its completion, and what became of it. */
export interface Rollout {
  readonly mode: TaskModeName;
  readonly role: TaskRole;
  /** Identifies the prompt (for per-prompt advantages). */
  readonly promptId: string;
  readonly prompt: string;
  readonly completion: Completion;
  wellFormed: boolean;
  reward: number;
  advantage: number;
}

/** A proposal and its fate. */
export interface ProposalRollout extends Rollout {
  readonly role: 'propose';
  readonly context: ProposeContext;
  /** `excluded`: set aside by the mode's validation (a held-out task); neither rewarded nor trained on. */
  status: 'malformed' | 'invalid' | 'valid' | 'excluded';
  reason: string | undefined;
  task: TaskBase | undefined;
  /** Mean correctness of the learnability rollouts, for valid proposals. */
  solveRate: number | undefined;
}

/** A solver rollout and its verdict. */
export interface SolveRollout extends Rollout {
  readonly role: 'solve';
  readonly task: TaskBase;
  correct: boolean;
  reason: string | undefined;
}

/** The `constraint` field of a generate request: absent when there is none. */
export function constrainedBy(constraint: GenerationConstraintV1 | undefined): {
  readonly constraint?: GenerationConstraintV1;
} {
  return constraint === undefined ? {} : { constraint };
}

/** A fresh generation seed drawn from the run's random source. */
export function nextSeed(random: RandomSource): number {
  return random.nextInt(0, 2 ** 31 - 1);
}
