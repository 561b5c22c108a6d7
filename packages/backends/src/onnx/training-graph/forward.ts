import type { RmsNormState, TrainingGraphOperations } from './operations.js';
import type { PositionTables } from './positions.js';

/** What one decoder layer's forward pass keeps for its backward pass. */
export interface LayerActivations {
  readonly prefix: string;
  readonly input: RmsNormState;
  readonly h: string;
  readonly queries: string;
  readonly keys: string;
  readonly values: string;
  readonly probabilities: string;
  readonly merged: string;
  readonly post: RmsNormState;
  readonly h2: string;
  readonly gate: string;
  readonly gateSigmoid: string;
  readonly swish: string;
  readonly up: string;
  readonly gated: string;
}

/** The forward pass, with what the backward pass needs. */
export interface ForwardPass {
  readonly embedding: string;
  readonly layers: readonly LayerActivations[];
  /** The last layer's output, `[batch, length, hidden]`. */
  readonly lastOutput: string;
  /** The counted positions (`logit_positions`). */
  readonly logitPositions: string;
  /** The final norm, over the last layer's output at the counted positions (`[1, counted, hidden]`). */
  readonly final: RmsNormState;
  /** The head's weight: `lm_head.weight` as [hidden, vocabulary], or when tied the embedding, [vocabulary, hidden]. */
  readonly head: string;
  readonly logits: string;
}

/** Writes the forward pass over `inputIds` to the logits of the counted positions (`[1, counted, vocabulary]`). */
export function buildForwardPass(
  operations: TrainingGraphOperations,
  positions: PositionTables,
  inputIds: string,
  logitPositions: string,
): ForwardPass {
  const { config, node, weight, product, flat, i64 } = operations;
  const embedding = weight('model.embed_tokens.weight');
  let x = node('Gather', [embedding, inputIds], { axis: 0 });
  const layers: LayerActivations[] = [];
  for (let layer = 0; layer < config.layerCount; layer += 1) {
    const activations = decoderLayer(operations, positions, `model.layers.${layer}`, x);
    layers.push(activations.kept);
    x = activations.output;
  }
  // Only the counted positions reach the head: [batch, length, hidden] rows picked to [1, counted, hidden].
  const counted = node('Unsqueeze', [
    node('Gather', [flat(x, config.hiddenSize), logitPositions], { axis: 0 }),
    i64([0]),
  ]);
  const final = operations.rmsNorm(counted, weight('model.norm.weight'));
  // A tied head multiplies by the embedding transposed inside the product (Gemm's transB), not by a copy.
  const head = config.tieWordEmbeddings ? embedding : weight('lm_head.weight');
  const logits = config.tieWordEmbeddings
    ? node('Unsqueeze', [
        node('Gemm', [flat(final.output, config.hiddenSize), embedding], { transB: 1 }),
        i64([0]),
      ])
    : product(final.output, head);
  return { embedding, layers, lastOutput: x, logitPositions, final, head, logits };
}

/** One decoder layer's forward pass from its input `x`: its output, and what its backward pass reads. */
export function decoderLayer(
  operations: TrainingGraphOperations,
  positions: PositionTables,
  prefix: string,
  x: string,
): { kept: LayerActivations; output: string } {
  const { config, node, f32, weight, bias, product, rmsNorm, splitHeads, mergeHeads, grouped, ungrouped } =
    operations;
  const { headCount, keyValueHeadCount, headDimension } = config;
  const { rotate, causalBias } = positions;
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
    f32(operations.scale),
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
    ungrouped(node('MatMul', [grouped(queries, headDimension), operations.swapLast(keys)]), 0),
    causalBias,
  ]);
  const probabilities = node('Softmax', [scores], { axis: -1 });
  const attended = ungrouped(node('MatMul', [grouped(probabilities, 0), values]), headDimension);
  const merged = mergeHeads(attended, headCount);
  const middle = node('Add', [x, product(merged, weight(`${attention}.o_proj.weight`))]);
  const post = rmsNorm(middle, weight(`${prefix}.post_attention_layernorm.weight`));
  const h2 = post.output;
  const gate = product(h2, weight(`${prefix}.mlp.gate_proj.weight`));
  const gateSigmoid = node('Sigmoid', [gate]);
  const swish = node('Mul', [gate, gateSigmoid]);
  const up = product(h2, weight(`${prefix}.mlp.up_proj.weight`));
  const gated = node('Mul', [swish, up]);
  const output = node('Add', [middle, product(gated, weight(`${prefix}.mlp.down_proj.weight`))]);
  return {
    kept: {
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
    },
    output,
  };
}
