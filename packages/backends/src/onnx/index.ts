/**
 * `@azr/backends/onnx`: the onnxruntime-node engine.
 *
 * Generation for Llama-family decoders, built from a model config and weights or loaded from a Hugging Face
 * style ONNX export, arrives with the backends work; what is here loads the runtime and inspects graphs.
 */

export { importGenaiLlamaWeights } from './import-weights.js';
export {
  type DescribeOnnxModelSettings,
  describeOnnxModel,
  loadOnnxRuntime,
  type OnnxModelDescription,
  type OnnxRuntimeModule,
  type OnnxValueDescription,
} from './runtime.js';
