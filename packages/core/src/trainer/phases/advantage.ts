import type { AdvantageEstimatorV1 } from '../../spec/advantage-estimator.js';
import type { Generation, Trained } from '../rollouts.js';

/** Phase 6: advantages from rewards, per (mode x role) group (TRR++) or per prompt (GRPO). */
export function advantage<T extends Generation & Omit<Trained, 'advantage'>>(
  estimator: AdvantageEstimatorV1,
  rollouts: readonly T[],
): (T & Trained)[] {
  const advantages = estimator.compute(
    rollouts.map((rollout) => ({
      group: { mode: rollout.mode, role: rollout.role },
      promptId: rollout.promptId,
      reward: rollout.reward,
      tokenCount: rollout.completion.tokenIds.length,
    })),
  );
  return rollouts.map((rollout, index) => ({ ...rollout, advantage: advantages[index] as number }));
}
