import type { TaskBase, TaskModeName, TaskRole } from './task.js';

/**
 * What happened to one proposal, as far as the proposer's reward is concerned.
 *
 * - `malformed`: the completion did not follow the answer format.
 * - `invalid`: well formed, but unparseable, banned, failing or nondeterministic.
 * - `valid`: the task entered the buffer; `solveRate` is the mean correctness of the learnability rollouts.
 */
export type ProposalOutcome =
  | { readonly status: 'malformed' }
  | { readonly status: 'invalid' }
  | { readonly status: 'valid'; readonly solveRate: number };

/** What happened to one solver answer. */
export interface SolveOutcome {
  /** Whether the completion followed the answer format. */
  readonly wellFormed: boolean;
  /** Whether the executor judged the answer correct. */
  readonly correct: boolean;
}

/**
 * A reward function: a plain function over a batch of outcomes, returning one scalar reward per outcome, in
 * order. Batch-level so that rewards that compare samples (ranks, diversity) fit the same shape.
 */
export type RewardFn<TOutcome> = (outcomes: readonly TOutcome[]) => number[];

/** The proposer's reward (learnability, shaped by the format penalty). */
export type ProposerRewardFn = RewardFn<ProposalOutcome>;

/** The solver's reward (correctness, shaped by the format penalty). */
export type SolverRewardFn = RewardFn<SolveOutcome>;

/** Identifies one of the (task mode x role) groups that TRR++ normalises separately. */
export interface RewardGroup {
  readonly mode: TaskModeName;
  readonly role: TaskRole;
}

/** One scored rollout of a step, as a {@link TrainerRewardFn} sees it. */
export type RewardInput =
  | {
      readonly role: 'propose';
      readonly mode: TaskModeName;
      readonly prompt: string;
      /** The completion's text. */
      readonly completion: string;
      /** Tokens of the completion. */
      readonly tokenCount: number;
      readonly outcome: ProposalOutcome;
      /** The task, for valid proposals. */
      readonly task: TaskBase | undefined;
    }
  | {
      readonly role: 'solve';
      readonly mode: TaskModeName;
      readonly prompt: string;
      readonly completion: string;
      readonly tokenCount: number;
      readonly outcome: SolveOutcome;
      /** The task that was solved. */
      readonly task: TaskBase;
    };

/**
 * A reward of the self-play trainer, in the style of TRL's reward functions: a plain function over the step's
 * scored rollouts (both roles, every mode), returning one value per rollout, in order, or `undefined` where it
 * does not apply (a solver's reward, asked about a proposal). Called once per step; may be async.
 */
export type TrainerRewardFn = (
  inputs: readonly RewardInput[],
) => readonly (number | undefined)[] | Promise<readonly (number | undefined)[]>;

/**
 * A named reward with its weight. A rollout's reward is the weighted sum of the values the trainer's rewards
 * give it (a rollout that none applies to gets 0). Each reward's mean per (mode x role) group is reported in
 * the step's statistics under its name.
 */
export interface WeightedReward {
  /** Names the reward in statistics and errors; unique among the trainer's rewards. */
  readonly name: string;
  readonly reward: TrainerRewardFn;
  /** Default `1`. */
  readonly weight?: number;
}
