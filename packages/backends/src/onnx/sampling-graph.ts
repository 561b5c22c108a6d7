import type { OnnxGraphBuilder } from './graph-builder.js';

/** Names of the sampling part of the SDK's rollout graphs (see {@link writeSampling}). */
export const SAMPLING_GRAPH_NAMES = {
  /** float64 `[batch]`: each row's uniform draw in [0, 1) for the token this run chooses. */
  uniforms: 'sampling_uniforms',
  /** float32 `[1]`: 1 / temperature. */
  inverseTemperature: 'inverse_temperature',
  /** int64 `[batch]`: the token drawn from `softmax(logits / temperature)` at each row's last position. */
  tokens: 'sampled_token_ids',
  /** float32 `[batch]`: the drawn token's natural-log probability under that softmax. */
  logProbs: 'sampled_log_probs',
  /** int64 `[batch]`: the most probable token of each row's last position (the lowest id wins a tie). */
  greedyTokens: 'greedy_token_ids',
  /** float32 `[batch]`: its log probability under `softmax(logits / temperature)`. */
  greedyLogProbs: 'greedy_log_probs',
} as const;

// The most negative float32: the padding of a vocabulary that no block size divides, below every real logit.
const LOWEST = -3.4028234663852886e38;
// Blocks of at most this many tokens; with no divisor of the vocabulary in [MIN, MAX], it is padded to blocks of PADDED.
const MAX_BLOCK = 2048;
const MIN_BLOCK = 64;
const PADDED_BLOCK = 1024;

/**
 * How {@link writeSampling} cuts a vocabulary into blocks: the largest divisor of its size in [64, 2048] (no
 * padding), a single block for a vocabulary of at most 2048 tokens, or else blocks of 1024 with the last one
 * padded.
 */
export function samplingBlocks(vocabularySize: number): { size: number; count: number; padding: number } {
  if (vocabularySize <= MAX_BLOCK) return { size: vocabularySize, count: 1, padding: 0 };
  for (let size = MAX_BLOCK; size >= MIN_BLOCK; size -= 1)
    if (vocabularySize % size === 0) return { size, count: vocabularySize / size, padding: 0 };
  const count = Math.ceil(vocabularySize / PADDED_BLOCK);
  return { size: PADDED_BLOCK, count, padding: count * PADDED_BLOCK - vocabularySize };
}

/**
 * Adds token sampling to a decoder graph, on the last position of `logits` (`[batch, kept, vocabulary]`): the
 * inputs and outputs of {@link SAMPLING_GRAPH_NAMES}. It draws as the SDK's JavaScript sampler does with nucleus
 * 1 (`drawToken` with `topP` 1 and no constraint): the first token, in id order, at which the cumulative
 * probability exceeds the row's uniform times the total, and the argmax for greedy decoding. Without it, a
 * decode step copied the logits out of onnxruntime and exponentiated every entry in JavaScript: for 8 rows, about
 * 4 ms of a 49k-token vocabulary and 13 ms of a 152k one, against under half a millisecond here.
 *
 * The cumulative sum runs in double precision and in two levels, so that its error stays near float32's on one
 * probability rather than growing with the vocabulary: each block's total, their running sum to find the block,
 * then the running sum within that block (the rest of the threshold rescaled to it). Neither level goes past the
 * last token with any probability. The probabilities are float32 (onnxruntime's softmax), so a draw can differ
 * from the JavaScript sampler's, which exponentiates in double precision, only when the uniform falls within
 * about 1e-7 of a boundary between two tokens; the log probabilities agree within about 1e-5.
 */
export function writeSampling(graph: OnnxGraphBuilder, logits: string, vocabularySize: number): void {
  const names = SAMPLING_GRAPH_NAMES;
  const i64 = (values: readonly number[]) => graph.int64s(values);
  const lastAxis = graph.int64s([-1], { scalar: true });
  const uniforms = graph.input(names.uniforms, 'float64', ['batch']);
  const inverseTemperature = graph.input(names.inverseTemperature, 'float32', [1]);
  // [batch, vocabulary]: the last kept position of each row.
  const row = graph.node('Squeeze', [
    graph.node('Slice', [logits, i64([-1]), i64([Number.MAX_SAFE_INTEGER]), i64([1])]),
    i64([1]),
  ]);
  const probabilities = graph.node('Softmax', [graph.node('Mul', [row, inverseTemperature])], { axis: -1 });
  const { size, count, padding } = samplingBlocks(vocabularySize);
  // [batch, blocks, size]
  const blocked = (value: string, fill: number) =>
    graph.node('Reshape', [
      padding === 0 ? value : graph.node('Pad', [value, i64([0, 0, 0, padding]), graph.float32s([fill])]),
      i64([0, count, size]),
    ]);
  // The block `index` ([batch, 1]) of each row of `blocks`, as [batch, size].
  const blockOf = (blocks: string, index: string) =>
    graph.node('Squeeze', [
      graph.node(
        'GatherElements',
        [blocks, graph.node('Expand', [graph.node('Unsqueeze', [index, i64([-1])]), i64([1, 1, size])])],
        { axis: 1 },
      ),
      i64([1]),
    ]);
  const countWhere = (comparison: 'LessOrEqual' | 'Less', values: string, bound: string) =>
    graph.node(
      'ReduceSum',
      [graph.node('Cast', [graph.node(comparison, [values, bound])], { to: 7 }), i64([-1])],
      { keepdims: 1 },
    );
  // The first entry of each row of a non-decreasing `cumulative` that exceeds `threshold` ([batch, 1]): how many
  // are at most the threshold, but no further than the first entry that reaches the row's total, the last with
  // any probability (where rounding puts the threshold at or past the total).
  const firstAbove = (cumulative: string, threshold: string, total: string) =>
    graph.node('Min', [
      countWhere('LessOrEqual', cumulative, threshold),
      countWhere('Less', cumulative, total),
    ]);
  const lastOf = (value: string) =>
    graph.node('Slice', [value, i64([-1]), i64([Number.MAX_SAFE_INTEGER]), i64([-1])]);
  const toDouble = (value: string) => graph.node('Cast', [value], { to: 11 });
  const probabilityBlocks = blocked(probabilities, 0);
  const blockTotals = toDouble(graph.node('ReduceSum', [probabilityBlocks, i64([-1])], { keepdims: 0 }));
  const blockCumulative = graph.node('CumSum', [blockTotals, lastAxis]);
  const total = lastOf(blockCumulative);
  const threshold = graph.node('Mul', [graph.node('Unsqueeze', [uniforms, i64([-1])]), total]);
  const block = firstAbove(blockCumulative, threshold, total);
  const blockTotal = graph.node('GatherElements', [blockTotals, block], { axis: -1 });
  const beforeBlock = graph.node('Sub', [
    graph.node('GatherElements', [blockCumulative, block], { axis: -1 }),
    blockTotal,
  ]);
  // Within the block, the running sum of its probabilities in double precision. The block totals were summed in
  // float32, so the rest of the threshold is rescaled from the block's float32 total to this sum's: unscaled, a
  // threshold between the two would pass no entry, and the draw would fall on the block's last token whatever
  // its probability.
  const withinCumulative = graph.node('CumSum', [toDouble(blockOf(probabilityBlocks, block)), lastAxis]);
  const withinTotal = lastOf(withinCumulative);
  const within = firstAbove(
    withinCumulative,
    graph.node('Mul', [
      graph.node('Sub', [threshold, beforeBlock]),
      graph.node('Div', [withinTotal, blockTotal]),
    ]),
    withinTotal,
  );
  const drawn = graph.node('Min', [
    graph.node('Add', [graph.node('Mul', [block, i64([size])]), within]),
    i64([vocabularySize - 1]),
  ]);
  // Greedy: the block holding the first largest logit, then its first largest logit (the logits themselves, so
  // that scaling by the temperature cannot make two of them equal).
  const logitBlocks = blocked(row, LOWEST);
  const bestBlock = graph.node(
    'ArgMax',
    [graph.node('ReduceMax', [logitBlocks], { axes: [-1], keepdims: 0 })],
    { axis: -1, keepdims: 1 },
  );
  const greedy = graph.node('Add', [
    graph.node('Mul', [bestBlock, i64([size])]),
    graph.node('ArgMax', [blockOf(logitBlocks, bestBlock)], { axis: -1, keepdims: 1 }),
  ]);
  const flat = (value: string) => graph.node('Squeeze', [value, i64([-1])]);
  const logProbability = (token: string) =>
    flat(graph.node('Log', [graph.node('GatherElements', [probabilities, token], { axis: -1 })]));
  graph.output(flat(drawn), names.tokens, 'int64', ['batch']);
  graph.output(logProbability(drawn), names.logProbs, 'float32', ['batch']);
  graph.output(flat(greedy), names.greedyTokens, 'int64', ['batch']);
  graph.output(logProbability(greedy), names.greedyLogProbs, 'float32', ['batch']);
}
