/**
 * `@azr/backends/tfjs`: the TensorFlow.js engine, which trains through autograd.
 *
 * `createTfjsPolicy` generates and trains a Llama-family model on the wasm backend by default, or on
 * `@tensorflow/tfjs-node(-gpu)` where installed; `initializeTfjs` starts TensorFlow.js on the chosen backend.
 */

export {
  disposeCache,
  type LlamaCache,
  llamaForward,
  llamaForwardCached,
  type TfjsLlamaWeights,
  toTfjsWeights,
} from './llama-forward.js';
export { createTfjsPolicy, type TfjsModelSource, type TfjsPolicySettings } from './policy.js';
export {
  type InitializeTfjsSettings,
  initializeTfjs,
  TFJS_BACKEND_NAMES,
  type TfjsBackendName,
  type TfjsModule,
  type TfjsRuntime,
} from './runtime.js';
