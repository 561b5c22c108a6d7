import type { TaskBase } from '../../spec/task.js';
import type { ProposalRollout, SolveRollout, TrainerRuntime } from '../runtime.js';
import { solveTasks } from './solve-tasks.js';

/** What the learnability phase measured: the tokens it generated and its solver rollouts. */
export interface LearnabilityResult {
  readonly tokens: number;
  /** One solver rollout per learnability completion, with its verdict (rewards are set later, if trained on). */
  readonly rollouts: readonly SolveRollout[];
}

/**
 * Phase 3: estimate each valid proposal's solve rate with `learnabilityRollouts` solver rollouts of its task.
 * These rollouts set the proposer's reward; they are trained on only with `trainOnLearnabilityRollouts`.
 */
export async function estimateLearnability(
  runtime: TrainerRuntime,
  step: number,
  proposals: ProposalRollout[],
): Promise<LearnabilityResult> {
  const count = runtime.settings.learnabilityRollouts;
  const rollouts: SolveRollout[] = [];
  for (const mode of runtime.modes) {
    const valid = proposals.filter((proposal) => proposal.mode === mode.name && proposal.task !== undefined);
    if (valid.length === 0) continue;
    const tasks = valid.flatMap((proposal) => Array.from({ length: count }, () => proposal.task as TaskBase));
    // One group per task, as GRPO would group them.
    const solved = await solveTasks(
      runtime,
      mode,
      tasks,
      (index) => `${step}:${mode.name}:learnability:${Math.floor(index / count)}`,
      step,
    );
    rollouts.push(...solved);
    valid.forEach((proposal, index) => {
      const mine = solved.slice(index * count, (index + 1) * count);
      // A malformed answer counts as unsolved, as in the reference.
      proposal.solveRate =
        mine.filter((rollout) => rollout.wellFormed && rollout.correct).length / mine.length;
    });
  }
  const tokens = rollouts.reduce((total, rollout) => total + rollout.completion.tokenIds.length, 0);
  return { tokens, rollouts };
}
