import type { AnswerFormat } from '../spec/answer-format.js';
import type { PolicyLossSettings } from '../spec/policy-model.js';
import type { OptimizerSettings, RewardSettings, SamplingSettings } from '../spec/settings.js';

/** The reference implementation's reward shaping. */
export const DEFAULT_REWARD_SETTINGS: RewardSettings = Object.freeze({
  wellFormedWrongReward: -0.5,
  malformedReward: -1,
  proposerRewardVariant: 'reference-code',
});

/** The paper's sampling for training rollouts, with a response length fit for small models. */
export const DEFAULT_SAMPLING_SETTINGS: SamplingSettings = Object.freeze({
  temperature: 1,
  topP: 1,
  maxTokens: 512,
});

/** PPO-clip 0.2, no entropy bonus, no KL term. */
export const DEFAULT_POLICY_LOSS_SETTINGS: PolicyLossSettings = Object.freeze({
  clipRatio: 0.2,
  entropyCoefficient: 0,
});

/** veRL's AdamW defaults with the paper's learning rate. */
export const DEFAULT_OPTIMIZER_SETTINGS: OptimizerSettings = Object.freeze({
  learningRate: 1e-6,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  weightDecay: 0.01,
  maxGradientNorm: 1,
});

/** The paper's R1 format: `<think>...</think><answer>...</answer>`. */
export const DEFAULT_ANSWER_FORMAT: AnswerFormat = Object.freeze({
  reasoningTag: 'think',
  answerTag: 'answer',
});
