/**
 * `@azr/backends/onnx`: the onnxruntime-node engine.
 *
 * `createOnnxPolicy` runs a Llama-family model from a config and weights (the SDK writes the decoder graph and
 * a training graph with every gradient, so it generates and trains) or a decoder exported by others in the
 * Hugging Face key/value-cache layout (generation only).
 */

export { ADAMW_GRAPH_NAMES, type AdamWMoments, applyAdamW, buildAdamWGraph } from './adamw.js';
export { type DecoderLayout, readDecoderLayout } from './decoder-session.js';
export {
  type AttributeValue,
  type FloatAttribute,
  float,
  ONNX_OPSET,
  type OnnxElementType,
  OnnxGraphBuilder,
} from './graph-builder.js';
export { importGenaiLlamaWeights } from './import-weights.js';
export { graphLayoutShape, isGraphProjection, toGraphLayout, toHuggingFaceLayout } from './layout.js';
export { buildLlamaGraph, buildLlamaRolloutGraph, LLAMA_GRAPH_NAMES } from './llama-graph.js';
export {
  createOnnxPolicy,
  DEFAULT_IMPORTANCE_TRUNCATION,
  type OnnxModelSource,
  type OnnxPolicySettings,
} from './policy.js';
export { DEFAULT_GENERATION_CACHE_BYTES } from './policy-parts.js';
export { dequantizeInt8Blocks, INT8_BLOCK_SIZE, type Int8Blocks, quantizeInt8Blocks } from './quantize.js';
export {
  ROLLOUT_PRECISIONS,
  ROLLOUT_WEIGHTS,
  type RolloutPrecision,
  type RolloutWeights,
} from './rollout-session.js';
export {
  type DescribeOnnxModelSettings,
  describeOnnxModel,
  loadOnnxRuntime,
  type OnnxModelDescription,
  type OnnxRuntimeModule,
  type OnnxValueDescription,
} from './runtime.js';
export { SAMPLING_GRAPH_NAMES, samplingBlocks, writeSampling } from './sampling-graph.js';
export {
  ONNX_EXECUTION_PROVIDERS,
  type OnnxExecutionProvider,
  type OnnxSessionSettings,
} from './session.js';
export { buildLlamaTrainingGraph, TRAINING_GRAPH_NAMES } from './training-graph.js';
