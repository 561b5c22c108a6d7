import { ConfigError } from '@azr/core/spec';
import type { LlamaConfig } from '../model/config.js';
import { llamaWeightShapes } from '../model/weights.js';
import { OnnxGraphBuilder } from './graph-builder.js';
import { graphLayoutShape } from './layout.js';
import { buildBackwardPass } from './training-graph/backward.js';
import { buildForwardPass } from './training-graph/forward.js';
import { TRAINING_GRAPH_NAMES } from './training-graph/names.js';
import {
  buildObjective,
  TRAINING_STATISTICS_OUTPUTS,
  type TrainingBatchInputs,
  writeStatistics,
} from './training-graph/objective.js';
import {
  createTrainingOperations,
  declareGradientSumInputs,
  declareWeightInputs,
  type TrainingGraphOperations,
} from './training-graph/operations.js';
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
 *
 * `microBatchLoop: true` (which implies `accumulate` and `packed`) runs several micro-batches in one call: the
 * inputs hold them one after another (`micro_batches` says where each one's tokens and counted positions are),
 * and an ONNX `Loop` runs the forward and backward pass of each in turn, carrying the gradient sums and the
 * statistics (summed in float32) from one to the next. A step then costs one call, and one copy of the
 * gradients out of onnxruntime-node (which copies every output of a call into new JavaScript memory), instead of
 * one per micro-batch. onnxruntime holds the carried sums in its own memory meanwhile: a micro-batch's inputs
 * (the previous sums) and its outputs (the new ones) are alive together, and the last sums are copied into the
 * outputs, so the peak holds two to three sets of gradients more than a call per micro-batch (measured: 1.4 GB
 * more for SmolLM2-135M's 0.54 GB of weights, 4.4 GB more for Qwen2.5-0.5B's 2 GB, recomputing activations).
 * With `gradients: false`, `packed: false` or `accumulate: false` it is a `ConfigError`: the loop graph
 * accumulates packed rows' gradients.
 */
export async function buildLlamaTrainingGraph(
  config: LlamaConfig,
  options: {
    readonly gradients?: boolean;
    readonly accumulate?: boolean;
    readonly recomputeActivations?: boolean;
    readonly packed?: boolean;
    readonly microBatchLoop?: boolean;
  } = {},
): Promise<Uint8Array> {
  if (options.microBatchLoop === true) {
    const conflicting = (['gradients', 'packed', 'accumulate'] as const).filter(
      (name) => options[name] === false,
    );
    if (conflicting.length > 0)
      throw new ConfigError(
        `microBatchLoop sums packed rows' gradients; it cannot be combined with ${conflicting.map((name) => `${name}: false`).join(', ')}.`,
        { field: 'microBatchLoop' },
      );
    return buildMicroBatchLoopGraph(config, options);
  }
  const graph = new OnnxGraphBuilder(
    options.gradients === false ? 'azr-llama-training-statistics' : 'azr-llama-training-step',
  );
  // The pieces write into one builder in this order (weights, batch, positions, forward, objective, backward),
  // which fixes the graph's node names and bytes.
  const operations = createTrainingOperations(graph, config, { accumulate: options.accumulate === true });
  const inputs = declareBatchInputs(
    graph,
    graph.input(TRAINING_GRAPH_NAMES.inputIds, 'int64', ['batch', 'length']),
  );
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
  writeStatistics(graph, objective.statistics);
  // Without gradients: the forward pass and the loss's sums alone (for sequences that carry no gradient).
  if (options.gradients === false) return graph.encode();
  buildBackwardPass(operations, positions, inputs, forward, objective, options.recomputeActivations === true);
  writeGradients(graph, config, operations, TRAINING_GRAPH_NAMES.gradient);
  return graph.encode();
}

/**
 * The training graph over several micro-batches (see `microBatchLoop` above): the batch inputs, flat; a `Loop`
 * whose body cuts one micro-batch out of them and runs the same forward pass, objective and backward pass as
 * the graph of one call, adding its gradients to the carried sums (`Gemm`'s C, as with `accumulate`) and its
 * statistics to the carried totals. The outputs are those of the one-call graph: the final sums and totals.
 */
async function buildMicroBatchLoopGraph(
  config: LlamaConfig,
  options: { readonly recomputeActivations?: boolean },
): Promise<Uint8Array> {
  const names = TRAINING_GRAPH_NAMES;
  const graph = new OnnxGraphBuilder('azr-llama-training-loop');
  const weights = declareWeightInputs(graph, config);
  const sums = declareGradientSumInputs(graph, config);
  const inputs = declareBatchInputs(graph, graph.input(names.inputIds, 'int64', ['tokens']));
  const flat = {
    positionIds: graph.input(names.positionIds, 'int64', ['tokens']),
    segmentIds: graph.input(names.segmentIds, 'int64', ['tokens']),
  };
  const microBatches = graph.input(names.microBatches, 'int64', ['micro_batches', 6]);

  // The body: iteration i, the loop's condition, then the carried sums and totals.
  const body = graph.subgraph('micro_batch');
  const iteration = body.input('micro_batch.iteration', 'int64', []);
  const condition = body.input('micro_batch.condition', 'bool', []);
  const carriedSums = declareGradientSumInputs(body, config, (name) => `carried.grad.${name}`);
  const carriedTotals = TRAINING_STATISTICS_OUTPUTS.map((name) =>
    body.input(`carried.${name}`, 'float32', []),
  );
  const operations = createTrainingOperations(body, config, { weights, gradientSums: carriedSums });
  const { node, i64 } = operations;
  const row = node('Gather', [microBatches, iteration], { axis: 0 });
  const field = (index: number) => node('Slice', [row, i64([index]), i64([index + 1]), i64([0])]);
  const gridShape = node('Slice', [row, i64([0]), i64([2]), i64([0])]);
  const [tokenStart, tokenEnd, countedStart, countedEnd] = [2, 3, 4, 5].map(field) as [
    string,
    string,
    string,
    string,
  ];
  const grid = (values: string) =>
    node('Reshape', [node('Slice', [values, tokenStart, tokenEnd, i64([0])]), gridShape]);
  const counted = (values: string, axis: number) =>
    node('Slice', [values, countedStart, countedEnd, i64([axis])]);
  const own: TrainingBatchInputs = {
    ...inputs,
    inputIds: grid(inputs.inputIds),
    logitPositions: counted(inputs.logitPositions, 0),
    targets: counted(inputs.targets, 1),
    mask: counted(inputs.mask, 1),
    oldLogProbs: counted(inputs.oldLogProbs, 1),
    proximalFromCurrent: counted(inputs.proximalFromCurrent, 1),
    behaviourLogProbs: counted(inputs.behaviourLogProbs, 1),
    advantages: counted(inputs.advantages, 1),
  };
  const positions = buildPositionTables(operations, own.inputIds, {
    positionIds: grid(flat.positionIds),
    segmentIds: grid(flat.segmentIds),
  });
  const forward = buildForwardPass(operations, positions, own.inputIds, own.logitPositions);
  const objective = buildObjective(operations, own, forward.logits);
  buildBackwardPass(operations, positions, own, forward, objective, options.recomputeActivations === true);
  body.output(condition, 'micro_batch.condition_out', 'bool', []);
  writeGradients(body, config, operations, (name) => `carried_out.grad.${name}`);
  TRAINING_STATISTICS_OUTPUTS.forEach((name, index) => {
    body.output(
      node('Add', [carriedTotals[index] as string, objective.statistics.get(name) as string]),
      `carried_out.${name}`,
      'float32',
      [],
    );
  });

  // The loop, once per row of micro_batches, from the sums fed in and totals of 0.
  const tripCount = graph.node(
    'Gather',
    [graph.node('Shape', [microBatches]), graph.int64s([0], { scalar: true })],
    { axis: 0 },
  );
  const zero = graph.float32s([0]);
  const outputs = graph.nodeWithOutputs(
    'Loop',
    [tripCount, '', ...sums.values(), ...TRAINING_STATISTICS_OUTPUTS.map(() => zero)],
    sums.size + TRAINING_STATISTICS_OUTPUTS.length,
    { body: { graph: body } },
  );
  [...llamaWeightShapes(config)].forEach(([name, shape], index) => {
    graph.output(outputs[index] as string, names.gradient(name), 'float32', [
      ...graphLayoutShape(name, shape),
    ]);
  });
  writeStatistics(
    graph,
    new Map(TRAINING_STATISTICS_OUTPUTS.map((name, index) => [name, outputs[sums.size + index] as string])),
  );
  return graph.encode();
}

/**
 * Declares every weight's gradient, as the operations collected it, an output of `graph` named by `naming` (in
 * `llamaWeightShapes` order, the graph layout's shapes).
 */
function writeGradients(
  graph: OnnxGraphBuilder,
  config: LlamaConfig,
  operations: TrainingGraphOperations,
  naming: (name: string) => string,
): void {
  for (const [name, shape] of llamaWeightShapes(config)) {
    const gradient = operations.gradient(name);
    if (gradient === undefined) throw new Error(`no gradient for ${name}`);
    graph.output(gradient, naming(name), 'float32', [...graphLayoutShape(name, shape)]);
  }
}

/** Declares the batch's inputs besides `input_ids`, which the caller declared in the shape it reads. */
function declareBatchInputs(graph: OnnxGraphBuilder, inputIds: string): TrainingBatchInputs {
  const names = TRAINING_GRAPH_NAMES;
  return {
    inputIds,
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
