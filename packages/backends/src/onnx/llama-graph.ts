import type { LlamaConfig } from '../model/config.js';
import type { LlamaWeights, WeightTensor } from '../model/weights.js';
import { OnnxGraphBuilder } from './graph-builder.js';
import { transposeMatrix } from './layout.js';

/** Names of the decoder's inputs and outputs: the common Hugging Face export layout. */
export const LLAMA_GRAPH_NAMES = {
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  positionIds: 'position_ids',
  logitsToKeep: 'logits_to_keep',
  logits: 'logits',
  pastKey: (layer: number) => `past_key_values.${layer}.key`,
  pastValue: (layer: number) => `past_key_values.${layer}.value`,
  presentKey: (layer: number) => `present.${layer}.key`,
  presentValue: (layer: number) => `present.${layer}.value`,
} as const;

// The most negative float32: added to the scores of masked keys. A row whose keys are all masked (a query at
// a padding position) then softmaxes to a uniform row instead of NaN.
const MASKED = -3.4028234663852886e38;

/**
 * Writes the ONNX graph of a Llama-family decoder with a key/value cache, in the Hugging Face layout:
 * `input_ids`, `attention_mask` (past and new positions), `position_ids` (int64) and
 * `past_key_values.N.key/value` (float32 `[batch, kvHeads, past, headDimension]`) in; `logits`
 * (`[batch, kept, vocabulary]`) and `present.N.key/value` out. `logits_to_keep` (int64 `[1]`, as in Hugging
 * Face's models) says for how many of the last positions logits are computed. The same computation as the tfjs forward
 * pass and Hugging Face's `LlamaForCausalLM`: RMSNorm, rotate-half rotary embedding, grouped-query causal
 * attention with the attention mask, SwiGLU. Standard operators only (opset 17); onnxruntime fuses the
 * RMSNorm pattern itself. Projections are stored `[in, out]` so that every product is a plain MatMul.
 */
export async function buildLlamaGraph(
  config: LlamaConfig,
  weights: LlamaWeights,
  options: {
    /** `huggingface` (default): projections `[out, in]`; `graph`: already `[in, out]` (what training keeps). */
    readonly layout?: 'huggingface' | 'graph';
  } = {},
): Promise<Uint8Array> {
  const graph = new OnnxGraphBuilder('azr-llama-decoder');
  const names = LLAMA_GRAPH_NAMES;
  const parts = decoderParts(graph, config, weights, options.layout === 'graph');
  const inputIds = graph.input(names.inputIds, 'int64', ['batch', 'sequence']);
  const attentionMask = graph.input(names.attentionMask, 'int64', ['batch', 'total_sequence']);
  const positionIds = graph.input(names.positionIds, 'int64', ['batch', 'sequence']);
  // The pieces add nodes to one builder in this order, which fixes the graph's names and bytes.
  const embedding = parts.vector('model.embed_tokens.weight');
  let x = graph.node('Gather', [embedding, inputIds], { axis: 0 });
  const rotate = rotaryEmbedding(graph, config, positionIds);
  const maskBias = attentionMaskBias(graph, inputIds, attentionMask);
  const scale = graph.float32s([1 / Math.sqrt(config.headDimension)]);
  for (let layer = 0; layer < config.layerCount; layer += 1) {
    const attended = attentionBlock(parts, layer, x, { rotate, maskBias, scale });
    x = mlpBlock(parts, `model.layers.${layer}`, attended);
  }
  writeLogits(parts, x);
  return graph.encode();
}

/** The weights as graph initializers, and the operations every layer is written in. */
interface DecoderParts {
  readonly graph: OnnxGraphBuilder;
  readonly config: LlamaConfig;
  readonly weights: LlamaWeights;
  tensor(name: string): WeightTensor;
  /** A projection as an `[in, out]` initializer. */
  projection(name: string): string;
  vector(name: string): string;
  rmsNorm(value: string, weight: string): string;
  /** value @ W (+ bias when the model has it). */
  linear(value: string, weight: string, bias?: string): string;
  /** [batch, sequence, heads * headDimension] to [batch, heads, sequence, headDimension]. */
  splitHeads(value: string, count: number): string;
}

function decoderParts(
  graph: OnnxGraphBuilder,
  config: LlamaConfig,
  weights: LlamaWeights,
  graphLayout: boolean,
): DecoderParts {
  const { headDimension, rmsNormEpsilon } = config;
  const tensor = (name: string) => {
    const found = weights.get(name);
    if (found === undefined) throw new Error(`missing weight ${name}`);
    return found;
  };
  // Projections are [out, in] in Hugging Face's layout: stored transposed.
  const projection = (name: string) => {
    const { shape, data } = tensor(name);
    if (graphLayout) return graph.weight(name, shape, data);
    const [out, input] = shape as [number, number];
    return graph.weight(name, [input, out], transposeMatrix(data, out, input));
  };
  const vector = (name: string) => {
    const { shape, data } = tensor(name);
    return graph.weight(name, shape, data);
  };
  return {
    graph,
    config,
    weights,
    tensor,
    projection,
    vector,
    rmsNorm(value, weight) {
      const meanSquare = graph.node('ReduceMean', [graph.node('Pow', [value, graph.float32s([2])])], {
        axes: [-1],
        keepdims: 1,
      });
      const root = graph.node('Sqrt', [graph.node('Add', [meanSquare, graph.float32s([rmsNormEpsilon])])]);
      return graph.node('Mul', [graph.node('Div', [value, root]), weight]);
    },
    linear(value, weight, bias) {
      const product = graph.node('MatMul', [value, projection(weight)]);
      return bias !== undefined && weights.has(bias) ? graph.node('Add', [product, vector(bias)]) : product;
    },
    splitHeads: (value, count) =>
      graph.node('Transpose', [graph.node('Reshape', [value, graph.int64s([0, 0, count, headDimension])])], {
        perm: [0, 2, 1, 3],
      }),
  };
}

/**
 * Rotary angles from the position ids ([batch, 1, sequence, headDimension] cosines and sines), and the
 * rotate-half embedding of [batch, heads, sequence, headDimension] heads with them.
 */
function rotaryEmbedding(
  graph: OnnxGraphBuilder,
  config: LlamaConfig,
  positionIds: string,
): (heads: string) => string {
  const { headDimension } = config;
  const half = headDimension / 2;
  const inverseFrequencies = Array.from(
    { length: half },
    (_, index) => config.ropeTheta ** (-(2 * index) / headDimension),
  );
  const positions = graph.node('Unsqueeze', [
    graph.node('Cast', [positionIds], { to: 1 }),
    graph.int64s([-1]),
  ]);
  const frequencies = graph.node('Mul', [positions, graph.float32s(inverseFrequencies, [half])]);
  const angles = graph.node('Concat', [frequencies, frequencies], { axis: -1 });
  const cosine = graph.node('Unsqueeze', [graph.node('Cos', [angles]), graph.int64s([1])]);
  const sine = graph.node('Unsqueeze', [graph.node('Sin', [angles]), graph.int64s([1])]);
  return (heads: string): string => {
    const first = graph.node('Slice', [heads, graph.int64s([0]), graph.int64s([half]), graph.int64s([3])]);
    const second = graph.node('Slice', [
      heads,
      graph.int64s([half]),
      graph.int64s([headDimension]),
      graph.int64s([3]),
    ]);
    const rotated = graph.node('Concat', [graph.node('Neg', [second]), first], { axis: 3 });
    return graph.node('Add', [graph.node('Mul', [heads, cosine]), graph.node('Mul', [rotated, sine])]);
  };
}

/**
 * The additive mask [batch, 1, sequence, total]: new position i (absolute total - sequence + i) sees the
 * positions up to itself that the attention mask keeps.
 */
function attentionMaskBias(graph: OnnxGraphBuilder, inputIds: string, attentionMask: string): string {
  const sequenceLength = graph.node('Squeeze', [
    graph.node('Slice', [
      graph.node('Shape', [inputIds]),
      graph.int64s([1]),
      graph.int64s([2]),
      graph.int64s([0]),
    ]),
    graph.int64s([0]),
  ]);
  const totalLength = graph.node('Squeeze', [
    graph.node('Slice', [
      graph.node('Shape', [attentionMask]),
      graph.int64s([1]),
      graph.int64s([2]),
      graph.int64s([0]),
    ]),
    graph.int64s([0]),
  ]);
  const one = graph.int64s([1], { scalar: true });
  const keyPositions = graph.node('Range', [graph.int64s([0], { scalar: true }), totalLength, one]);
  const queryPositions = graph.node('Range', [
    graph.node('Sub', [totalLength, sequenceLength]),
    totalLength,
    one,
  ]);
  const causal = graph.node('LessOrEqual', [
    graph.node('Unsqueeze', [keyPositions, graph.int64s([0])]),
    graph.node('Unsqueeze', [queryPositions, graph.int64s([1])]),
  ]);
  const kept = graph.node('Unsqueeze', [
    graph.node('Cast', [attentionMask], { to: 9 }),
    graph.int64s([1, 2]),
  ]);
  return graph.node('Where', [
    graph.node('And', [causal, kept]),
    graph.float32s([0]),
    graph.float32s([MASKED]),
  ]);
}

/**
 * x + o(attention(norm(x))) of one layer, with its key/value cache in (`past_key_values.N`) and out
 * (`present.N`).
 */
function attentionBlock(
  parts: DecoderParts,
  layer: number,
  x: string,
  shared: { readonly rotate: (heads: string) => string; readonly maskBias: string; readonly scale: string },
): string {
  const { graph, config, vector, linear, splitHeads } = parts;
  const { headCount, keyValueHeadCount, headDimension } = config;
  const { rotate, maskBias, scale } = shared;
  const names = LLAMA_GRAPH_NAMES;
  const group = headCount / keyValueHeadCount;
  const prefix = `model.layers.${layer}`;
  const attention = `${prefix}.self_attn`;
  const h = parts.rmsNorm(x, vector(`${prefix}.input_layernorm.weight`));
  const query = rotate(
    splitHeads(linear(h, `${attention}.q_proj.weight`, `${attention}.q_proj.bias`), headCount),
  );
  const newKeys = rotate(
    splitHeads(linear(h, `${attention}.k_proj.weight`, `${attention}.k_proj.bias`), keyValueHeadCount),
  );
  const newValues = splitHeads(
    linear(h, `${attention}.v_proj.weight`, `${attention}.v_proj.bias`),
    keyValueHeadCount,
  );
  const cacheShape = ['batch', keyValueHeadCount, 'past_sequence', headDimension];
  const presentShape = ['batch', keyValueHeadCount, 'total_sequence', headDimension];
  const pastKeys = graph.input(names.pastKey(layer), 'float32', cacheShape);
  const pastValues = graph.input(names.pastValue(layer), 'float32', cacheShape);
  const keys = graph.node('Concat', [pastKeys, newKeys], { axis: 2 });
  const values = graph.node('Concat', [pastValues, newValues], { axis: 2 });
  graph.output(keys, names.presentKey(layer), 'float32', presentShape);
  graph.output(values, names.presentValue(layer), 'float32', presentShape);
  // Grouped-query attention without repeating keys: the `group` query heads of one key/value head are
  // consecutive, so [batch, heads, sequence, d] reshapes to [batch, kvHeads, group * sequence, d] and
  // multiplies that head's keys directly.
  const groupedQuery = graph.node('Reshape', [
    graph.node('Mul', [query, scale]),
    graph.int64s([0, keyValueHeadCount, -1, headDimension]),
  ]);
  const groupedScores = graph.node('MatMul', [
    groupedQuery,
    graph.node('Transpose', [keys], { perm: [0, 1, 3, 2] }),
  ]);
  const scores = graph.node('Add', [
    graph.node('Reshape', [groupedScores, graph.int64s([0, headCount, -1, 0])]),
    maskBias,
  ]);
  const probabilities = graph.node('Softmax', [scores], { axis: -1 });
  const attended = graph.node('Reshape', [
    graph.node('MatMul', [
      group === 1
        ? probabilities
        : graph.node('Reshape', [probabilities, graph.int64s([0, keyValueHeadCount, -1, 0])]),
      values,
    ]),
    graph.int64s([0, headCount, -1, headDimension]),
  ]);
  const merged = graph.node('Reshape', [
    graph.node('Transpose', [attended], { perm: [0, 2, 1, 3] }),
    graph.int64s([0, 0, headCount * headDimension]),
  ]);
  return graph.node('Add', [x, linear(merged, `${attention}.o_proj.weight`)]);
}

/** x + down(swish(gate(norm(x))) * up(norm(x))): SwiGLU. */
function mlpBlock(parts: DecoderParts, prefix: string, x: string): string {
  const { graph, linear } = parts;
  const h2 = parts.rmsNorm(x, parts.vector(`${prefix}.post_attention_layernorm.weight`));
  const gate = linear(h2, `${prefix}.mlp.gate_proj.weight`);
  const swish = graph.node('Mul', [gate, graph.node('Sigmoid', [gate])]);
  const up = linear(h2, `${prefix}.mlp.up_proj.weight`);
  return graph.node('Add', [x, linear(graph.node('Mul', [swish, up]), `${prefix}.mlp.down_proj.weight`)]);
}

/** The final norm and the head, over the last `logits_to_keep` positions, as the `logits` output. */
function writeLogits(parts: DecoderParts, x: string): void {
  const { graph, config } = parts;
  const { hiddenSize, vocabularySize } = config;
  // Logits of the last `logits_to_keep` positions only: generation needs one row, not the whole prompt's.
  const logitsToKeep = graph.input(LLAMA_GRAPH_NAMES.logitsToKeep, 'int64', [1]);
  const lastPositions = graph.node('Slice', [
    x,
    graph.node('Neg', [logitsToKeep]),
    graph.int64s([Number.MAX_SAFE_INTEGER]),
    graph.int64s([1]),
  ]);
  const normed = parts.rmsNorm(lastPositions, parts.vector('model.norm.weight'));
  const head = config.tieWordEmbeddings
    ? graph.weight(
        'lm_head.weight',
        [hiddenSize, vocabularySize],
        transposeMatrix(parts.tensor('model.embed_tokens.weight').data, vocabularySize, hiddenSize),
      )
    : parts.projection('lm_head.weight');
  graph.output(graph.node('MatMul', [normed, head]), LLAMA_GRAPH_NAMES.logits, 'float32', [
    'batch',
    'kept_sequence',
    vocabularySize,
  ]);
}
