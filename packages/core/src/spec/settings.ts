/**
 * What the proposer earns for a valid task that its solver rollouts always or never solve.
 *
 * - `paper`: `0`, as in the paper's equations.
 * - `reference-code`: the well-formed-but-wrong reward (`-0.5` by default), as the reference implementation
 *   does (its issue #37). This pushes harder away from trivial and impossible tasks.
 */
export type ExtremeSolveRateReward = 'paper' | 'reference-code';

/** Every {@link ExtremeSolveRateReward}. */
export const EXTREME_SOLVE_RATE_REWARDS: readonly ExtremeSolveRateReward[] = ['paper', 'reference-code'];

/** Reward shaping shared by both roles. */
export interface RewardSettings {
  /** Reward of a well-formed completion that is wrong (solver) or invalid (proposer). Default `-0.5`. */
  readonly wellFormedWrongReward: number;
  /** Reward of a completion that breaks the answer format. Default `-1`. */
  readonly malformedReward: number;
  /** The proposer's reward when the solve rate is 0 or 1. Default `reference-code`. */
  readonly extremeSolveRateReward: ExtremeSolveRateReward;
}

/**
 * How advantages are computed from rewards.
 *
 * - `trr++`: Task-Relative REINFORCE++: one baseline and scale per (task mode x role) group, six in all.
 * - `grpo`: normalisation within the rollouts of the same prompt.
 */
export type AdvantageEstimatorName = 'trr++' | 'grpo';

/** Every {@link AdvantageEstimatorName}. */
export const ADVANTAGE_ESTIMATOR_NAMES: readonly AdvantageEstimatorName[] = ['trr++', 'grpo'];

/** How completions are sampled during training. */
export interface SamplingSettings {
  /** Default `1`, as in the paper. */
  readonly temperature: number;
  /** Default `1` (no nucleus truncation), as in the paper. */
  readonly topP: number;
  /** Most tokens per completion. Default `512`. */
  readonly maxTokens: number;
}

/** AdamW with global-norm gradient clipping, as in the reference implementation. */
export interface OptimizerSettings {
  /** Default `1e-6` (the paper's, for 3B-14B models; tiny models trained from scratch need far more). */
  readonly learningRate: number;
  /** Default `0.9`. */
  readonly beta1: number;
  /** Default `0.999`. */
  readonly beta2: number;
  /** Default `1e-8`. */
  readonly epsilon: number;
  /** Decoupled weight decay. Default `0.01`. */
  readonly weightDecay: number;
  /** Gradients are scaled down when their global norm exceeds this. Default `1`. */
  readonly maxGradientNorm: number;
}
