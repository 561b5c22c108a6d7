import type { PolicyModelV1, TrainSequence, TrainStepResult } from '../../spec/policy-model.js';
import type { UpdateStatistics } from '../../spec/trainer-event.js';
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

/** What the update phase returns: the mean loss of its updates and their statistics. */
export interface UpdateOutcome {
  readonly loss: number;
  readonly statistics: UpdateStatistics;
}

/**
 * The statistics of several updates as one: per-token statistics weighted by each update's tokens, the largest
 * gradient norm, the tokens summed. The importance-weight statistics only when every update reported them.
 */
export function combineUpdateStatistics(results: readonly TrainStepResult[]): UpdateStatistics {
  const tokens = results.reduce((total, result) => total + result.tokenCount, 0);
  const mean = (value: (result: TrainStepResult) => number) =>
    tokens === 0
      ? results.reduce((total, result) => total + value(result), 0) / Math.max(1, results.length)
      : results.reduce((total, result) => total + value(result) * result.tokenCount, 0) / tokens;
  const weighted = results.every(
    (result) => result.importanceWeightMean !== undefined && result.truncatedFraction !== undefined,
  );
  return {
    policyLoss: mean((result) => result.policyLoss),
    entropy: mean((result) => result.entropy),
    clipFraction: mean((result) => result.clipFraction),
    approximateKl: mean((result) => result.approximateKl),
    gradientNorm: Math.max(0, ...results.map((result) => result.gradientNorm)),
    ...(weighted && results.length > 0
      ? {
          importanceWeightMean: mean((result) => result.importanceWeightMean as number),
          truncatedFraction: mean((result) => result.truncatedFraction as number),
        }
      : {}),
    tokenCount: tokens,
  };
}

/**
 * Phase 7: one policy-gradient update over the step's sequences (or several, in mini-batches), with the
 * generation log probabilities as the old policy's. Returns the mean loss and the updates' statistics, or
 * `undefined` when there was nothing to train on.
 *
 * A policy whose rollouts are `approximate` (sampled at a lower precision than it learns in) takes the PPO ratio
 * against the learner's log probabilities before the step's first update. The first update computes them in its
 * own forward pass; when there are several mini-batches, the later ones cannot, so the learner scores every
 * sequence once before the first update and each sequence carries them (`proximalLogProbs`).
 */
export async function update(
  input: UpdateInput,
  sequences: readonly TrainSequence[],
): Promise<UpdateOutcome | undefined> {
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
  const results: TrainStepResult[] = [];
  for (let start = 0; start < trained.length; start += size) {
    results.push(
      await input.policy.doTrainStep({
        sequences: trained.slice(start, start + size),
        temperature: input.settings.sampling.temperature,
        loss: input.settings.loss,
      }),
    );
  }
  return {
    loss: results.reduce((total, result) => total + result.loss, 0) / results.length,
    statistics: combineUpdateStatistics(results),
  };
}
