import { decoderLayer, type ForwardPass, type LayerActivations } from './forward.js';
import type { Objective, TrainingBatchInputs } from './objective.js';
import type { TrainingGraphOperations } from './operations.js';
import type { PositionTables } from './positions.js';

/**
 * Writes the gradient of every weight, derived by hand for this fixed architecture, from the loss back through
 * the head, each layer (last first) and the embedding. The gradients are collected in `operations`.
 *
 * `recompute`: each layer's activations are computed again from the layer's input just before its backward
 * pass, so the forward pass's own are released as it goes and the pass holds every layer's input but only one
 * layer's activations (about a third more arithmetic).
 */
export function buildBackwardPass(
  operations: TrainingGraphOperations,
  positions: PositionTables,
  inputs: TrainingBatchInputs,
  forward: ForwardPass,
  objective: Objective,
  recompute = false,
): void {
  const gradientLogits = logitsGradient(operations, inputs, objective);
  let dx = headBackward(operations, forward, gradientLogits);
  for (const kept of [...forward.layers].reverse()) {
    const state = recompute ? recomputeLayer(operations, positions, kept, dx) : kept;
    const dMid = mlpBackward(operations, state, dx);
    dx = attentionBackward(operations, positions, state, dMid);
  }
  embeddingBackward(operations, inputs.inputIds, dx);
}

/**
 * A layer's forward pass again, from its input, once the gradient of its output `dx` exists. The input goes
 * through a Reshape to the shape of `dx` (the same shape): that makes the recomputation depend on `dx`, so
 * onnxruntime cannot schedule it during the forward pass (which would hold both copies), and it is not the
 * forward pass's expression, so onnxruntime cannot merge the two.
 */
function recomputeLayer(
  operations: TrainingGraphOperations,
  positions: PositionTables,
  kept: LayerActivations,
  dx: string,
): LayerActivations {
  const { node } = operations;
  const input = node('Reshape', [kept.input.x, node('Shape', [dx])]);
  return decoderLayer(operations, positions, kept.prefix, input).kept;
}

/** The gradient of the loss in the logits. */
function logitsGradient(
  operations: TrainingGraphOperations,
  inputs: TrainingBatchInputs,
  objective: Objective,
): string {
  const { node, i64 } = operations;
  const { mask, denominator, entropyCoefficient, temperature } = inputs;
  const { unclipped, clipped, oneHot, probabilities, logProbabilities, entropy } = objective;
  // The token weight of the mean: mask / denominator.
  const tokenWeight = node('Div', [mask, denominator]);
  // d(-min(u, c))/d current: through the unclipped term when it is the minimum (ties included), where
  // d u / d current = A r; through the clipped term only inside the clip range, where it equals u.
  const throughUnclipped = node('Cast', [node('LessOrEqual', [unclipped, clipped])], { to: 1 });
  const gradientCurrent = node('Mul', [
    node('Neg', [node('Mul', [unclipped, throughUnclipped])]),
    tokenWeight,
  ]);
  const gradientEntropy = node('Neg', [node('Mul', [entropyCoefficient, tokenWeight])]);
  // d current / d z = onehot - p; d H / d z = -p (log p + H); z = logits / temperature.
  const expand = (value: string) => node('Unsqueeze', [value, i64([-1])]);
  const gradientTempered = node('Add', [
    node('Mul', [expand(gradientCurrent), node('Sub', [oneHot, probabilities])]),
    node('Mul', [
      expand(gradientEntropy),
      node('Neg', [node('Mul', [probabilities, node('Add', [logProbabilities, expand(entropy)])])]),
    ]),
  ]);
  return node('Div', [gradientTempered, temperature]);
}

/** The head's and the final norm's gradients; returns the gradient of the last layer's output. */
function headBackward(
  operations: TrainingGraphOperations,
  forward: ForwardPass,
  gradientLogits: string,
): string {
  const { config, node, weight, flat, like } = operations;
  const { hiddenSize, vocabularySize } = config;
  const { final, head } = forward;
  // A tied head is the embedding, [vocabulary, hidden], used as x @ E^T: its gradient dy^T x has the
  // embedding's shape, and x's is dy @ E. Neither needs a transposed copy.
  let dFinal: string;
  if (config.tieWordEmbeddings) {
    operations.addTransposedProductGradient(
      'model.embed_tokens.weight',
      final.output,
      gradientLogits,
      hiddenSize,
      vocabularySize,
    );
    dFinal = like(node('MatMul', [flat(gradientLogits, vocabularySize), head]), final.output);
  } else {
    operations.addProductGradient('lm_head.weight', final.output, gradientLogits, hiddenSize, vocabularySize);
    dFinal = operations.inputGradient(gradientLogits, head, vocabularySize, final.output);
  }
  const counted = operations.rmsNormBackward(final, weight('model.norm.weight'), 'model.norm.weight', dFinal);
  // Back to every position: the counted rows' gradients, zero elsewhere. A position can be counted more than
  // once (a packed row's prompt predicts the first token of each of its completions): its gradients add up.
  const { i64 } = operations;
  const rows = flat(forward.lastOutput, hiddenSize);
  const scattered = node(
    'ScatterND',
    [
      node('ConstantOfShape', [node('Shape', [rows])]),
      node('Unsqueeze', [forward.logitPositions, i64([-1])]),
      flat(counted, hiddenSize),
    ],
    { reduction: 'add' },
  );
  return operations.like(scattered, forward.lastOutput);
}

/** Through x_out = x_mid + down(swish(gate(h2)) * up(h2)); returns the gradient of x_mid. */
function mlpBackward(operations: TrainingGraphOperations, state: LayerActivations, dx: string): string {
  const { config, node, f32, weight, addProductGradient, inputGradient } = operations;
  const { hiddenSize, intermediateSize } = config;
  const { prefix } = state;
  addProductGradient(`${prefix}.mlp.down_proj.weight`, state.gated, dx, intermediateSize, hiddenSize);
  const dGated = inputGradient(dx, weight(`${prefix}.mlp.down_proj.weight`), hiddenSize, state.gated);
  const dSwish = node('Mul', [dGated, state.up]);
  const dUp = node('Mul', [dGated, state.swish]);
  // d(g sigmoid(g)) = sigmoid(g) (1 + g (1 - sigmoid(g)))
  const dGate = node('Mul', [
    dSwish,
    node('Mul', [
      state.gateSigmoid,
      node('Add', [f32(1), node('Mul', [state.gate, node('Sub', [f32(1), state.gateSigmoid])])]),
    ]),
  ]);
  addProductGradient(`${prefix}.mlp.gate_proj.weight`, state.h2, dGate, hiddenSize, intermediateSize);
  addProductGradient(`${prefix}.mlp.up_proj.weight`, state.h2, dUp, hiddenSize, intermediateSize);
  const dH2 = node('Add', [
    inputGradient(dGate, weight(`${prefix}.mlp.gate_proj.weight`), intermediateSize, state.h2),
    inputGradient(dUp, weight(`${prefix}.mlp.up_proj.weight`), intermediateSize, state.h2),
  ]);
  return node('Add', [
    dx,
    operations.rmsNormBackward(
      state.post,
      weight(`${prefix}.post_attention_layernorm.weight`),
      `${prefix}.post_attention_layernorm.weight`,
      dH2,
    ),
  ]);
}

/** Through x_mid = x_in + o(attention(h)); returns the gradient of the layer's input x_in. */
function attentionBackward(
  operations: TrainingGraphOperations,
  positions: PositionTables,
  state: LayerActivations,
  dMid: string,
): string {
  const { config, node, i64, f32, weight, addGradient, addProductGradient, inputGradient } = operations;
  const { grouped, ungrouped, swapLast, splitHeads, mergeHeads } = operations;
  const { headCount, keyValueHeadCount, headDimension, hiddenSize } = config;
  const attention = `${state.prefix}.self_attn`;
  const width = headCount * headDimension;
  addProductGradient(`${attention}.o_proj.weight`, state.merged, dMid, width, hiddenSize);
  const dMerged = inputGradient(dMid, weight(`${attention}.o_proj.weight`), hiddenSize, state.merged);
  const dAttended = grouped(splitHeads(dMerged, headCount), headDimension);
  const groupedProbabilities = grouped(state.probabilities, 0);
  const dProbabilities = node('MatMul', [dAttended, swapLast(state.values)]);
  const dValues = node('MatMul', [swapLast(groupedProbabilities), dAttended]);
  const dScores = node('Mul', [
    groupedProbabilities,
    node('Sub', [
      dProbabilities,
      node('ReduceSum', [node('Mul', [dProbabilities, groupedProbabilities]), i64([-1])], { keepdims: 1 }),
    ]),
  ]);
  const dQueries = node('Mul', [
    ungrouped(node('MatMul', [dScores, state.keys]), headDimension),
    f32(operations.scale),
  ]);
  const dKeys = node('MatMul', [swapLast(dScores), grouped(state.queries, headDimension)]);
  const { rotateBackward } = positions;
  const projections = [
    ['q_proj', mergeHeads(rotateBackward(dQueries), headCount), width],
    ['k_proj', mergeHeads(rotateBackward(dKeys), keyValueHeadCount), keyValueHeadCount * headDimension],
    ['v_proj', mergeHeads(dValues, keyValueHeadCount), keyValueHeadCount * headDimension],
  ] as const;
  let dH: string | undefined;
  for (const [projection, gradient, outWidth] of projections) {
    addProductGradient(`${attention}.${projection}.weight`, state.h, gradient, hiddenSize, outWidth);
    if (operations.hasWeight(`${attention}.${projection}.bias`))
      addGradient(`${attention}.${projection}.bias`, operations.sumOverPositions(gradient));
    const back = inputGradient(gradient, weight(`${attention}.${projection}.weight`), outWidth, state.h);
    dH = dH === undefined ? back : node('Add', [dH, back]);
  }
  return node('Add', [
    dMid,
    operations.rmsNormBackward(
      state.input,
      weight(`${state.prefix}.input_layernorm.weight`),
      `${state.prefix}.input_layernorm.weight`,
      dH as string,
    ),
  ]);
}

/**
 * The embedding lookup adds its gradient onto the rows it read: onto the tied head's gradient (or the running sum)
 * when there is one, so that no second vocabulary-sized buffer is written.
 */
function embeddingBackward(operations: TrainingGraphOperations, inputIds: string, dx: string): void {
  const { config } = operations;
  operations.addRowGradient(
    'model.embed_tokens.weight',
    inputIds,
    dx,
    config.vocabularySize,
    config.hiddenSize,
  );
}
