import type { LlamaConfig } from '../model/config.js';
import { llamaWeightShapes } from '../model/weights.js';

/** The shape of one training pass: `sequences` right-padded to `length` tokens. */
export interface TrainingPassShape {
  readonly sequences: number;
  readonly length: number;
  /**
   * Positions whose logits the pass computes. Default: every position, `sequences x length`. A graph that
   * computes them only where the loss reads them (the completions' tokens) passes their number.
   */
  readonly logitPositions?: number;
  /**
   * The graph computes each layer's activations again in its backward pass (`recomputeActivations`): it keeps
   * every layer's input and one layer's activations at a time, not every layer's. Default false.
   */
  readonly recomputeActivations?: boolean;
}

/** Bytes one training pass of a model holds, by what holds them (float32 throughout). */
export interface TrainingMemoryPlan {
  /** The weights. */
  readonly weights: number;
  /** One set of gradients, the size of the weights: the step's sum over its micro-batches. */
  readonly gradients: number;
  /** AdamW's two moments, each the size of the weights. */
  readonly optimizer: number;
  /**
   * What the pass holds besides weights and gradients at its peak: the activations the backward pass reads,
   * kept from the forward pass, and the largest temporaries formed while they are all held. Grows with the
   * pass's tokens (and its attention with `sequences x length^2`); micro-batches are sized on it.
   */
  readonly activations: number;
  readonly total: number;
}

const FLOAT_BYTES = 4;

/**
 * Memory of one pass of the SDK's own training graph (`buildLlamaTrainingGraph`) and the AdamW update after it,
 * counted from what that graph holds. Per token of the pass (`sequences x length` of them, padding included),
 * in float32 values:
 *
 * - per layer, what the backward pass reads: the layer's input, the input norm's normalized value, its output
 *   and its reciprocal (3 x width + 1); queries, keys, values and the merged attention output
 *   (2 x heads x head width + 2 x key/value heads x head width); the attention probabilities,
 *   `heads x length` per token (`[sequences, heads, length, length]` in all); the same four of the second norm
 *   (3 x width + 1); the MLP's gate, its sigmoid, the swish, the up projection and their product
 *   (5 x MLP width);
 * - with `recomputeActivations`, instead: each layer's input (width) and one layer's activations as above;
 * - the final norm (3 x width + 1) and the batch's inputs (two int64 and three float grids: 7);
 * - the larger of two peaks, which come one after the other. The objective holds, per logit position, the log
 *   probabilities, the probabilities and the one-hot targets (3 x vocabulary) until the backward pass starts,
 *   which forms the gradient of the logits beside them (2 x vocabulary more), and a tied head's gradient
 *   (vocabulary x width, once per pass: the embedding's rows are added to it later). A layer's backward pass
 *   forms, once the objective is released, the gradient of the attention probabilities, its product with them
 *   and a transposed copy (3 x heads x length), or the MLP's four gradients (4 x MLP width), or the norms'
 *   (6 x width).
 *
 * With a real vocabulary the objective dominates: SmolLM2-135M's 50k tokens cost 5 x 50,295 x 4 bytes, about
 * 1 MB, per logit position, next to about 1.9 MB per token for its 30 layers at 384 tokens. A graph that
 * computes logits only where the loss reads them says how many positions that is (`logitPositions`).
 *
 * Measured (onnxruntime-node 1.30, CPU, 2 threads, its arena on as `openSession` leaves it): the peak resident
 * memory of a process that runs one pass and the AdamW update, less its resident memory once onnxruntime is
 * loaded (`node packages/backends/bench/memory-plan.mjs --real`), came to 1.06 to 1.28 times the plan's total
 * for the tiny preset at 64 x 256 (1.06) and SmolLM2-135M's shape at 1 x 64, 1 x 384 and 2 x 384 (1.28, 1.14,
 * 1.07; logits at the completions' half of the positions). What the plan leaves out: about 40 MiB of
 * onnxruntime's own (sessions, threads), which is most of a small model's memory (1.40 for the tiny preset at
 * 16 x 128), and a second set of gradients: onnxruntime-node returns a copy of every output, even of one written
 * into the caller's buffer (the onnx trainer has its running sums written over in place and frees that copy
 * after each call). With the onnx trainer's `microBatchLoop` (its default without `recomputeActivations`), a
 * step's micro-batches run in one call whose loop carries the gradient sums in onnxruntime's memory: two to
 * three more sets of gradients at the peak, also left out (1.4 GB more for SmolLM2-135M's step of 8 x 384 in 8
 * micro-batches).
 * A step of several micro-batches holds more than one pass: before the trainer summed inside the graph, its
 * step of 8 x 384 in eight passes of one sequence (logits at every position) peaked at 1.63 times the plan
 * (5.0 GiB for a plan of 3.1), and at 1.08 with onnxruntime's CPU arena off (`enableCpuMemArena: false`),
 * which releases each pass's buffers instead of keeping them for the next.
 */
export function trainingMemoryPlan(config: LlamaConfig, shape: TrainingPassShape): TrainingMemoryPlan {
  const parameters = parameterCount(config);
  const weights = parameters * FLOAT_BYTES;
  const activations = trainingActivationBytes(config, shape);
  return {
    weights,
    gradients: weights,
    optimizer: 2 * weights,
    activations,
    total: 4 * weights + activations,
  };
}

/**
 * The activations part of {@link trainingMemoryPlan} alone (what micro-batches are sized on); 0 for an empty
 * pass.
 */
export function trainingActivationBytes(config: LlamaConfig, shape: TrainingPassShape): number {
  const { sequences, length } = shape;
  if (sequences <= 0 || length <= 0) return 0;
  const tokens = sequences * length;
  const logitPositions = Math.min(shape.logitPositions ?? tokens, tokens);
  const { hiddenSize, intermediateSize, headCount, keyValueHeadCount, headDimension, vocabularySize } =
    config;
  const norm = 3 * hiddenSize + 1;
  const layer =
    2 * norm +
    2 * headCount * headDimension +
    2 * keyValueHeadCount * headDimension +
    headCount * length +
    5 * intermediateSize;
  const batchInputs = 7;
  // Recomputing, the pass keeps each layer's input (width) and one layer's activations at a time.
  const layers =
    shape.recomputeActivations === true ? config.layerCount * hiddenSize + layer : config.layerCount * layer;
  const held = tokens * (layers + norm + batchInputs);
  // The objective's peak and a layer's backward pass come one after the other: the larger one counts.
  const objective = logitPositions * 5 * vocabularySize;
  const layerBackward = tokens * Math.max(3 * headCount * length, 4 * intermediateSize, 6 * hiddenSize);
  // A tied head's gradient is formed whole, beside the objective, before the embedding's rows are added to it.
  const tiedHead = config.tieWordEmbeddings ? vocabularySize * hiddenSize : 0;
  return (held + Math.max(objective + tiedHead, layerBackward)) * FLOAT_BYTES;
}

function parameterCount(config: LlamaConfig): number {
  let count = 0;
  for (const shape of llamaWeightShapes(config)) count += shape[1].reduce((total, size) => total * size, 1);
  return count;
}
