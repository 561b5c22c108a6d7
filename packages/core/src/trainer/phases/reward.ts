import type { ProposalRollout, SolveRollout, TrainerRuntime } from '../runtime.js';

/** Phase 5: the proposer's learnability reward and the solver's correctness reward, both format-shaped. */
export function reward(
  runtime: TrainerRuntime,
  proposals: ProposalRollout[],
  solutions: SolveRollout[],
): void {
  const proposerRewards = runtime.proposerReward(
    proposals.map((proposal) =>
      proposal.status === 'valid'
        ? { status: 'valid' as const, solveRate: proposal.solveRate ?? 0 }
        : { status: proposal.status },
    ),
  );
  proposals.forEach((proposal, index) => {
    proposal.reward = proposerRewards[index] as number;
  });
  const solverRewards = runtime.solverReward(
    solutions.map(({ wellFormed, correct }) => ({ wellFormed, correct })),
  );
  solutions.forEach((solution, index) => {
    solution.reward = solverRewards[index] as number;
  });
}
