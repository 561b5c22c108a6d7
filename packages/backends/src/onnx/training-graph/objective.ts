import type { OnnxGraphBuilder } from '../graph-builder.js';
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
  /**
   * The loss (already divided by the batch's token count) and its masked sums, each a float `[]` value, under
   * the names of the graph outputs that carry them (`TRAINING_GRAPH_NAMES.loss`, `policyLossSum`...).
   */
  readonly statistics: ReadonlyMap<string, string>;
}

/** The names of the statistics outputs, in the order the graphs declare them. */
export const TRAINING_STATISTICS_OUTPUTS = [
  TRAINING_GRAPH_NAMES.loss,
  TRAINING_GRAPH_NAMES.policyLossSum,
  TRAINING_GRAPH_NAMES.entropySum,
  TRAINING_GRAPH_NAMES.clippedSum,
  TRAINING_GRAPH_NAMES.klSum,
  TRAINING_GRAPH_NAMES.importanceWeightSum,
  TRAINING_GRAPH_NAMES.truncatedSum,
] as const;

/**
 * Writes the PPO-clip token-level loss with the entropy bonus, `-w min(r A, clip(r) A) - c H` summed over
 * counted tokens and divided by the batch's token count, and its masked sums, as the graph's statistics outputs.
 * `r = exp(current - proximal)`, the proximal log probability being `old_log_probs` or, where
 * `proximal_from_current` is 1, the current one (a constant of the gradient). `w = min(exp(proximal -
 * behaviour), cap)` corrects for rollouts sampled from other weights (truncated importance sampling), or 1 when
 * `importance_cap` is 0. As `w >= 0`, `w min(r A, clip(r) A) = min(r A w, clip(r) A w)`: the weight scales the
 * advantage, and the backward pass reads the weighted terms. The statistics are returned, not declared as
 * outputs: the caller writes them out (`writeStatistics`) or adds them up first.
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
  const truncated = node('And', [correcting, node('Greater', [proximalOverBehaviour, importanceCap])]);
  const statistics = new Map<string, string>([
    [names.loss, node('Div', [maskedSum(perToken), node('Squeeze', [denominator, i64([0])])])],
    [names.policyLossSum, maskedSum(surrogate)],
    [names.entropySum, maskedSum(entropy)],
    [names.clippedSum, maskedSum(node('Cast', [node('Less', [clipped, unclipped])], { to: 1 }))],
    [names.klSum, maskedSum(node('Sub', [proximal, current]))],
    [names.importanceWeightSum, maskedSum(importanceWeight)],
    [names.truncatedSum, maskedSum(node('Cast', [truncated], { to: 1 }))],
  ]);
  return { logProbabilities, probabilities, oneHot, entropy, unclipped, clipped, statistics };
}

/** Declares an objective's statistics as the graph's outputs (float `[]` each). */
export function writeStatistics(graph: OnnxGraphBuilder, statistics: ReadonlyMap<string, string>): void {
  for (const name of TRAINING_STATISTICS_OUTPUTS) {
    const value = statistics.get(name);
    if (value === undefined) throw new Error(`no statistic ${name}`);
    graph.output(value, name, 'float32', []);
  }
}
