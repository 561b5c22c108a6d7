import type { TrainingGraphOperations } from './operations.js';

/** The position-dependent pieces of attention over right-padded sequences whose positions start at 0. */
export interface PositionTables {
  /** Rotary embedding of [B, heads, T, D] heads (rotate-half). */
  rotate(value: string): string;
  /** Its transpose, for the backward pass. */
  rotateBackward(gradient: string): string;
  /** Causal bias [T, T]: 0 on and below the diagonal, the most negative float above. */
  readonly causalBias: string;
}

/** Writes the rotary angles and the causal bias for positions 0..T-1 of `inputIds`. */
export function buildPositionTables(operations: TrainingGraphOperations, inputIds: string): PositionTables {
  const { graph, config, node, i64, f32 } = operations;
  const { headDimension } = config;
  const half = headDimension / 2;
  // Rotary angles for positions 0..T-1: [1, 1, T, D].
  const length = node('Squeeze', [
    node('Slice', [node('Shape', [inputIds]), i64([1]), i64([2]), i64([0])]),
    i64([0]),
  ]);
  const positions = node(
    'Cast',
    [node('Range', [graph.int64s([0], { scalar: true }), length, graph.int64s([1], { scalar: true })])],
    { to: 1 },
  );
  const inverse = Array.from(
    { length: half },
    (_, index) => config.ropeTheta ** (-(2 * index) / headDimension),
  );
  const frequencies = node('Mul', [
    node('Unsqueeze', [positions, i64([1])]),
    graph.float32s(inverse, [half]),
  ]);
  const angles = node('Concat', [frequencies, frequencies], { axis: -1 });
  const cosine = node('Unsqueeze', [node('Cos', [angles]), i64([0, 1])]);
  const sine = node('Unsqueeze', [node('Sin', [angles]), i64([0, 1])]);
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
  const causalBias = node('Where', [
    node('LessOrEqual', [node('Unsqueeze', [range, i64([0])]), node('Unsqueeze', [range, i64([1])])]),
    f32(0),
    f32(-3.4028234663852886e38),
  ]);
  return { rotate, rotateBackward, causalBias };
}
