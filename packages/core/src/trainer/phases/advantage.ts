import type { Rollout, TrainerRuntime } from '../runtime.js';

/** Phase 6: advantages from rewards, per (mode x role) group (TRR++) or per prompt (GRPO). */
export function advantage(runtime: TrainerRuntime, rollouts: Rollout[]): void {
  const advantages = runtime.estimator.compute(
    rollouts.map((rollout) => ({
      group: { mode: rollout.mode, role: rollout.role },
      promptId: rollout.promptId,
      reward: rollout.reward,
      tokenCount: rollout.completion.tokenIds.length,
    })),
  );
  rollouts.forEach((rollout, index) => {
    rollout.advantage = advantages[index] as number;
  });
}
