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
} from './model-folder.js';
export {
  floatToBfloat16,
  floatToHalf,
  halfToFloat,
  type NamedTensor,
  readSafetensors,
  type SafetensorsDtype,
  type SafetensorsEntry,
  type TensorToWrite,
  writeSafetensors,
} from './safetensors.js';
export {
  openSafetensorsFile,
  readSafetensorsFile,
  type SafetensorsFile,
} from './safetensors-file.js';
export { loadHuggingFaceTokenizer } from './tokenizer.js';
export {
  checkLlamaWeights,
  checkTensorShape,
  type InitializeSettings,
  initializeLlamaWeights,
  type LlamaWeights,
  llamaWeightShapes,
  type WeightTensor,
} from './weights.js';
