import type { LlamaConfig } from '../model/config.js';
import { type LlamaWeights, llamaWeightShapes, type WeightTensor } from '../model/weights.js';
import { OnnxGraphBuilder } from './graph-builder.js';
import { graphLayoutShape, transposeMatrix } from './layout.js';
import { INT8_BLOCK_SIZE, quantizeInt8Blocks } from './quantize.js';
import { writeSampling } from './sampling-graph.js';

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
  /** The rollout graph's outputs: the keys and values of this run's positions only (the caller appends them). */
  newKey: (layer: number) => `new_key_values.${layer}.key`,
  newValue: (layer: number) => `new_key_values.${layer}.value`,
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
 *
 * The weights are initializers inside the graph, so the graph is a model others can run, and protobuf caps it
 * at 2 GB. The SDK's own rollouts use {@link buildLlamaRolloutGraph} instead.
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
  const weightsIn: WeightSource = {
    kind: 'initializers',
    weights,
    graphLayout: options.layout === 'graph',
  };
  writeDecoder(decoderParts(graph, config, weightsIn), 'concat');
  return graph.encode();
}

/**
 * The rollout graph with the weights as inputs (`rolloutWeights: 'shared'`). It differs from
 * {@link buildLlamaGraph} in four ways:
 *
 * - **The weights are graph inputs** (float32, graph layout, named as the weights are), fed on every run from
 *   the arrays the trainer updates: no weights in the protobuf, one session per model shape, one copy of the
 *   weights for training and generation. (The default, `packed`, writes the same graph with the weights as
 *   initializers in an external file instead: `buildLlamaDecoderGraph` with an `external` source.)
 * - **The cache is appended to, not concatenated.** `past_key_values.N.key/value` are the caller's cache
 *   buffers `[batch, kvHeads, capacity, headDimension]`, of which `attention_mask` (`[batch, capacity +
 *   sequence]`) marks the filled positions; the graph attends over them and over this run's own keys without
 *   copying either, and outputs only this run's keys and values (`new_key_values.N.key/value`, `[batch,
 *   kvHeads, sequence, headDimension]`), which the caller writes into its buffers. A decode step then reads
 *   the cache once instead of copying it into a longer `present` and back out to JavaScript.
 * - **The rotary embedding is onnxruntime's fused `RotaryEmbedding`** (a contrib operator) instead of standard
 *   operators: the SDK's own sessions run on onnxruntime, while {@link buildLlamaGraph} is for others to run.
 * - **It draws the next token** of each row from its last position's logits (`writeSampling`): a uniform per
 *   row and the temperature in, the drawn and the greedy token and their log probabilities out, so that a
 *   decode step need not copy the logits out and exponentiate them in JavaScript.
 */
export async function buildLlamaRolloutGraph(config: LlamaConfig): Promise<Uint8Array> {
  const graph = new OnnxGraphBuilder('azr-llama-rollout');
  writeDecoder(decoderParts(graph, config, { kind: 'inputs' }), 'append');
  return graph.encode();
}

/** How a graph's cache works: `concat` (past + new out, the Hugging Face layout) or `append` (new out only). */
export type CacheMode = 'concat' | 'append';

/** A decoder graph with any combination of weight source and cache mode (the two builders above fix them). */
export async function buildLlamaDecoderGraph(
  config: LlamaConfig,
  source: WeightSource,
  cacheMode: CacheMode,
): Promise<Uint8Array> {
  const graph = new OnnxGraphBuilder('azr-llama-decoder');
  writeDecoder(decoderParts(graph, config, source), cacheMode);
  return graph.encode();
}

function writeDecoder(parts: DecoderParts, cacheMode: CacheMode): void {
  const { graph, config } = parts;
  const names = LLAMA_GRAPH_NAMES;
  const inputIds = graph.input(names.inputIds, 'int64', ['batch', 'sequence']);
  const attentionMask = graph.input(names.attentionMask, 'int64', ['batch', 'total_sequence']);
  const positionIds = graph.input(names.positionIds, 'int64', ['batch', 'sequence']);
  // The pieces add nodes to one builder in this order, which fixes the graph's names and bytes.
  const embedding = parts.vector('model.embed_tokens.weight');
  let x = graph.node('Gather', [embedding, inputIds], { axis: 0 });
  // A graph for others to run keeps to standard operators; the SDK's own sessions use onnxruntime's fused ones.
  const rotate = rotaryEmbedding(parts, positionIds, parts.source.kind !== 'initializers');
  const masks =
    cacheMode === 'concat'
      ? { kind: 'concat' as const, bias: attentionMaskBias(graph, inputIds, attentionMask) }
      : { kind: 'append' as const, ...appendMaskBiases(graph, inputIds, attentionMask) };
  const scale = graph.float32s([1 / Math.sqrt(config.headDimension)]);
  for (let layer = 0; layer < config.layerCount; layer += 1) {
    const attended = attentionBlock(parts, layer, x, { rotate, masks, scale });
    x = mlpBlock(parts, `model.layers.${layer}`, attended);
  }
  const logits = writeLogits(parts, x);
  // The SDK's own rollout graphs also draw the next token (see writeSampling); the Hugging Face layout for others
  // to run gives logits only.
  if (cacheMode === 'append') writeSampling(graph, logits, config.vocabularySize);
}

/**
 * Where a graph's weights come from: initializers holding the given arrays, initializers in an external file
 * (`external`: each weight is added to `pieces` at its offset, for the caller to write to `location`), or graph
 * inputs of their names.
 */
export type WeightSource =
  | { readonly kind: 'initializers'; readonly weights: LlamaWeights; readonly graphLayout: boolean }
  | {
      readonly kind: 'external';
      /** Graph layout. */
      readonly weights: LlamaWeights;
      readonly location: string;
      readonly pieces: { readonly data: Float32Array | Uint8Array; readonly offset: number }[];
      /**
       * `int8`: every product's weights (the projections and the head) are stored block-wise quantized and
       * multiplied by onnxruntime's `MatMulNBits` (8 bits, blocks of {@link INT8_BLOCK_SIZE}, int8 arithmetic);
       * the embedding and the norms stay float32. Default `float32`.
       */
      readonly precision?: 'float32' | 'int8';
    }
  | { readonly kind: 'inputs' };

// External weights start on page boundaries, so that onnxruntime can map them from the file.
const EXTERNAL_ALIGNMENT = 4096;

/** The weights as graph initializers or inputs, and the operations every layer is written in. */
interface DecoderParts {
  readonly graph: OnnxGraphBuilder;
  readonly config: LlamaConfig;
  readonly source: WeightSource;
  /** Whether the model has this weight (a bias, an untied head). */
  has(name: string): boolean;
  /** A projection as an `[in, out]` initializer or input. */
  projection(name: string): string;
  vector(name: string): string;
  rmsNorm(value: string, weight: string): string;
  /** value @ W (+ bias when the model has it). */
  linear(value: string, weight: string, bias?: string): string;
  /** With int8 weights: value @ W for W stored `[outputs, inputs]` (rows) or in the graph layout (columns). */
  int8Product?(value: string, name: string, layout: 'rows' | 'columns'): string;
  /** [batch, sequence, heads * headDimension] to [batch, heads, sequence, headDimension]. */
  splitHeads(value: string, count: number): string;
}

function decoderParts(graph: OnnxGraphBuilder, config: LlamaConfig, source: WeightSource): DecoderParts {
  const { headDimension, rmsNormEpsilon } = config;
  const shapes = llamaWeightShapes(config);
  const declared = new Set<string>();
  const has = (name: string) => (source.kind === 'inputs' ? shapes.has(name) : source.weights.has(name));
  const tensor = (name: string): WeightTensor => {
    const found = source.kind === 'inputs' ? undefined : source.weights.get(name);
    if (found === undefined) throw new Error(`missing weight ${name}`);
    return found;
  };
  let end = 0;
  // A graph-layout weight as an initializer, in the graph or in the external file.
  const stored = (name: string, shape: readonly number[], data: Float32Array | Uint8Array) => {
    if (declared.has(name)) return name;
    declared.add(name);
    if (source.kind !== 'external') return graph.weight(name, shape, data);
    const offset = Math.ceil(end / EXTERNAL_ALIGNMENT) * EXTERNAL_ALIGNMENT;
    end = offset + data.byteLength;
    source.pieces.push({ data, offset });
    const type = data instanceof Uint8Array ? 'uint8' : 'float32';
    return graph.externalWeight(name, shape, source.location, offset, data.byteLength, type);
  };
  // A product with int8 weights: the matrix quantized once per graph, however often it is used.
  const int8Product = (value: string, name: string, layout: 'rows' | 'columns') => {
    const { shape, data } = tensor(name);
    const [first, second] = shape as [number, number];
    const [outputs, inputs] = layout === 'rows' ? [first, second] : [second, first];
    const quantizedName = `${name}.int8`;
    if (!declared.has(quantizedName)) {
      const blocks = quantizeInt8Blocks(data, outputs, inputs, layout);
      stored(quantizedName, [outputs, blocks.blocks, INT8_BLOCK_SIZE], blocks.data);
      stored(`${name}.scales`, [outputs * blocks.blocks], blocks.scales);
    }
    return graph.node(
      'MatMulNBits',
      [value, quantizedName, `${name}.scales`],
      { K: inputs, N: outputs, bits: 8, block_size: INT8_BLOCK_SIZE, accuracy_level: 4 },
      { domain: 'com.microsoft' },
    );
  };
  const int8 = source.kind === 'external' && source.precision === 'int8';
  // A weight as a graph input (once, however often it is used), in the graph layout.
  const input = (name: string) => {
    const shape = shapes.get(name);
    if (shape === undefined) throw new Error(`missing weight ${name}`);
    if (!declared.has(name)) graph.input(name, 'float32', graphLayoutShape(name, shape));
    declared.add(name);
    return name;
  };
  // Projections are [out, in] in Hugging Face's layout: stored transposed.
  const projection = (name: string) => {
    if (source.kind === 'inputs') return input(name);
    const { shape, data } = tensor(name);
    if (source.kind === 'external' || source.graphLayout) return stored(name, shape, data);
    const [out, inner] = shape as [number, number];
    return graph.weight(name, [inner, out], transposeMatrix(data, out, inner));
  };
  const vector = (name: string) => {
    if (source.kind === 'inputs') return input(name);
    const { shape, data } = tensor(name);
    return stored(name, shape, data);
  };
  return {
    graph,
    config,
    source,
    has,
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
    ...(int8 ? { int8Product } : {}),
    linear(value, weight, bias) {
      const product = int8
        ? int8Product(value, weight, 'columns')
        : graph.node('MatMul', [value, projection(weight)]);
      return bias !== undefined && has(bias) ? graph.node('Add', [product, vector(bias)]) : product;
    },
    splitHeads: (value, count) =>
      graph.node('Transpose', [graph.node('Reshape', [value, graph.int64s([0, 0, count, headDimension])])], {
        perm: [0, 2, 1, 3],
      }),
  };
}

/**
 * The rotate-half rotary embedding of a projection's heads: `(projection, count)` takes [batch, sequence, count *
 * headDimension] and gives the rotated [batch, count, sequence, headDimension] heads. The angles are computed once
 * per run from the position ids (float32 products, then Cos and Sin).
 *
 * `fused` (the SDK's own generation graphs) applies it with onnxruntime's `RotaryEmbedding` to the projection
 * before its heads are split (the 3-D layout every provider's kernel reads): one node per use instead of seven
 * (two slices, a negation, a concatenation, two products and a sum; onnxruntime fuses the slices into one split),
 * which cost a decode step about as much as they compute. Its cosine and sine "caches" are this run's own angles,
 * [batch * sequence, headDimension / 2], looked up by each position's row number. Otherwise (a graph for others to
 * run) it is written with standard operators only.
 */
function rotaryEmbedding(
  parts: DecoderParts,
  positionIds: string,
  fused: boolean,
): (projection: string, count: number) => string {
  const { graph, config, splitHeads } = parts;
  const { headDimension } = config;
  const half = headDimension / 2;
  const inverseFrequencies = graph.float32s(
    Array.from({ length: half }, (_, index) => config.ropeTheta ** (-(2 * index) / headDimension)),
    [half],
  );
  if (fused) {
    const positions = graph.node('Reshape', [
      graph.node('Cast', [positionIds], { to: 1 }),
      graph.int64s([-1, 1]),
    ]);
    const angles = graph.node('Mul', [positions, inverseFrequencies]);
    const cosine = graph.node('Cos', [angles]);
    const sine = graph.node('Sin', [angles]);
    // Row numbers 0 .. batch * sequence - 1 in the position ids' shape: each position reads its own row.
    const rows = graph.node('Reshape', [
      graph.node('Range', [
        graph.int64s([0], { scalar: true }),
        graph.node('Size', [positionIds]),
        graph.int64s([1], { scalar: true }),
      ]),
      graph.node('Shape', [positionIds]),
    ]);
    return (projection: string, count: number): string =>
      splitHeads(
        graph.node(
          'RotaryEmbedding',
          [projection, rows, cosine, sine],
          { interleaved: 0, num_heads: count },
          { domain: 'com.microsoft' },
        ),
        count,
      );
  }
  const positions = graph.node('Unsqueeze', [
    graph.node('Cast', [positionIds], { to: 1 }),
    graph.int64s([-1]),
  ]);
  const frequencies = graph.node('Mul', [positions, inverseFrequencies]);
  const angles = graph.node('Concat', [frequencies, frequencies], { axis: -1 });
  const cosine = graph.node('Unsqueeze', [graph.node('Cos', [angles]), graph.int64s([1])]);
  const sine = graph.node('Unsqueeze', [graph.node('Sin', [angles]), graph.int64s([1])]);
  return (projection: string, count: number): string => {
    const heads = splitHeads(projection, count);
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
 * The additive masks of an `append` graph: `cache` [batch, 1, 1, capacity] from the first `capacity` columns of
 * the attention mask (filled cache positions all precede the new ones), and `own` [batch, 1, sequence,
 * sequence] over this run's positions (causal, and the mask's last `sequence` columns).
 */
function appendMaskBiases(
  graph: OnnxGraphBuilder,
  inputIds: string,
  attentionMask: string,
): { cache: string; own: string } {
  const zero = graph.int64s([0], { scalar: true });
  const one = graph.int64s([1], { scalar: true });
  const dimension = (tensor: string, axis: number) =>
    graph.node('Slice', [
      graph.node('Shape', [tensor]),
      graph.int64s([axis]),
      graph.int64s([axis + 1]),
      graph.int64s([0]),
    ]);
  const sequenceLength = dimension(inputIds, 1);
  const capacity = graph.node('Sub', [dimension(attentionMask, 1), sequenceLength]);
  const bias = (kept: string) => graph.node('Where', [kept, graph.float32s([0]), graph.float32s([MASKED])]);
  const keptColumns = (start: string, end: string) =>
    graph.node('Cast', [graph.node('Slice', [attentionMask, start, end, graph.int64s([1])])], { to: 9 });
  const cache = bias(
    graph.node('Unsqueeze', [keptColumns(graph.int64s([0]), capacity), graph.int64s([1, 2])]),
  );
  const positions = graph.node('Range', [
    zero,
    graph.node('Squeeze', [sequenceLength, graph.int64s([0])]),
    one,
  ]);
  const causal = graph.node('LessOrEqual', [
    graph.node('Unsqueeze', [positions, graph.int64s([0])]),
    graph.node('Unsqueeze', [positions, graph.int64s([1])]),
  ]);
  const ownKept = graph.node('Unsqueeze', [
    keptColumns(capacity, graph.int64s([Number.MAX_SAFE_INTEGER])),
    graph.int64s([1, 2]),
  ]);
  return { cache, own: bias(graph.node('And', [causal, ownKept])) };
}

/** The attention masks of a graph: one bias over past and new keys, or one per part of an `append` graph. */
type AttentionMasks =
  | { readonly kind: 'concat'; readonly bias: string }
  | { readonly kind: 'append'; readonly cache: string; readonly own: string };

/**
 * x + o(attention(norm(x))) of one layer, with its key/value cache in (`past_key_values.N`) and out
 * (`present.N`, past and new, or `new_key_values.N`, new only).
 */
function attentionBlock(
  parts: DecoderParts,
  layer: number,
  x: string,
  shared: {
    /** A projection [batch, sequence, count * headDimension] to its rotated heads (see rotaryEmbedding). */
    readonly rotate: (projection: string, count: number) => string;
    readonly masks: AttentionMasks;
    readonly scale: string;
  },
): string {
  const { graph, config, linear, splitHeads } = parts;
  const { headCount, keyValueHeadCount, headDimension } = config;
  const { rotate, masks, scale } = shared;
  const names = LLAMA_GRAPH_NAMES;
  const prefix = `model.layers.${layer}`;
  const attention = `${prefix}.self_attn`;
  const h = parts.rmsNorm(x, parts.vector(`${prefix}.input_layernorm.weight`));
  const query = rotate(linear(h, `${attention}.q_proj.weight`, `${attention}.q_proj.bias`), headCount);
  const newKeys = rotate(
    linear(h, `${attention}.k_proj.weight`, `${attention}.k_proj.bias`),
    keyValueHeadCount,
  );
  const newValues = splitHeads(
    linear(h, `${attention}.v_proj.weight`, `${attention}.v_proj.bias`),
    keyValueHeadCount,
  );
  const cacheShape = ['batch', keyValueHeadCount, 'past_sequence', headDimension];
  const pastKeys = graph.input(names.pastKey(layer), 'float32', cacheShape);
  const pastValues = graph.input(names.pastValue(layer), 'float32', cacheShape);
  // Grouped-query attention without repeating keys: the `group` query heads of one key/value head are
  // consecutive, so [batch, heads, sequence, d] reshapes to [batch, kvHeads, group * sequence, d] and
  // multiplies that head's keys directly.
  const groupedQuery = graph.node('Reshape', [
    graph.node('Mul', [query, scale]),
    graph.int64s([0, keyValueHeadCount, -1, headDimension]),
  ]);
  const scoresAgainst = (keys: string, bias: string) =>
    graph.node('Add', [
      graph.node('Reshape', [
        graph.node('MatMul', [groupedQuery, graph.node('Transpose', [keys], { perm: [0, 1, 3, 2] })]),
        graph.int64s([0, headCount, -1, 0]),
      ]),
      bias,
    ]);
  const weighted = (probabilities: string, values: string) =>
    graph.node('MatMul', [
      graph.node('Reshape', [probabilities, graph.int64s([0, keyValueHeadCount, -1, 0])]),
      values,
    ]);
  let attended: string;
  if (masks.kind === 'concat') {
    const presentShape = ['batch', keyValueHeadCount, 'total_sequence', headDimension];
    const keys = graph.node('Concat', [pastKeys, newKeys], { axis: 2 });
    const values = graph.node('Concat', [pastValues, newValues], { axis: 2 });
    graph.output(keys, names.presentKey(layer), 'float32', presentShape);
    graph.output(values, names.presentValue(layer), 'float32', presentShape);
    const probabilities = graph.node('Softmax', [scoresAgainst(keys, masks.bias)], { axis: -1 });
    attended = weighted(probabilities, values);
  } else {
    // Scores against the cache buffer and against this run's keys, one softmax over both without joining them:
    // each part's exponentials (less the largest score of the row, over both parts) weigh its own values, and
    // the sum is divided by the row's total once. Neither the cache nor the new keys, nor the scores, are copied
    // into a longer tensor (a prompt's scores, [batch, heads, prompt, prompt], were, twice, at a quarter of its
    // prefill time).
    const newShape = ['batch', keyValueHeadCount, 'sequence', headDimension];
    graph.output(newKeys, names.newKey(layer), 'float32', newShape);
    graph.output(newValues, names.newValue(layer), 'float32', newShape);
    const cacheScores = scoresAgainst(pastKeys, masks.cache);
    const ownScores = scoresAgainst(newKeys, masks.own);
    const rowMaximum = (scores: string) => graph.node('ReduceMax', [scores], { axes: [-1], keepdims: 1 });
    const largest = graph.node('Max', [rowMaximum(cacheScores), rowMaximum(ownScores)]);
    const exponentials = (scores: string) => graph.node('Exp', [graph.node('Sub', [scores, largest])]);
    const [cacheWeights, ownWeights] = [exponentials(cacheScores), exponentials(ownScores)];
    const rowSum = (weights: string) =>
      graph.node('ReduceSum', [weights, graph.int64s([-1])], { keepdims: 1 });
    const total = graph.node('Add', [rowSum(cacheWeights), rowSum(ownWeights)]);
    attended = graph.node('Div', [
      graph.node('Add', [weighted(cacheWeights, pastValues), weighted(ownWeights, newValues)]),
      graph.node('Reshape', [total, graph.int64s([0, keyValueHeadCount, -1, 1])]),
    ]);
  }
  const merged = graph.node('Reshape', [
    graph.node(
      'Transpose',
      [graph.node('Reshape', [attended, graph.int64s([0, headCount, -1, headDimension])])],
      { perm: [0, 2, 1, 3] },
    ),
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

/** The final norm and the head, over the last `logits_to_keep` positions, as the `logits` output (returned). */
function writeLogits(parts: DecoderParts, x: string): string {
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
  let logits: string;
  if (parts.int8Product !== undefined)
    // The head as the embedding's rows ([vocabulary, hidden]) when tied, as a projection when not.
    logits = config.tieWordEmbeddings
      ? parts.int8Product(normed, 'model.embed_tokens.weight', 'rows')
      : parts.int8Product(normed, 'lm_head.weight', 'columns');
  else if (!config.tieWordEmbeddings)
    logits = graph.node('MatMul', [normed, parts.projection('lm_head.weight')]);
  else {
    // A tied head is the embedding as it is ([vocabulary, hidden]): Gemm multiplies by its transpose without a
    // transposed copy (onnxruntime packs a constant one once, as it packs every projection).
    const rows = graph.node('Reshape', [normed, graph.int64s([-1, hiddenSize])]);
    const product = graph.node('Gemm', [rows, parts.vector('model.embed_tokens.weight')], { transB: 1 });
    const leading = graph.node('Slice', [
      graph.node('Shape', [normed]),
      graph.int64s([0]),
      graph.int64s([2]),
      graph.int64s([0]),
    ]);
    logits = graph.node('Reshape', [
      product,
      graph.node('Concat', [leading, graph.int64s([vocabularySize])], { axis: 0 }),
    ]);
  }
  graph.output(logits, LLAMA_GRAPH_NAMES.logits, 'float32', ['batch', 'kept_sequence', vocabularySize]);
  return logits;
}
