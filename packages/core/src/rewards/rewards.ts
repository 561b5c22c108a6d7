import { DEFAULT_REWARD_SETTINGS } from '../settings/defaults.js';
import { assertNumberInRange, assertOneOf } from '../settings/validate.js';
import type {
  ProposerRewardFn,
  RewardInput,
  SolverRewardFn,
  TrainerRewardFn,
  WeightedReward,
} from '../spec/reward.js';
import { PROPOSER_REWARD_VARIANTS, type RewardSettings } from '../spec/settings.js';

function checked(settings: Partial<RewardSettings>): RewardSettings {
  const merged = { ...DEFAULT_REWARD_SETTINGS, ...settings };
  return {
    wellFormedWrongReward: assertNumberInRange(
      'rewards.wellFormedWrongReward',
      merged.wellFormedWrongReward,
      {},
    ),
    malformedReward: assertNumberInRange('rewards.malformedReward', merged.malformedReward, {}),
    proposerRewardVariant: assertOneOf(
      'rewards.proposerRewardVariant',
      merged.proposerRewardVariant,
      PROPOSER_REWARD_VARIANTS,
    ),
  };
}

/**
 * The proposer's reward: learnability `1 - solveRate` for a valid task the solver sometimes solves, and the
 * format and validity penalties otherwise (see `ProposerRewardVariant` for the two readings).
 */
export function createProposerReward(settings: Partial<RewardSettings> = {}): ProposerRewardFn {
  const { wellFormedWrongReward, malformedReward, proposerRewardVariant } = checked(settings);
  const paper = proposerRewardVariant === 'paper';
  return (outcomes) =>
    outcomes.map((outcome) => {
      if (outcome.status === 'malformed') return malformedReward;
      if (outcome.status === 'invalid') return paper ? wellFormedWrongReward : malformedReward;
      const solveRate = assertNumberInRange('solveRate', outcome.solveRate, { minimum: 0, maximum: 1 });
      if (solveRate > 0 && solveRate < 1) return 1 - solveRate;
      return paper ? 0 : wellFormedWrongReward;
    });
}

/** The solver's reward: `1` when correct and well formed, the penalties otherwise. */
export function createSolverReward(settings: Partial<RewardSettings> = {}): SolverRewardFn {
  const { wellFormedWrongReward, malformedReward } = checked(settings);
  return (outcomes) =>
    outcomes.map((outcome) =>
      !outcome.wellFormed ? malformedReward : outcome.correct ? 1 : wellFormedWrongReward,
    );
}

/**
 * A role's reward over outcomes as a trainer reward: the function sees the outcomes of that role's rollouts
 * (in one call) and leaves the other role's undefined.
 */
function forRole(role: RewardInput['role'], reward: (outcomes: never[]) => number[]): TrainerRewardFn {
  return (inputs) => {
    const mine = inputs.filter((input) => input.role === role);
    // The outcomes of one role: the ones `reward` is written for.
    const values = reward(mine.map((input) => input.outcome) as never[]);
    let next = 0;
    return inputs.map((input) => (input.role === role ? values[next++] : undefined));
  };
}

/** The proposer's learnability reward ({@link createProposerReward}), named `learnability`. */
export function createLearnabilityReward(settings: Partial<RewardSettings> = {}): WeightedReward {
  return { name: 'learnability', reward: forRole('propose', createProposerReward(settings)) };
}

/** The solver's correctness reward ({@link createSolverReward}), named `correctness`. */
export function createCorrectnessReward(settings: Partial<RewardSettings> = {}): WeightedReward {
  return { name: 'correctness', reward: forRole('solve', createSolverReward(settings)) };
}

/** The trainer's default rewards: learnability for proposers and correctness for solvers, with weight 1. */
export function createDefaultRewards(settings: Partial<RewardSettings> = {}): WeightedReward[] {
  return [createLearnabilityReward(settings), createCorrectnessReward(settings)];
}
