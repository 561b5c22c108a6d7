import { assertNumberInRange, assertOneOf } from '../settings/validate.js';
import type { AdvantageEstimatorV1, AdvantageSample } from '../spec/advantage-estimator.js';
import { ADVANTAGE_ESTIMATOR_NAMES, type AdvantageEstimatorName } from '../spec/settings.js';

/**
 * How TRR++ weights samples when it computes a group's mean and variance.
 *
 * - `sequence` (default): every sequence counts once, as the paper's equation reads.
 * - `token`: every token counts once, as the reference code's `masked_whiten` does (long responses weigh more).
 */
export type TrrWeighting = 'sequence' | 'token';

/** Settings of the advantage estimators. */
export interface AdvantageSettings {
  /** TRR++ weighting. Default `sequence`. */
  readonly weighting?: TrrWeighting;
  /** Added to the variance before the square root. Default `1e-8` (veRL's). */
  readonly epsilon?: number;
  /**
   * Multiplies every proposal's advantage after normalisation (both estimators). Default `1`. Under the
   * token-mean loss a proposal's tokens then weigh this many answer tokens: the weight of the proposers' updates
   * against the solvers', whose answers outnumber proposals (16 answers a solve task in the mini runs).
   */
  readonly proposerWeight?: number;
}

function normalise(
  samples: readonly AdvantageSample[],
  keyOf: (sample: AdvantageSample) => string,
  tokenWeighted: boolean,
  epsilon: number,
): number[] {
  const groups = new Map<string, number[]>();
  samples.forEach((sample, index) => {
    const key = keyOf(sample);
    const members = groups.get(key);
    if (members === undefined) groups.set(key, [index]);
    else members.push(index);
  });
  const advantages = new Array<number>(samples.length).fill(0);
  for (const members of groups.values()) {
    let weightSum = 0;
    let mean = 0;
    for (const index of members) {
      const sample = samples[index] as AdvantageSample;
      const weight = tokenWeighted ? sample.tokenCount : 1;
      weightSum += weight;
      mean += weight * sample.reward;
    }
    if (weightSum === 0) continue;
    mean /= weightSum;
    let variance = 0;
    for (const index of members) {
      const sample = samples[index] as AdvantageSample;
      variance += (tokenWeighted ? sample.tokenCount : 1) * (sample.reward - mean) ** 2;
    }
    variance /= weightSum;
    const scale = 1 / Math.sqrt(variance + epsilon);
    for (const index of members) {
      const deviation = (samples[index] as AdvantageSample).reward - mean;
      // A group whose rewards are all equal carries no signal: exactly zero, not rounding noise.
      advantages[index] = variance === 0 ? 0 : deviation * scale;
    }
  }
  return advantages;
}

/** The proposer weight of the settings, validated. */
function proposerWeightOf(settings: AdvantageSettings): number {
  return assertNumberInRange('advantages.proposerWeight', settings.proposerWeight ?? 1, { minimum: 0 });
}

/** Multiplies the advantages of proposals by `weight` (in place) and returns them. */
function weighProposals(samples: readonly AdvantageSample[], advantages: number[], weight: number): number[] {
  if (weight === 1) return advantages;
  samples.forEach((sample, index) => {
    if (sample.group.role === 'propose') advantages[index] = (advantages[index] as number) * weight;
  });
  return advantages;
}

/**
 * Task-Relative REINFORCE++: each (task mode x role) group, six in the paper, is normalised by its own mean
 * and standard deviation.
 */
export function createTrrAdvantageEstimator(settings: AdvantageSettings = {}): AdvantageEstimatorV1 {
  const tokenWeighted =
    assertOneOf('advantages.weighting', settings.weighting ?? 'sequence', ['sequence', 'token'] as const) ===
    'token';
  const epsilon = assertNumberInRange('advantages.epsilon', settings.epsilon ?? 1e-8, { minimum: 0 });
  const proposerWeight = proposerWeightOf(settings);
  return {
    specificationVersion: 'v1',
    estimatorId: 'trr++',
    compute: (samples) =>
      weighProposals(
        samples,
        normalise(
          samples,
          (sample) => `${sample.group.mode}\u0000${sample.group.role}`,
          tokenWeighted,
          epsilon,
        ),
        proposerWeight,
      ),
  };
}

/**
 * GRPO-style: the rollouts of the same prompt (within one mode and role) are normalised together. A prompt with
 * a single rollout, such as a proposal, has nothing to be compared with inside its own group (its advantage
 * would always be 0, and the proposer would never learn): those are normalised together per (mode x role)
 * group, as TRR++ does.
 */
export function createGrpoAdvantageEstimator(settings: AdvantageSettings = {}): AdvantageEstimatorV1 {
  const epsilon = assertNumberInRange('advantages.epsilon', settings.epsilon ?? 1e-8, { minimum: 0 });
  const proposerWeight = proposerWeightOf(settings);
  const roleKey = (sample: AdvantageSample) => `${sample.group.mode}\u0000${sample.group.role}`;
  const promptKey = (sample: AdvantageSample) => `${roleKey(sample)}\u0000${sample.promptId}`;
  return {
    specificationVersion: 'v1',
    estimatorId: 'grpo',
    compute(samples) {
      const sizes = new Map<string, number>();
      for (const sample of samples) sizes.set(promptKey(sample), (sizes.get(promptKey(sample)) ?? 0) + 1);
      const advantages = normalise(
        samples,
        (sample) =>
          (sizes.get(promptKey(sample)) ?? 0) > 1 ? promptKey(sample) : `${roleKey(sample)}\u0000single`,
        false,
        epsilon,
      );
      return weighProposals(samples, advantages, proposerWeight);
    },
  };
}

/** The estimator of a name, with a ConfigError listing the names for an unknown one. */
export function createAdvantageEstimator(
  name: AdvantageEstimatorName,
  settings: AdvantageSettings = {},
): AdvantageEstimatorV1 {
  return assertOneOf('advantages.estimator', name, ADVANTAGE_ESTIMATOR_NAMES) === 'trr++'
    ? createTrrAdvantageEstimator(settings)
    : createGrpoAdvantageEstimator(settings);
}
