import { TRAINING_GRAPH_NAMES } from './names.js';
import type { TrainingGraphOperations } from './operations.js';

/** The graph inputs of one batch, besides the weights. */
export interface TrainingBatchInputs {
  readonly inputIds: string;
  readonly logitPositions: string;
  readonly targets: string;
  readonly mask: string;
  readonly oldLogProbs: string;
  readonly proximalFromCurrent: string;
  readonly behaviourLogProbs: string;
  readonly advantages: string;
  readonly temperature: string;
  readonly clipRatio: string;
  readonly entropyCoefficient: string;
  readonly importanceCap: string;
  readonly denominator: string;
}

/** What the objective keeps for the backward pass. */
export interface Objective {
  readonly logProbabilities: string;
  readonly probabilities: string;
  readonly oneHot: string;
  readonly entropy: string;
  /** r A w and clip(r) A w, per position (w the importance weight, 1 without the correction). */
  readonly unclipped: string;
  readonly clipped: string;
}

/**
 * Writes the PPO-clip token-level loss with the entropy bonus, `-w min(r A, clip(r) A) - c H` summed over
 * counted tokens and divided by the batch's token count, and its masked sums, as the graph's statistics outputs.
 * `r = exp(current - proximal)`, the proximal log probability being `old_log_probs` or, where
 * `proximal_from_current` is 1, the current one (a constant of the gradient). `w = min(exp(proximal -
 * behaviour), cap)` corrects for rollouts sampled from other weights (truncated importance sampling), or 1 when
 * `importance_cap` is 0. As `w >= 0`, `w min(r A, clip(r) A) = min(r A w, clip(r) A w)`: the weight scales the
 * advantage, and the backward pass reads the weighted terms.
 */
export function buildObjective(
  operations: TrainingGraphOperations,
  inputs: TrainingBatchInputs,
  logits: string,
): Objective {
  const { graph, config, node, i64, f32 } = operations;
  const { targets, mask, oldLogProbs, advantages, temperature, clipRatio, entropyCoefficient, denominator } =
    inputs;
  const { proximalFromCurrent, behaviourLogProbs, importanceCap } = inputs;
  const names = TRAINING_GRAPH_NAMES;
  const logProbabilities = node('LogSoftmax', [node('Div', [logits, temperature])], { axis: -1 });
  const probabilities = node('Exp', [logProbabilities]);
  const oneHot = node(
    'OneHot',
    [targets, graph.int64s([config.vocabularySize], { scalar: true }), graph.float32s([0, 1], [2])],
    {
      axis: -1,
    },
  );
  const current = node('ReduceSum', [node('Mul', [logProbabilities, oneHot]), i64([-1])], { keepdims: 0 });
  const entropy = node('Neg', [
    node('ReduceSum', [node('Mul', [probabilities, logProbabilities]), i64([-1])], { keepdims: 0 }),
  ]);
  const proximal = node('Where', [node('Greater', [proximalFromCurrent, f32(0.5)]), current, oldLogProbs]);
  const ratio = node('Exp', [node('Sub', [current, proximal])]);
  const correcting = node('Greater', [importanceCap, f32(0)]);
  const proximalOverBehaviour = node('Exp', [node('Sub', [proximal, behaviourLogProbs])]);
  const importanceWeight = node('Where', [
    correcting,
    node('Min', [proximalOverBehaviour, importanceCap]),
    f32(1),
  ]);
  const weighted = node('Mul', [advantages, importanceWeight]);
  const unclipped = node('Mul', [ratio, weighted]);
  const clipped = node('Mul', [
    node('Min', [node('Max', [ratio, node('Sub', [f32(1), clipRatio])]), node('Add', [f32(1), clipRatio])]),
    weighted,
  ]);
  const surrogate = node('Neg', [node('Min', [unclipped, clipped])]);
  const perToken = node('Sub', [surrogate, node('Mul', [entropy, entropyCoefficient])]);
  const maskedSum = (value: string) => node('ReduceSum', [node('Mul', [value, mask])], { keepdims: 0 });
  graph.output(
    node('Div', [maskedSum(perToken), node('Squeeze', [denominator, i64([0])])]),
    names.loss,
    'float32',
    [],
  );
  graph.output(maskedSum(surrogate), names.policyLossSum, 'float32', []);
  graph.output(maskedSum(entropy), names.entropySum, 'float32', []);
  graph.output(
    maskedSum(node('Cast', [node('Less', [clipped, unclipped])], { to: 1 })),
    names.clippedSum,
    'float32',
    [],
  );
  graph.output(maskedSum(node('Sub', [proximal, current])), names.klSum, 'float32', []);
  graph.output(maskedSum(importanceWeight), names.importanceWeightSum, 'float32', []);
  const truncated = node('And', [correcting, node('Greater', [proximalOverBehaviour, importanceCap])]);
  graph.output(maskedSum(node('Cast', [truncated], { to: 1 })), names.truncatedSum, 'float32', []);
  return { logProbabilities, probabilities, oneHot, entropy, unclipped, clipped };
}
