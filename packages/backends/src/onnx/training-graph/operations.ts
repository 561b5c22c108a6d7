import type { LlamaConfig } from '../../model/config.js';
import { llamaWeightShapes } from '../../model/weights.js';
import { float, type OnnxGraphBuilder } from '../graph-builder.js';
import { graphLayoutShape } from '../layout.js';
import { TRAINING_GRAPH_NAMES } from './names.js';

/**
 * What every piece of the training graph shares: the builder, the weights (graph inputs named after their
 * Hugging Face names), the gradients collected so far, and the small products and reshapes that the forward and
 * backward passes are written in. The pieces add nodes to one builder, so they run in a fixed order: the graph
 * (and its bytes) depends on it.
 */
export interface TrainingGraphOperations {
  readonly graph: OnnxGraphBuilder;
  readonly config: LlamaConfig;
  node: OnnxGraphBuilder['node'];
  /** An int64 constant (a 1-D list). */
  i64(values: readonly number[]): string;
  /** A float32 constant of one element. */
  f32(value: number): string;
  /** The graph input of a weight. */
  weight(name: string): string;
  hasWeight(name: string): boolean;
  /** `value + bias` when the model has that bias (q/k/v in Qwen2), else `value`. */
  bias(value: string, name: string): string;
  /** Adds to a weight's gradient: a weight used twice (a tied head) sums both. */
  addGradient(name: string, value: string): void;
  /**
   * Adds the gradient of W in x @ W (x^T dy over every position, `[in, out]`) to W's, in one product that
   * accumulates onto the gradient so far (Gemm's C) rather than a product and a sum.
   */
  addProductGradient(name: string, x: string, dy: string, inWidth: number, outWidth: number): void;
  /** The same for W in x @ W^T (the tied head, W `[out, in]`): dy^T x. */
  addTransposedProductGradient(name: string, x: string, dy: string, inWidth: number, outWidth: number): void;
  /** Adds `updates` to the rows `indices` of a `[rows, width]` weight's gradient (an embedding lookup's). */
  addRowGradient(name: string, indices: string, updates: string, rows: number, width: number): void;
  /**
   * The gradient collected for a weight; undefined when the graph added none. With `accumulate`, it includes
   * the running sum the trainer feeds in.
   */
  gradient(name: string): string | undefined;
  /** `[-1, width]`: every position as one row. */
  flat(value: string, width: number): string;
  /** `value` reshaped to the shape of `template`. */
  like(value: string, template: string): string;
  /** x @ W for x [B, T, in], W [in, out]. */
  product(x: string, w: string): string;
  /** dy @ W^T, the gradient of x in x @ W. */
  inputGradient(dy: string, w: string, outWidth: number, template: string): string;
  sumOverPositions(value: string): string;
  rmsNorm(x: string, w: string): RmsNormState;
  /** The gradient of the norm's input; adds the gradient of its weight `weightName`. */
  rmsNormBackward(state: RmsNormState, w: string, weightName: string, dy: string): string;
  /** [B, T, count * D] to [B, count, T, D]. */
  splitHeads(value: string, count: number): string;
  /** [B, count, T, D] to [B, T, count * D]. */
  mergeHeads(value: string, count: number): string;
  /** [B, heads, T, width] to [B, kvHeads, group * T, width]: a key/value head's query heads side by side. */
  grouped(value: string, width: number): string;
  /** The inverse of {@link grouped}. */
  ungrouped(value: string, width: number): string;
  /** Swaps the last two axes. */
  swapLast(value: string): string;
  /** 1 / sqrt(headDimension), the attention scores' scale. */
  readonly scale: number;
}

/** What an RMSNorm keeps for its backward pass. */
export interface RmsNormState {
  readonly x: string;
  readonly reciprocal: string;
  readonly normalized: string;
  readonly output: string;
}

/** Declares each weight as an input of `graph` (in `llamaWeightShapes` order): weight name to value name. */
export function declareWeightInputs(graph: OnnxGraphBuilder, config: LlamaConfig): Map<string, string> {
  const weights = new Map<string, string>();
  for (const [name, shape] of llamaWeightShapes(config))
    weights.set(
      name,
      graph.input(TRAINING_GRAPH_NAMES.weight(name), 'float32', [...graphLayoutShape(name, shape)]),
    );
  return weights;
}

/**
 * Declares, for each weight, the running sum its gradient is added to (`grad_in.<name>`, or
 * `naming(name)` when given) as an input of `graph`: weight name to value name.
 */
export function declareGradientSumInputs(
  graph: OnnxGraphBuilder,
  config: LlamaConfig,
  naming: (name: string) => string = TRAINING_GRAPH_NAMES.gradientSum,
): Map<string, string> {
  const sums = new Map<string, string>();
  for (const [name, shape] of llamaWeightShapes(config))
    sums.set(name, graph.input(naming(name), 'float32', [...graphLayoutShape(name, shape)]));
  return sums;
}

/**
 * The shared operations over `graph`. The weights are graph inputs declared here, unless `weights` names the
 * values that hold them (a subgraph reads its outer graph's). With `accumulate`, every weight's gradient starts
 * from a running sum (`grad_in.<name>`, declared here), so that the gradients the operations collect are the
 * new sums; `gradientSums` names those values instead (and implies `accumulate`).
 */
export function createTrainingOperations(
  graph: OnnxGraphBuilder,
  config: LlamaConfig,
  options: {
    readonly accumulate?: boolean;
    readonly weights?: ReadonlyMap<string, string>;
    readonly gradientSums?: ReadonlyMap<string, string>;
  } = {},
): TrainingGraphOperations {
  const { headCount, keyValueHeadCount, headDimension, rmsNormEpsilon } = config;
  const node = graph.node.bind(graph);
  const i64 = (values: readonly number[]) => graph.int64s(values);
  const f32 = (value: number) => graph.float32s([value]);

  const weights = options.weights ?? declareWeightInputs(graph, config);
  const weight = (name: string) => {
    const value = weights.get(name);
    if (value === undefined) throw new Error(`missing weight ${name}`);
    return value;
  };
  const gradients = new Map<string, string>(
    options.gradientSums ?? (options.accumulate === true ? declareGradientSumInputs(graph, config) : []),
  );
  const added = new Set<string>();
  const addGradient = (name: string, value: string) => {
    const previous = gradients.get(name);
    gradients.set(name, previous === undefined ? value : node('Add', [previous, value]));
    added.add(name);
  };
  const accumulateProduct = (name: string, a: string, b: string) => {
    const previous = gradients.get(name);
    gradients.set(
      name,
      previous === undefined
        ? node('Gemm', [a, b], { transA: 1 })
        : node('Gemm', [a, b, previous], { transA: 1, beta: float(1) }),
    );
    added.add(name);
  };

  const flat = (value: string, width: number) => node('Reshape', [value, i64([-1, width])]);
  const like = (value: string, template: string) => node('Reshape', [value, node('Shape', [template])]);
  const sumOverPositions = (value: string) => node('ReduceSum', [value, i64([0, 1])], { keepdims: 0 });

  const rmsNorm = (x: string, w: string): RmsNormState => {
    const reciprocal = node('Reciprocal', [
      node('Sqrt', [
        node('Add', [
          node('ReduceMean', [node('Mul', [x, x])], { axes: [-1], keepdims: 1 }),
          f32(rmsNormEpsilon),
        ]),
      ]),
    ]);
    const normalized = node('Mul', [x, reciprocal]);
    return { x, reciprocal, normalized, output: node('Mul', [normalized, w]) };
  };
  const rmsNormBackward = (state: RmsNormState, w: string, weightName: string, dy: string) => {
    addGradient(weightName, sumOverPositions(node('Mul', [dy, state.normalized])));
    const scaled = node('Mul', [dy, w]);
    const dot = node('ReduceMean', [node('Mul', [scaled, state.x])], { axes: [-1], keepdims: 1 });
    const cube = node('Mul', [node('Mul', [state.reciprocal, state.reciprocal]), state.reciprocal]);
    return node('Sub', [
      node('Mul', [scaled, state.reciprocal]),
      node('Mul', [state.x, node('Mul', [cube, dot])]),
    ]);
  };

  return {
    graph,
    config,
    node,
    i64,
    f32,
    weight,
    hasWeight: (name) => weights.has(name),
    bias: (value, name) => (weights.has(name) ? node('Add', [value, weight(name)]) : value),
    addGradient,
    addProductGradient: (name, x, dy, inWidth, outWidth) =>
      accumulateProduct(name, flat(x, inWidth), flat(dy, outWidth)),
    addTransposedProductGradient: (name, x, dy, inWidth, outWidth) =>
      accumulateProduct(name, flat(dy, outWidth), flat(x, inWidth)),
    addRowGradient: (name, indices, updates, rows, width) => {
      const previous = gradients.get(name) ?? node('ConstantOfShape', [i64([rows, width])], {});
      gradients.set(
        name,
        node('ScatterND', [previous, node('Unsqueeze', [indices, i64([-1])]), updates], { reduction: 'add' }),
      );
      added.add(name);
    },
    gradient: (name) => (added.has(name) ? gradients.get(name) : undefined),
    flat,
    like,
    product: (x, w) => node('MatMul', [x, w]),
    inputGradient: (dy, w, outWidth, template) =>
      like(node('Gemm', [flat(dy, outWidth), w], { transB: 1 }), template),
    sumOverPositions,
    rmsNorm,
    rmsNormBackward,
    splitHeads: (value, count) =>
      node('Transpose', [node('Reshape', [value, i64([0, 0, count, headDimension])])], {
        perm: [0, 2, 1, 3],
      }),
    mergeHeads: (value, count) =>
      node('Reshape', [
        node('Transpose', [value], { perm: [0, 2, 1, 3] }),
        i64([0, 0, count * headDimension]),
      ]),
    grouped: (value, width) => node('Reshape', [value, i64([0, keyValueHeadCount, -1, width])]),
    ungrouped: (value, width) => node('Reshape', [value, i64([0, headCount, -1, width])]),
    swapLast: (value) => node('Transpose', [value], { perm: [0, 1, 3, 2] }),
    scale: 1 / Math.sqrt(headDimension),
  };
}
