import type { RewardGroup } from './reward.js';

/** One rewarded sequence, as the advantage estimator sees it. */
export interface AdvantageSample {
  /** The (mode x role) group the sequence belongs to. */
  readonly group: RewardGroup;
  /**
   * Identifies the prompt the sequence answers. Sequences sharing a prompt form a group for per-prompt
   * normalisation (GRPO style); TRR++ ignores it.
   */
  readonly promptId: string;
  /** The scalar reward of the sequence. */
  readonly reward: number;
  /** Number of completion tokens that count in the loss (for token-weighted statistics). */
  readonly tokenCount: number;
}

/**
 * Turns rewards into advantages, one per sample, in order. The trainer repeats each advantage over the
 * sequence's tokens. A group whose rewards are all equal gets advantage 0 for every sample; estimators never
 * return `NaN`.
 */
export interface AdvantageEstimatorV1 {
  readonly specificationVersion: 'v1';
  /** Names the estimator, e.g. `trr++` or `grpo`. */
  readonly estimatorId: string;
  compute(samples: readonly AdvantageSample[]): number[];
}
