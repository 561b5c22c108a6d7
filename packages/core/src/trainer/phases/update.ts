import type { TrainSequence } from '../../spec/policy-model.js';
import type { Rollout, TrainerRuntime } from '../runtime.js';

/**
 * Phase 7: one policy-gradient update over every trained sequence (or several, in mini-batches), with the
 * generation log probabilities as the old policy's. Returns the mean loss, or `undefined` when there was
 * nothing to train on.
 */
export async function update(runtime: TrainerRuntime, rollouts: Rollout[]): Promise<number | undefined> {
  const sequences: TrainSequence[] = rollouts
    .filter((rollout) => rollout.completion.tokenIds.length > 0)
    .map((rollout) => ({
      promptTokenIds: rollout.completion.promptTokenIds,
      completionTokenIds: rollout.completion.tokenIds,
      oldLogProbs: rollout.completion.logProbs,
      advantages: rollout.completion.tokenIds.map(() => rollout.advantage),
    }));
  if (sequences.length === 0) return undefined;
  const size = runtime.settings.miniBatchSize ?? sequences.length;
  const losses: number[] = [];
  for (let start = 0; start < sequences.length; start += size) {
    const result = await runtime.policy.doTrainStep({
      sequences: sequences.slice(start, start + size),
      temperature: runtime.settings.sampling.temperature,
      loss: runtime.settings.loss,
    });
    losses.push(result.loss);
  }
  return losses.reduce((total, loss) => total + loss, 0) / losses.length;
}
