import type { LlamaConfig } from '../model/config.js';
import { llamaWeightShapes } from '../model/weights.js';
import { OnnxGraphBuilder } from './graph-builder.js';
import { graphLayoutShape } from './layout.js';

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

/**
 * Writes the ONNX graph of one policy-gradient step of a Llama-family model: the forward pass over right-padded
 * sequences (positions from 0, causal attention), the PPO-clip token-level loss with an optional entropy bonus
 * (the same objective as the tfjs engine: `-min(r A, clip(r) A) - c H`, summed over counted tokens and divided by
 * the batch's token count), and the gradient of every weight, derived by hand for this fixed architecture
 * (RMSNorm, rotary embedding, grouped-query attention, SwiGLU, tied or untied head). Standard opset-17
 * operators; onnxruntime fuses the transposes into its products. `gradients: false` writes the forward pass and
 * the loss's outputs alone.
 */
export async function buildLlamaTrainingGraph(
  config: LlamaConfig,
  options: { readonly gradients?: boolean } = {},
): Promise<Uint8Array> {
  const graph = new OnnxGraphBuilder(
    options.gradients === false ? 'azr-llama-training-statistics' : 'azr-llama-training-step',
  );
  const names = TRAINING_GRAPH_NAMES;
  const { headCount, keyValueHeadCount, headDimension, hiddenSize, vocabularySize, rmsNormEpsilon } = config;
  const half = headDimension / 2;
  const node = graph.node.bind(graph);
  const i64 = (values: readonly number[]) => graph.int64s(values);
  const f32 = (value: number) => graph.float32s([value]);

  const weights = new Map<string, string>();
  for (const [name, shape] of llamaWeightShapes(config))
    weights.set(name, graph.input(names.weight(name), 'float32', [...graphLayoutShape(name, shape)]));
  const weight = (name: string) => {
    const value = weights.get(name);
    if (value === undefined) throw new Error(`missing weight ${name}`);
    return value;
  };
  const gradients = new Map<string, string>();
  const addGradient = (name: string, value: string) => {
    const previous = gradients.get(name);
    gradients.set(name, previous === undefined ? value : node('Add', [previous, value]));
  };

  const inputIds = graph.input(names.inputIds, 'int64', ['batch', 'length']);
  const targets = graph.input(names.targets, 'int64', ['batch', 'length']);
  const mask = graph.input(names.mask, 'float32', ['batch', 'length']);
  const oldLogProbs = graph.input(names.oldLogProbs, 'float32', ['batch', 'length']);
  const advantages = graph.input(names.advantages, 'float32', ['batch', 'length']);
  const temperature = graph.input(names.temperature, 'float32', [1]);
  const clipRatio = graph.input(names.clipRatio, 'float32', [1]);
  const entropyCoefficient = graph.input(names.entropyCoefficient, 'float32', [1]);
  const denominator = graph.input(names.denominator, 'float32', [1]);

  // Helpers on [batch, length, features] activations.
  const flat = (value: string, width: number) => node('Reshape', [value, i64([-1, width])]);
  const like = (value: string, template: string) => node('Reshape', [value, node('Shape', [template])]);
  /** x @ W for x [B, T, in], W [in, out]. */
  const product = (x: string, w: string) => node('MatMul', [x, w]);
  /** The gradient of W in x @ W: x^T dy over every position. */
  const weightGradient = (x: string, dy: string, inWidth: number, outWidth: number) =>
    node('Gemm', [flat(x, inWidth), flat(dy, outWidth)], { transA: 1 });
  /** dy @ W^T, the gradient of x in x @ W. */
  const inputGradient = (dy: string, w: string, outWidth: number, template: string) =>
    like(node('Gemm', [flat(dy, outWidth), w], { transB: 1 }), template);
  const sumOverPositions = (value: string) => node('ReduceSum', [value, i64([0, 1])], { keepdims: 0 });

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
  // Causal bias [T, T]: 0 on and below the diagonal, the most negative float above.
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

  const rmsNorm = (x: string, w: string) => {
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
  const rmsNormBackward = (state: ReturnType<typeof rmsNorm>, w: string, weightName: string, dy: string) => {
    addGradient(weightName, sumOverPositions(node('Mul', [dy, state.normalized])));
    const scaled = node('Mul', [dy, w]);
    const dot = node('ReduceMean', [node('Mul', [scaled, state.x])], { axes: [-1], keepdims: 1 });
    const cube = node('Mul', [node('Mul', [state.reciprocal, state.reciprocal]), state.reciprocal]);
    return node('Sub', [
      node('Mul', [scaled, state.reciprocal]),
      node('Mul', [state.x, node('Mul', [cube, dot])]),
    ]);
  };
  const splitHeads = (value: string, count: number) =>
    node('Transpose', [node('Reshape', [value, i64([0, 0, count, headDimension])])], { perm: [0, 2, 1, 3] });
  const mergeHeads = (value: string, count: number) =>
    node('Reshape', [node('Transpose', [value], { perm: [0, 2, 1, 3] }), i64([0, 0, count * headDimension])]);
  const grouped = (value: string, width: number) =>
    node('Reshape', [value, i64([0, keyValueHeadCount, -1, width])]);
  const ungrouped = (value: string, width: number) =>
    node('Reshape', [value, i64([0, headCount, -1, width])]);
  const swapLast = (value: string) => node('Transpose', [value], { perm: [0, 1, 3, 2] });
  const scale = 1 / Math.sqrt(headDimension);

  // Forward, keeping what the backward pass needs.
  const embedding = weight('model.embed_tokens.weight');
  let x = node('Gather', [embedding, inputIds], { axis: 0 });
  const layers: {
    prefix: string;
    input: ReturnType<typeof rmsNorm>;
    h: string;
    queries: string;
    keys: string;
    values: string;
    probabilities: string;
    merged: string;
    post: ReturnType<typeof rmsNorm>;
    h2: string;
    gate: string;
    gateSigmoid: string;
    swish: string;
    up: string;
    gated: string;
  }[] = [];
  const bias = (value: string, name: string) =>
    weights.has(name) ? node('Add', [value, weight(name)]) : value;
  for (let layer = 0; layer < config.layerCount; layer += 1) {
    const prefix = `model.layers.${layer}`;
    const attention = `${prefix}.self_attn`;
    const input = rmsNorm(x, weight(`${prefix}.input_layernorm.weight`));
    const h = input.output;
    const queries = node('Mul', [
      rotate(
        splitHeads(
          bias(product(h, weight(`${attention}.q_proj.weight`)), `${attention}.q_proj.bias`),
          headCount,
        ),
      ),
      f32(scale),
    ]);
    const keys = rotate(
      splitHeads(
        bias(product(h, weight(`${attention}.k_proj.weight`)), `${attention}.k_proj.bias`),
        keyValueHeadCount,
      ),
    );
    const values = splitHeads(
      bias(product(h, weight(`${attention}.v_proj.weight`)), `${attention}.v_proj.bias`),
      keyValueHeadCount,
    );
    const scores = node('Add', [
      ungrouped(node('MatMul', [grouped(queries, headDimension), swapLast(keys)]), 0),
      causalBias,
    ]);
    const probabilities = node('Softmax', [scores], { axis: -1 });
    const attended = ungrouped(node('MatMul', [grouped(probabilities, 0), values]), headDimension);
    const merged = mergeHeads(attended, headCount);
    x = node('Add', [x, product(merged, weight(`${attention}.o_proj.weight`))]);
    const post = rmsNorm(x, weight(`${prefix}.post_attention_layernorm.weight`));
    const h2 = post.output;
    const gate = product(h2, weight(`${prefix}.mlp.gate_proj.weight`));
    const gateSigmoid = node('Sigmoid', [gate]);
    const swish = node('Mul', [gate, gateSigmoid]);
    const up = product(h2, weight(`${prefix}.mlp.up_proj.weight`));
    const gated = node('Mul', [swish, up]);
    x = node('Add', [x, product(gated, weight(`${prefix}.mlp.down_proj.weight`))]);
    layers.push({
      prefix,
      input,
      h,
      queries,
      keys,
      values,
      probabilities,
      merged,
      post,
      h2,
      gate,
      gateSigmoid,
      swish,
      up,
      gated,
    });
  }
  const final = rmsNorm(x, weight('model.norm.weight'));
  const tied = config.tieWordEmbeddings;
  const head = tied ? node('Transpose', [embedding], { perm: [1, 0] }) : weight('lm_head.weight');
  const logits = product(final.output, head);

  // The objective.
  const logProbabilities = node('LogSoftmax', [node('Div', [logits, temperature])], { axis: -1 });
  const probabilities = node('Exp', [logProbabilities]);
  const oneHot = node(
    'OneHot',
    [targets, graph.int64s([vocabularySize], { scalar: true }), graph.float32s([0, 1], [2])],
    {
      axis: -1,
    },
  );
  const current = node('ReduceSum', [node('Mul', [logProbabilities, oneHot]), i64([-1])], { keepdims: 0 });
  const entropy = node('Neg', [
    node('ReduceSum', [node('Mul', [probabilities, logProbabilities]), i64([-1])], { keepdims: 0 }),
  ]);
  const ratio = node('Exp', [node('Sub', [current, oldLogProbs])]);
  const unclipped = node('Mul', [ratio, advantages]);
  const clipped = node('Mul', [
    node('Min', [node('Max', [ratio, node('Sub', [f32(1), clipRatio])]), node('Add', [f32(1), clipRatio])]),
    advantages,
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
  graph.output(maskedSum(node('Sub', [oldLogProbs, current])), names.klSum, 'float32', []);
  // Without gradients: the forward pass and the loss's sums alone (for sequences that carry no gradient).
  if (options.gradients === false) return graph.encode();

  // Backward. The token weight of the mean: mask / denominator.
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
  const gradientLogits = node('Div', [gradientTempered, temperature]);
  const headGradient = weightGradient(final.output, gradientLogits, hiddenSize, vocabularySize);
  if (tied) addGradient('model.embed_tokens.weight', node('Transpose', [headGradient], { perm: [1, 0] }));
  else addGradient('lm_head.weight', headGradient);
  let dx = rmsNormBackward(
    final,
    weight('model.norm.weight'),
    'model.norm.weight',
    inputGradient(gradientLogits, head, vocabularySize, final.output),
  );

  for (const state of [...layers].reverse()) {
    const { prefix } = state;
    const attention = `${prefix}.self_attn`;
    // x_out = x_mid + down(gated)
    addGradient(
      `${prefix}.mlp.down_proj.weight`,
      weightGradient(state.gated, dx, config.intermediateSize, hiddenSize),
    );
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
    addGradient(
      `${prefix}.mlp.gate_proj.weight`,
      weightGradient(state.h2, dGate, hiddenSize, config.intermediateSize),
    );
    addGradient(
      `${prefix}.mlp.up_proj.weight`,
      weightGradient(state.h2, dUp, hiddenSize, config.intermediateSize),
    );
    const dH2 = node('Add', [
      inputGradient(dGate, weight(`${prefix}.mlp.gate_proj.weight`), config.intermediateSize, state.h2),
      inputGradient(dUp, weight(`${prefix}.mlp.up_proj.weight`), config.intermediateSize, state.h2),
    ]);
    const dMid = node('Add', [
      dx,
      rmsNormBackward(
        state.post,
        weight(`${prefix}.post_attention_layernorm.weight`),
        `${prefix}.post_attention_layernorm.weight`,
        dH2,
      ),
    ]);
    // x_mid = x_in + o(merged)
    const width = headCount * headDimension;
    addGradient(`${attention}.o_proj.weight`, weightGradient(state.merged, dMid, width, hiddenSize));
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
      f32(scale),
    ]);
    const dKeys = node('MatMul', [swapLast(dScores), grouped(state.queries, headDimension)]);
    const projections = [
      ['q_proj', mergeHeads(rotateBackward(dQueries), headCount), width],
      ['k_proj', mergeHeads(rotateBackward(dKeys), keyValueHeadCount), keyValueHeadCount * headDimension],
      ['v_proj', mergeHeads(dValues, keyValueHeadCount), keyValueHeadCount * headDimension],
    ] as const;
    let dH: string | undefined;
    for (const [projection, gradient, outWidth] of projections) {
      addGradient(
        `${attention}.${projection}.weight`,
        weightGradient(state.h, gradient, hiddenSize, outWidth),
      );
      if (weights.has(`${attention}.${projection}.bias`))
        addGradient(`${attention}.${projection}.bias`, sumOverPositions(gradient));
      const back = inputGradient(gradient, weight(`${attention}.${projection}.weight`), outWidth, state.h);
      dH = dH === undefined ? back : node('Add', [dH, back]);
    }
    dx = node('Add', [
      dMid,
      rmsNormBackward(
        state.input,
        weight(`${prefix}.input_layernorm.weight`),
        `${prefix}.input_layernorm.weight`,
        dH as string,
      ),
    ]);
  }
  // The embedding lookup scatters its gradient back onto the rows it read.
  const rows = node('ConstantOfShape', [i64([vocabularySize, hiddenSize])], {});
  addGradient(
    'model.embed_tokens.weight',
    node('ScatterND', [rows, node('Unsqueeze', [inputIds, i64([-1])]), dx], { reduction: 'add' }),
  );

  for (const [name, shape] of llamaWeightShapes(config)) {
    const gradient = gradients.get(name);
    if (gradient === undefined) throw new Error(`no gradient for ${name}`);
    graph.output(gradient, names.gradient(name), 'float32', [...graphLayoutShape(name, shape)]);
  }
  return graph.encode();
}
