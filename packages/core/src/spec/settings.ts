/**
 * The two readings of the proposer's reward, where the paper and its reference code disagree.
 *
 * - `paper`: a valid task that the solver rollouts always or never solve earns `0`; a well-formed proposal
 *   that is not a valid task earns the well-formed-but-wrong reward (`-0.5`).
 * - `reference-code`: the reference implementation's: always or never solved earns `-0.5` (its issue #37), and
 *   an invalid proposal earns the malformed reward (`-1`), like a badly formatted one. This pushes harder away
 *   from trivial, impossible and broken tasks.
 */
export type ProposerRewardVariant = 'paper' | 'reference-code';

/** Every {@link ProposerRewardVariant}. */
export const PROPOSER_REWARD_VARIANTS: readonly ProposerRewardVariant[] = ['paper', 'reference-code'];

/** Reward shaping shared by both roles. */
export interface RewardSettings {
  /** Reward of a well-formed completion that is wrong (solver) or invalid (proposer). Default `-0.5`. */
  readonly wellFormedWrongReward: number;
  /** Reward of a completion that breaks the answer format. Default `-1`. */
  readonly malformedReward: number;
  /** Which reading of the proposer's reward to use. Default `reference-code`. */
  readonly proposerRewardVariant: ProposerRewardVariant;
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
