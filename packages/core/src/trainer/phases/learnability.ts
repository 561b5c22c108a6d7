import type { TaskBase } from '../../spec/task.js';
import type { TaskModeV1 } from '../../spec/task-mode.js';
import type { ScoredProposal, ScoredSolution, ValidatedProposal } from '../rollouts.js';
import { type SolveContext, solveFor } from './context.js';

/** What learnability estimation needs besides solving. */
export interface LearnabilityInput extends SolveContext {
  readonly modes: readonly TaskModeV1[];
  /** The trainer's `learnabilityRollouts`. */
  readonly rollouts: number;
}

/** What the learnability phase made: the proposals with their solve rates, and its solver rollouts. */
export interface LearnabilityResult {
  readonly proposals: readonly ScoredProposal[];
  /** One scored solution per learnability completion (trained on only with `trainOnLearnabilityRollouts`). */
  readonly rollouts: readonly ScoredSolution[];
}

/**
 * Phase 3: estimate each valid proposal's solve rate with `learnabilityRollouts` solver rollouts of its task,
 * which set the proposer's reward.
 */
export async function estimateLearnability(
  input: LearnabilityInput,
  step: number,
  proposals: readonly ValidatedProposal[],
): Promise<LearnabilityResult> {
  const count = input.rollouts;
  const rollouts: ScoredSolution[] = [];
  const solveRates = new Map<ValidatedProposal, number>();
  for (const mode of input.modes) {
    const valid = proposals.filter((proposal) => proposal.mode === mode.name && proposal.task !== undefined);
    if (valid.length === 0) continue;
    const tasks = valid.flatMap((proposal) => Array.from({ length: count }, () => proposal.task as TaskBase));
    // One group per task, as GRPO would group them.
    const solved = await solveFor(
      input,
      mode,
      tasks,
      (index) => `${step}:${mode.name}:learnability:${Math.floor(index / count)}`,
      step,
    );
    rollouts.push(...solved);
    valid.forEach((proposal, index) => {
      const mine = solved.slice(index * count, (index + 1) * count);
      // A malformed answer counts as unsolved, as in the reference.
      solveRates.set(
        proposal,
        mine.filter((rollout) => rollout.wellFormed && rollout.correct).length / count,
      );
    });
  }
  return {
    proposals: proposals.map((proposal) => ({ ...proposal, solveRate: solveRates.get(proposal) })),
    rollouts,
  };
}
