/**
 * `@azr/backends/tfjs`: the TensorFlow.js engine (training through autograd).
 *
 * The Llama-family policy arrives with the backends work; what is here starts TensorFlow.js on the right
 * backend.
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
