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
import type { TaskModeV1 } from '../spec/task-mode.js';

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

/**
 * The reference's complexity reward, which it ships with coefficient 0: a valid proposal that the solver
 * sometimes solves (a learnability rollout right, another wrong) earns its task's difficulty as its mode
 * measures it (`TaskModeV1.difficulty`: in the mini modes, the program's operators). The proposer is then paid
 * for harder tasks among those the solver can learn from, on top of learnability; a task the solver always or
 * never solves earns nothing from it, so proposing impossible programs does not pay. Proposals of a mode
 * without `difficulty`, invalid proposals and every solver answer get nothing. Named `complexity`; give it a
 * weight: `[...createDefaultRewards(settings), createComplexityReward(modes, 0.2)]`.
 */
export function createComplexityReward(modes: readonly TaskModeV1[], weight = 1): WeightedReward {
  assertNumberInRange('complexity weight', weight, { minimum: 0 });
  const byName = new Map(modes.map((mode) => [mode.name, mode]));
  return {
    name: 'complexity',
    weight,
    reward: (inputs) =>
      inputs.map((input) => {
        if (input.role !== 'propose' || input.outcome.status !== 'valid' || input.task === undefined)
          return undefined;
        const { solveRate } = input.outcome;
        if (solveRate <= 0 || solveRate >= 1) return undefined;
        return byName.get(input.mode)?.difficulty?.(input.task);
      }),
  };
}

/**
 * A diversity reward in the spirit of the reference's (which ships its diversity terms with coefficient 0): a
 * valid proposal earns the share of its mode's other valid proposals in the step whose task is of another kind
 * (`TaskModeV1.family`: in the mini modes, the function the program computes), from 0 when every other proposal
 * is of its kind to 1 when none is (and 1 for a mode's only valid proposal). Unlike learnability, it pays when
 * every task is always solved, or never: a proposer that keeps to a few kinds earns less from it, whatever the
 * solver does. Proposals of a mode without `family`, invalid or excluded proposals and every solver answer get
 * nothing. It pays for what the proposer chose only where the proposer writes the program (deduction,
 * abduction): an induction proposer is handed its program and chooses inputs, so there it measures how varied
 * the references were; pass the modes it should weigh. Named `diversity`; give it a weight:
 * `[...createDefaultRewards(settings), createDiversityReward(modes, 0.5)]`.
 */
export function createDiversityReward(modes: readonly TaskModeV1[], weight = 1): WeightedReward {
  assertNumberInRange('diversity weight', weight, { minimum: 0 });
  const byName = new Map(modes.map((mode) => [mode.name, mode]));
  return {
    name: 'diversity',
    weight,
    reward: (inputs) => {
      const kinds = inputs.map((input) => {
        if (input.role !== 'propose' || input.outcome.status !== 'valid' || input.task === undefined)
          return undefined;
        const kind = byName.get(input.mode)?.family?.(input.task);
        return kind === undefined ? undefined : `${input.mode}\u0000${kind}`;
      });
      const perKind = new Map<string, number>();
      const perMode = new Map<string, number>();
      kinds.forEach((kind, index) => {
        if (kind === undefined) return;
        perKind.set(kind, (perKind.get(kind) ?? 0) + 1);
        const mode = (inputs[index] as RewardInput).mode;
        perMode.set(mode, (perMode.get(mode) ?? 0) + 1);
      });
      return kinds.map((kind, index) => {
        if (kind === undefined) return undefined;
        const others = (perMode.get((inputs[index] as RewardInput).mode) ?? 1) - 1;
        return others === 0 ? 1 : 1 - ((perKind.get(kind) ?? 1) - 1) / others;
      });
    },
  };
}
