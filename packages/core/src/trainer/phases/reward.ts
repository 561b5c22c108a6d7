import { ConfigError } from '../../errors/errors.js';
import type { ProposalOutcome, RewardInput, WeightedReward } from '../../spec/reward.js';
import type { ScoredProposal, ScoredSolution, Trained } from '../rollouts.js';

/** A scored rollout of either role. */
export type Scored = ScoredProposal | ScoredSolution;

/** A rollout with its reward: the weighted sum of its parts, one per reward that applies to it. */
export type Rewarded<T extends Scored> = T & Omit<Trained, 'advantage'>;

function outcomeOf(proposal: ScoredProposal): ProposalOutcome {
  if (proposal.status === 'valid') return { status: 'valid', solveRate: proposal.solveRate ?? 0 };
  return { status: proposal.status === 'malformed' ? 'malformed' : 'invalid' };
}

function inputOf(rollout: Scored): RewardInput {
  const common = {
    mode: rollout.mode,
    prompt: rollout.prompt,
    completion: rollout.completion.text,
    tokenCount: rollout.completion.tokenIds.length,
  };
  return rollout.role === 'propose'
    ? { ...common, role: 'propose', outcome: outcomeOf(rollout), task: rollout.task }
    : {
        ...common,
        role: 'solve',
        outcome: { wellFormed: rollout.wellFormed, correct: rollout.correct },
        task: rollout.task,
      };
}

/**
 * Phase 5: every reward of the trainer over the step's rollouts (excluded proposals are not given: they get no
 * reward), summed with the rewards' weights. A reward that returns the wrong number of values, or a value that
 * is not a finite number, is a `ConfigError` naming it.
 */
export async function reward<T extends Scored>(
  rewards: readonly WeightedReward[],
  rollouts: readonly T[],
): Promise<Rewarded<T>[]> {
  const inputs = rollouts.map(inputOf);
  const totals = rollouts.map(() => 0);
  const parts = rollouts.map((): Record<string, number> => ({}));
  for (const { name, reward: rewardOf, weight = 1 } of rewards) {
    const values = await rewardOf(inputs);
    if (values.length !== inputs.length) {
      throw new ConfigError(
        `The reward ${name} gave ${values.length} values for ${inputs.length} rollouts.`,
        {
          field: 'rewardFunctions',
        },
      );
    }
    values.forEach((value, index) => {
      if (value === undefined) return;
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new ConfigError(`The reward ${name} gave ${String(value)}, not a finite number.`, {
          field: 'rewardFunctions',
        });
      }
      totals[index] = (totals[index] as number) + weight * value;
      (parts[index] as Record<string, number>)[name] = value;
    });
  }
  return rollouts.map((rollout, index) => ({
    ...rollout,
    reward: totals[index] as number,
    rewardParts: parts[index] as Record<string, number>,
  }));
}
