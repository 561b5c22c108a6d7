import type { TaskModeName, TaskRole } from './task.js';

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
