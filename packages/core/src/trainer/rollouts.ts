import type { GenerationConstraintV1 } from '../spec/generation-constraint.js';
import type { Completion } from '../spec/policy-model.js';
import type { RandomSource } from '../spec/random-source.js';
import type { SolvedTask } from '../spec/solve-path.js';
import type { TaskBase, TaskModeName, TaskRole } from '../spec/task.js';
import type { ProposeContext } from '../spec/task-mode.js';
import type { TokenizerV1 } from '../spec/tokenizer.js';

/*
 * The values a step passes from phase to phase. Each phase returns the next stage and changes none it is
 * given: a proposal is validated, then scored by learnability; a solution is scored by the solve path; both
 * are then rewarded and given an advantage, and the result is what the update trains on.
 */

/** A generated completion of one role of one mode. */
export interface Generation {
  readonly mode: TaskModeName;
  readonly role: TaskRole;
  /** Identifies the prompt (for per-prompt advantages). */
  readonly promptId: string;
  readonly prompt: string;
  readonly completion: Completion;
}

/** Stage 1: a proposer's completion and the context its prompt was built from. */
export interface Proposal extends Generation {
  readonly role: 'propose';
  readonly context: ProposeContext;
}

/** What validation made of a proposal. */
export type ProposalStatus = 'malformed' | 'invalid' | 'valid' | 'excluded';

/**
 * Stage 2: a proposal after parsing and validation. `excluded`: set aside by the mode's validation (a
 * held-out task); neither rewarded nor trained on.
 */
export interface ValidatedProposal extends Proposal {
  readonly wellFormed: boolean;
  readonly status: ProposalStatus;
  readonly reason: string | undefined;
  /** The task, for valid proposals. */
  readonly task: TaskBase | undefined;
}

/** Stage 3: a validated proposal with its learnability estimate. */
export interface ScoredProposal extends ValidatedProposal {
  /** Mean correctness of the learnability rollouts, for valid proposals. */
  readonly solveRate: number | undefined;
}

/** A solver's completion, judged: stage 3 of a solution. */
export interface ScoredSolution extends Generation, Omit<SolvedTask, 'prompt' | 'completion'> {
  readonly role: 'solve';
}

/** What the reward and advantage phases add: the last stage, what the update trains on. */
export interface Trained {
  /** The weighted sum of `rewardParts`: what the advantage is computed from. */
  readonly reward: number;
  /** The value of each of the trainer's rewards that applies to the rollout (unweighted), by reward name. */
  readonly rewardParts: Readonly<Record<string, number>>;
  readonly advantage: number;
}

/** A proposal and its fate. */
export type ProposalRollout = ScoredProposal & Trained;

/** A solver rollout and its verdict. */
export type SolveRollout = ScoredSolution & Trained;

/** Either kind of rollout. */
export type Rollout = ProposalRollout | SolveRollout;

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

/** A prompt's token ids as the policy sees it: the beginning-of-sequence token first where the tokenizer has one. */
export function promptTokenIds(tokenizer: TokenizerV1, prompt: string): number[] {
  const start = tokenizer.beginningOfSequenceTokenId;
  return [...(start === undefined ? [] : [start]), ...tokenizer.encode(prompt)];
}
