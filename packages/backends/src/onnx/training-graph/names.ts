/**
 * Names of the training graph's inputs and outputs. Weights come in as inputs named after their Hugging Face
 * names, in the graph layout (see {@link graphLayoutShape}); each has a gradient output `grad.<name>`.
 */
export const TRAINING_GRAPH_NAMES = {
  inputIds: 'input_ids',
  /** Packed graphs only: each token's position in its own sequence, int64 `[batch, length]`. */
  positionIds: 'position_ids',
  /** Packed graphs only: 0 on a row's prompt, `k` on its `k`-th completion, int64 `[batch, length]`. */
  segmentIds: 'segment_ids',
  /**
   * Graphs with `microBatchLoop` only: int64 `[micro-batches, 6]`, one row per micro-batch run in the graph's
   * loop: its rows and length, then where its tokens start and end in the flat `input_ids`, `position_ids` and
   * `segment_ids` (int64 `[tokens]`, each micro-batch's `rows x length` grid in row order, one after another),
   * then where its counted positions start and end in `logit_positions`, `targets` and the other per-counted
   * inputs. A micro-batch's `logit_positions` index its own grid.
   */
  microBatches: 'micro_batches',
  /**
   * The positions whose predictions the loss reads (a completion's tokens), int64 `[counted]`, as indices into
   * the `batch x length` positions in row order. Only these positions get logits: a prompt's positions cost
   * the decoder layers, not the vocabulary-wide head, softmax and their gradients.
   */
  logitPositions: 'logit_positions',
  /** The token each counted position predicts (the next one), int64 `[1, counted]`. */
  targets: 'targets',
  /**
   * The weight of each counted position's prediction in the loss (1, or the number of identical sequences it
   * stands for; 0 leaves it out), float `[1, counted]`. The old log probabilities and advantages are laid out
   * the same way.
   */
  mask: 'loss_mask',
  /** The PPO ratio's reference: the learner's log probabilities before the update (the proximal policy's). */
  oldLogProbs: 'old_log_probs',
  /**
   * 1 where the reference is the learner's current log probability (the first update after the generation, whose
   * weights are the proximal policy's; `old_log_probs` is then ignored), 0 where `old_log_probs` holds it.
   */
  proximalFromCurrent: 'proximal_from_current',
  /** The log probabilities the rollouts were sampled with (an int8 session's), for the importance weight. */
  behaviourLogProbs: 'behaviour_log_probs',
  advantages: 'advantages',
  /** float `[1]` each. */
  temperature: 'temperature',
  clipRatio: 'clip_ratio',
  entropyCoefficient: 'entropy_coefficient',
  /**
   * Truncated importance sampling: each token's advantage is weighed by `min(exp(proximal - behaviour), cap)`.
   * 0 turns the weight off (every weight 1).
   */
  importanceCap: 'importance_cap',
  /** The number of counted tokens of the whole batch (the token mean's denominator), float `[1]`. */
  denominator: 'denominator',
  /** Outputs, float `[]`: the loss of this micro-batch (already divided by the denominator) and masked sums. */
  loss: 'loss',
  policyLossSum: 'policy_loss_sum',
  entropySum: 'entropy_sum',
  clippedSum: 'clipped_sum',
  klSum: 'kl_sum',
  /** The masked sums of the importance weights and of the tokens whose weight was truncated to the cap. */
  importanceWeightSum: 'importance_weight_sum',
  truncatedSum: 'truncated_sum',
  weight: (name: string) => name,
  gradient: (name: string) => `grad.${name}`,
  /** With `accumulate`: the running sum a weight's gradient is added to (the output `grad.<name>` is the sum). */
  gradientSum: (name: string) => `grad_in.${name}`,
} as const;
