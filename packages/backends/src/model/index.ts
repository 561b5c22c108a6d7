export { LLAMA_PRESETS, type LlamaConfig, llamaConfigToJson, parseLlamaConfig } from './config.js';
export { type ModelDirectory, readModelDirectory, writeModelDirectory } from './directory.js';
export {
  halfToFloat,
  type NamedTensor,
  readSafetensors,
  type SafetensorsDtype,
  writeSafetensors,
} from './safetensors.js';
export { loadHuggingFaceTokenizer } from './tokenizer.js';
export {
  checkLlamaWeights,
  type InitializeSettings,
  initializeLlamaWeights,
  type LlamaWeights,
  llamaWeightShapes,
  type WeightTensor,
} from './weights.js';
