/**
 * `@azr/backends`: policy models for the Absolute Zero SDK.
 *
 * The model layer both engines share is here: Llama-family configs (`parseLlamaConfig`, `LLAMA_PRESETS`),
 * safetensors, seeded initialisation, Hugging Face tokenizers and model folders (`inspectModelFolder` says what
 * a folder holds: safetensors, a sharded checkpoint, an ONNX export). Each engine has its own
 * entry point, so that its runtime is loaded only when used: `@azr/backends/onnx` (onnxruntime-node) and
 * `@azr/backends/tfjs` (TensorFlow.js). `createHybridPolicy` pairs a policy of each: generation on onnxruntime,
 * training on TensorFlow.js.
 */
export {
  createHybridPolicy,
  type HybridPolicy,
  type HybridPolicySettings,
} from './hybrid/hybrid-policy.js';
export * from './model/index.js';
export {
  DEFAULT_ONNX_ACTIVATION_MEMORY_BUDGET,
  DEFAULT_TFJS_ACTIVATION_MEMORY_BUDGET,
} from './shared/batching.js';
export {
  GENERATION_CONFIG_FILE,
  type GenerationConfig,
  readGenerationConfig,
} from './shared/generation-config.js';
export { importOptional } from './shared/import-optional.js';
export type { LlamaPolicyModel } from './shared/llama-policy.js';
export {
  type TrainingMemoryPlan,
  type TrainingPassShape,
  trainingMemoryPlan,
} from './shared/memory-plan.js';
export type { LlamaModelSource } from './shared/model-source.js';

/** The engines this package provides, each at the subpath of the same name. */
export const ENGINE_NAMES = ['onnx', 'tfjs'] as const;

/** One of {@link ENGINE_NAMES}. */
export type EngineName = (typeof ENGINE_NAMES)[number];
