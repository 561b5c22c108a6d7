import type { PolicyModelV1, TrainSequence } from '../../spec/policy-model.js';
import type { Generation, Trained } from '../rollouts.js';
import type { TrainerSettings } from '../settings.js';

/** What the update needs. */
export interface UpdateInput {
  readonly policy: PolicyModelV1;
  readonly settings: Pick<TrainerSettings, 'miniBatchSize' | 'sampling' | 'loss'>;
}

/** A trained rollout as a sequence for the policy: its tokens, the generation's log probabilities, its advantage. */
export function trainSequence(rollout: Generation & Trained): TrainSequence {
  return {
    promptTokenIds: rollout.completion.promptTokenIds,
    completionTokenIds: rollout.completion.tokenIds,
    oldLogProbs: rollout.completion.logProbs,
    advantages: rollout.completion.tokenIds.map(() => rollout.advantage),
  };
}

/**
 * Phase 7: one policy-gradient update over the step's sequences (or several, in mini-batches), with the
 * generation log probabilities as the old policy's. Returns the mean loss, or `undefined` when there was
 * nothing to train on.
 *
 * A policy whose rollouts are `approximate` (sampled at a lower precision than it learns in) takes the PPO ratio
 * against the learner's log probabilities before the step's first update. The first update computes them in its
 * own forward pass; when there are several mini-batches, the later ones cannot, so the learner scores every
 * sequence once before the first update and each sequence carries them (`proximalLogProbs`).
 */
export async function update(
  input: UpdateInput,
  sequences: readonly TrainSequence[],
): Promise<number | undefined> {
  let trained = sequences.filter((sequence) => sequence.completionTokenIds.length > 0);
  if (trained.length === 0) return undefined;
  const size = input.settings.miniBatchSize ?? trained.length;
  if (input.policy.capabilities.rolloutLogProbs === 'approximate' && size < trained.length) {
    const { logProbs } = await input.policy.doComputeLogProbs({
      sequences: trained,
      temperature: input.settings.sampling.temperature,
    });
    trained = trained.map((sequence, index) => ({
      ...sequence,
      proximalLogProbs: logProbs[index] ?? [],
    }));
  }
  const losses: number[] = [];
  for (let start = 0; start < trained.length; start += size) {
    const result = await input.policy.doTrainStep({
      sequences: trained.slice(start, start + size),
      temperature: input.settings.sampling.temperature,
      loss: input.settings.loss,
    });
    losses.push(result.loss);
  }
  return losses.reduce((total, loss) => total + loss, 0) / losses.length;
}
