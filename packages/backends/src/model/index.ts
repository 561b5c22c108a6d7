export { LLAMA_PRESETS, type LlamaConfig, llamaConfigToJson, parseLlamaConfig } from './config.js';
export { type ModelDirectory, readModelDirectory, writeModelDirectory } from './directory.js';
export {
  type GenaiOnnxModelFolder,
  inspectModelFolder,
  inspectOnnxModelFile,
  MODEL_FOLDER_FILES,
  MODEL_FOLDER_KINDS,
  type ModelFolder,
  type OnnxExportModelFolder,
  type SafetensorsModelFolder,
  type ShardedSafetensorsModelFolder,
  shardedCheckpointError,
} from './model-folder.js';
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
