import type { LlamaConfig } from '../model/config.js';
import { llamaWeightShapes } from '../model/weights.js';
import { OnnxGraphBuilder } from './graph-builder.js';
import { graphLayoutShape } from './layout.js';
import { buildBackwardPass } from './training-graph/backward.js';
import { buildForwardPass } from './training-graph/forward.js';
import { TRAINING_GRAPH_NAMES } from './training-graph/names.js';
import { buildObjective, type TrainingBatchInputs } from './training-graph/objective.js';
import { createTrainingOperations } from './training-graph/operations.js';
import { buildPositionTables } from './training-graph/positions.js';

export { TRAINING_GRAPH_NAMES };

/**
 * Writes the ONNX graph of one policy-gradient step of a Llama-family model: the forward pass over right-padded
 * sequences (positions from 0, causal attention), logits at the counted positions only (`logit_positions`), the PPO-clip token-level loss with an optional entropy bonus
 * (the same objective as the tfjs engine: `-min(r A, clip(r) A) - c H`, summed over counted tokens and divided by
 * the batch's token count), and the gradient of every weight, derived by hand for this fixed architecture
 * (RMSNorm, rotary embedding, grouped-query attention, SwiGLU, tied or untied head). Standard opset-17
 * operators; onnxruntime fuses the transposes into its products. `gradients: false` writes the forward pass and
 * the loss's outputs alone. `recomputeActivations: true` computes each layer's activations again during the
 * backward pass instead of keeping them from the forward pass (gradient checkpointing per layer: one layer's
 * activations held instead of all of them, for about a third more arithmetic; the same gradients). `accumulate: true` adds an input `grad_in.<name>` per weight and outputs
 * `grad_in + gradient` (the products accumulate onto it as Gemm's C), so that micro-batches sum their gradients inside the graph: the trainer feeds its running
 * sums and has onnxruntime write the new sums over them (preallocated outputs), with no gradient-sized buffer of
 * onnxruntime's own and no sum in JavaScript. `packed: true` adds the inputs `position_ids` and `segment_ids`
 * (int64 `[batch, length]`): a row then holds one prompt and several of its completions, each attending to the
 * prompt and to itself only, so that a prompt shared by a group of answers runs once (see `packByPrompt`).
 */
export async function buildLlamaTrainingGraph(
  config: LlamaConfig,
  options: {
    readonly gradients?: boolean;
    readonly accumulate?: boolean;
    readonly recomputeActivations?: boolean;
    readonly packed?: boolean;
  } = {},
): Promise<Uint8Array> {
  const graph = new OnnxGraphBuilder(
    options.gradients === false ? 'azr-llama-training-statistics' : 'azr-llama-training-step',
  );
  // The pieces write into one builder in this order (weights, batch, positions, forward, objective, backward),
  // which fixes the graph's node names and bytes.
  const operations = createTrainingOperations(graph, config, { accumulate: options.accumulate === true });
  const inputs = declareBatchInputs(graph);
  const packed =
    options.packed === true
      ? {
          positionIds: graph.input(TRAINING_GRAPH_NAMES.positionIds, 'int64', ['batch', 'length']),
          segmentIds: graph.input(TRAINING_GRAPH_NAMES.segmentIds, 'int64', ['batch', 'length']),
        }
      : undefined;
  const positions = buildPositionTables(operations, inputs.inputIds, packed);
  const forward = buildForwardPass(operations, positions, inputs.inputIds, inputs.logitPositions);
  const objective = buildObjective(operations, inputs, forward.logits);
  // Without gradients: the forward pass and the loss's sums alone (for sequences that carry no gradient).
  if (options.gradients === false) return graph.encode();
  buildBackwardPass(operations, positions, inputs, forward, objective, options.recomputeActivations === true);
  for (const [name, shape] of llamaWeightShapes(config)) {
    const gradient = operations.gradient(name);
    if (gradient === undefined) throw new Error(`no gradient for ${name}`);
    graph.output(gradient, TRAINING_GRAPH_NAMES.gradient(name), 'float32', [
      ...graphLayoutShape(name, shape),
    ]);
  }
  return graph.encode();
}

function declareBatchInputs(graph: OnnxGraphBuilder): TrainingBatchInputs {
  const names = TRAINING_GRAPH_NAMES;
  return {
    inputIds: graph.input(names.inputIds, 'int64', ['batch', 'length']),
    logitPositions: graph.input(names.logitPositions, 'int64', ['counted']),
    targets: graph.input(names.targets, 'int64', [1, 'counted']),
    mask: graph.input(names.mask, 'float32', [1, 'counted']),
    oldLogProbs: graph.input(names.oldLogProbs, 'float32', [1, 'counted']),
    proximalFromCurrent: graph.input(names.proximalFromCurrent, 'float32', [1, 'counted']),
    behaviourLogProbs: graph.input(names.behaviourLogProbs, 'float32', [1, 'counted']),
    advantages: graph.input(names.advantages, 'float32', [1, 'counted']),
    temperature: graph.input(names.temperature, 'float32', [1]),
    clipRatio: graph.input(names.clipRatio, 'float32', [1]),
    entropyCoefficient: graph.input(names.entropyCoefficient, 'float32', [1]),
    importanceCap: graph.input(names.importanceCap, 'float32', [1]),
    denominator: graph.input(names.denominator, 'float32', [1]),
  };
}
