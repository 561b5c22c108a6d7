import type { TrainingGraphOperations } from './operations.js';

/**
 * The position-dependent pieces of attention: over right-padded sequences whose positions start at 0, or over
 * packed rows (see {@link PackedPositionInputs}).
 */
export interface PositionTables {
  /** Rotary embedding of [B, heads, T, D] heads (rotate-half). */
  rotate(value: string): string;
  /** Its transpose, for the backward pass. */
  rotateBackward(gradient: string): string;
  /**
   * The additive attention bias: 0 where a query sees a key, the most negative float elsewhere. Causal `[T, T]`
   * for plain rows; `[B, 1, T, T]` for packed rows.
   */
  readonly causalBias: string;
}

/**
 * The inputs of a packed training graph. A packed row holds one prompt and, after it, several completions of
 * that prompt, each seeing the prompt and its own earlier tokens only: `position_ids` (int64 `[B, T]`) gives
 * each token its position in its own sequence (a completion's first token sits right after the prompt), and
 * `segment_ids` (int64 `[B, T]`) is 0 on the prompt and `k` on the row's `k`-th completion. A query sees the
 * earlier keys of segment 0 and of its own segment.
 */
export interface PackedPositionInputs {
  readonly positionIds: string;
  readonly segmentIds: string;
}

const MOST_NEGATIVE = -3.4028234663852886e38;

/**
 * Writes the rotary angles and the attention bias: for positions 0..T-1 of `inputIds` under causal attention,
 * or, with `packed`, from the rows' position and segment ids.
 */
export function buildPositionTables(
  operations: TrainingGraphOperations,
  inputIds: string,
  packed?: PackedPositionInputs,
): PositionTables {
  const { graph, config, node, i64, f32 } = operations;
  const { headDimension } = config;
  const half = headDimension / 2;
  const length = node('Squeeze', [
    node('Slice', [node('Shape', [inputIds]), i64([1]), i64([2]), i64([0])]),
    i64([0]),
  ]);
  const inverse = Array.from(
    { length: half },
    (_, index) => config.ropeTheta ** (-(2 * index) / headDimension),
  );
  // Rotary angles: [1, 1, T, D] for positions 0..T-1, [B, 1, T, D] from packed rows' position ids.
  const positions = node(
    'Cast',
    [
      packed?.positionIds ??
        node('Range', [graph.int64s([0], { scalar: true }), length, graph.int64s([1], { scalar: true })]),
    ],
    { to: 1 },
  );
  const frequencies = node('Mul', [
    node('Unsqueeze', [positions, i64([packed === undefined ? 1 : 2])]),
    graph.float32s(inverse, [half]),
  ]);
  const angles = node('Concat', [frequencies, frequencies], { axis: -1 });
  const tableAxes = packed === undefined ? [0, 1] : [1];
  const cosine = node('Unsqueeze', [node('Cos', [angles]), i64(tableAxes)]);
  const sine = node('Unsqueeze', [node('Sin', [angles]), i64(tableAxes)]);
  const halves = (value: string) => [
    node('Slice', [value, i64([0]), i64([half]), i64([3])]),
    node('Slice', [value, i64([half]), i64([headDimension]), i64([3])]),
  ];
  const rotate = (value: string) => {
    const [first, second] = halves(value) as [string, string];
    return node('Add', [
      node('Mul', [value, cosine]),
      node('Mul', [node('Concat', [node('Neg', [second]), first], { axis: 3 }), sine]),
    ]);
  };
  // The transpose of rotate-half: concat(-x2, x1) maps back as (g1, g2) -> (g2, -g1).
  const rotateBackward = (gradient: string) => {
    const scaled = node('Mul', [gradient, sine]);
    const [first, second] = halves(scaled) as [string, string];
    return node('Add', [
      node('Mul', [gradient, cosine]),
      node('Concat', [second, node('Neg', [first])], { axis: 3 }),
    ]);
  };
  const range = node('Range', [
    graph.int64s([0], { scalar: true }),
    length,
    graph.int64s([1], { scalar: true }),
  ]);
  const causal = node('LessOrEqual', [
    node('Unsqueeze', [range, i64([0])]),
    node('Unsqueeze', [range, i64([1])]),
  ]);
  if (packed === undefined)
    return { rotate, rotateBackward, causalBias: node('Where', [causal, f32(0), f32(MOST_NEGATIVE)]) };
  // Packed rows: key k is seen by query q when k <= q and k is the prompt's (segment 0) or q's own segment.
  const segments = packed.segmentIds;
  const keySegments = node('Unsqueeze', [segments, i64([1])]);
  const sameSegment = node('Equal', [node('Unsqueeze', [segments, i64([2])]), keySegments]);
  const prompt = node('Equal', [keySegments, graph.int64s([0], { scalar: true })]);
  const seen = node('And', [causal, node('Or', [sameSegment, prompt])]);
  const causalBias = node('Unsqueeze', [node('Where', [seen, f32(0), f32(MOST_NEGATIVE)]), i64([1])]);
  return { rotate, rotateBackward, causalBias };
}
