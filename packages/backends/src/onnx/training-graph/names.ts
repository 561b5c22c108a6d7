/**
 * Names of the training graph's inputs and outputs. Weights come in as inputs named after their Hugging Face
 * names, in the graph layout (see {@link graphLayoutShape}); each has a gradient output `grad.<name>`.
 */
export const TRAINING_GRAPH_NAMES = {
  inputIds: 'input_ids',
  /** The token each position predicts (the next one), int64 `[batch, length]`. */
  targets: 'targets',
  /** 1 where a position's prediction counts in the loss, float `[batch, length]`. */
  mask: 'loss_mask',
  oldLogProbs: 'old_log_probs',
  advantages: 'advantages',
  /** float `[1]` each. */
  temperature: 'temperature',
  clipRatio: 'clip_ratio',
  entropyCoefficient: 'entropy_coefficient',
  /** The number of counted tokens of the whole batch (the token mean's denominator), float `[1]`. */
  denominator: 'denominator',
  /** Outputs, float `[]`: the loss of this micro-batch (already divided by the denominator) and masked sums. */
  loss: 'loss',
  policyLossSum: 'policy_loss_sum',
  entropySum: 'entropy_sum',
  clippedSum: 'clipped_sum',
  klSum: 'kl_sum',
  weight: (name: string) => name,
  gradient: (name: string) => `grad.${name}`,
} as const;
