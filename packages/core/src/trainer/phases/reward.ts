import type { ProposalRollout, SolveRollout, TrainerRuntime } from '../runtime.js';

/** Phase 5: the proposer's learnability reward and the solver's correctness reward, both format-shaped. */
export function reward(
  runtime: TrainerRuntime,
  proposals: ProposalRollout[],
  solutions: SolveRollout[],
): void {
  // Excluded proposals get no reward (and are not trained on).
  const rewarded = proposals.filter((proposal) => proposal.status !== 'excluded');
  const proposerRewards = runtime.proposerReward(
    rewarded.map((proposal) =>
      proposal.status === 'valid'
        ? { status: 'valid' as const, solveRate: proposal.solveRate ?? 0 }
        : { status: proposal.status === 'malformed' ? ('malformed' as const) : ('invalid' as const) },
    ),
  );
  rewarded.forEach((proposal, index) => {
    proposal.reward = proposerRewards[index] as number;
  });
  const solverRewards = runtime.solverReward(
    solutions.map(({ wellFormed, correct }) => ({ wellFormed, correct })),
  );
  solutions.forEach((solution, index) => {
    solution.reward = solverRewards[index] as number;
  });
}
