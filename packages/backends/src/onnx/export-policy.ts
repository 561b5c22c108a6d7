import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ModelFormatError, UnsupportedCapabilityError } from '@azr/core/spec';
import {
  type GenaiOnnxModelFolder,
  MODEL_FOLDER_FILES,
  type OnnxExportModelFolder,
  readJsonIfPresent,
} from '../model/model-folder.js';
import { loadHuggingFaceTokenizer } from '../model/tokenizer.js';
import { readGenerationConfig } from '../shared/generation-config.js';
import type { LlamaPolicyModel } from '../shared/llama-policy.js';
import { DecoderSession, readDecoderLayout } from './decoder-session.js';
import type { OnnxPolicySettings } from './policy.js';
import { createPolicy, type GenerationBatchSize } from './policy-parts.js';
import type { OnnxRuntimeModule } from './runtime.js';
import { type OnnxSessionSettings, openSession } from './session.js';

/**
 * A policy of a decoder exported by others: run as it is, in the Hugging Face key/value-cache layout. The SDK does
 * not own its weights, so it neither trains nor hands them out; saving copies the export's folder.
 */
export async function createExportPolicy(
  runtime: OnnxRuntimeModule,
  folder: GenaiOnnxModelFolder | OnnxExportModelFolder,
  settings: OnnxSessionSettings & Pick<OnnxPolicySettings, 'maxSequenceLength' | 'modelId'>,
  batchSize: GenerationBatchSize,
): Promise<LlamaPolicyModel> {
  const { directory, modelFile: file } = folder;
  const tokenizer = await loadHuggingFaceTokenizer(directory);
  const genai = (await readJsonIfPresent(join(directory, MODEL_FOLDER_FILES.genaiConfig)))?.model as
    | { context_length?: unknown }
    | undefined;
  const hub = await readJsonIfPresent(join(directory, MODEL_FOLDER_FILES.config));
  const declared = [
    settings.maxSequenceLength,
    genai?.context_length,
    hub?.max_position_embeddings,
    hub?.n_positions,
  ].find((value) => typeof value === 'number' && Number.isInteger(value) && value > 0) as number | undefined;
  if (declared === undefined)
    throw new ModelFormatError(
      `${directory} does not say how long a sequence the model takes; set maxSequenceLength.`,
      { path: directory },
    );
  const session = await openSession(runtime, file, settings);
  const decoder = new DecoderSession(
    runtime,
    session,
    readDecoderLayout(session.inputMetadata, session.outputMetadata, file),
  );
  if (tokenizer.vocabularySize > decoder.layout.vocabularySize)
    throw new ModelFormatError(
      `The tokenizer has ${tokenizer.vocabularySize} tokens, the model's logits ${decoder.layout.vocabularySize}.`,
      { path: file },
    );
  // The export's folder is a Hugging Face folder too: its generation_config.json lists the stop ids.
  const generationConfig = await readGenerationConfig(directory, decoder.layout.vocabularySize);
  const refuse = (capability: string) =>
    new UnsupportedCapabilityError(
      `${file} is an imported ONNX export: the SDK runs it but does not own its weights (${capability}).`,
      { component: 'onnx policy', capability },
    );
  return createPolicy({
    runtime,
    provider: 'onnx',
    modelId: settings.modelId ?? file,
    tokenizer,
    batchSize,
    config: undefined,
    maxSequenceLength: declared,
    generationConfig,
    decoder: async () => decoder,
    releaseDecoder: () => decoder.session.release(),
    readWeights: () => Promise.reject(refuse('readWeights')),
    writeWeights: () => Promise.reject(refuse('writeWeights')),
    async save(target) {
      // The export is the model: its folder (graph, external data, tokenizer, configs) is copied as it is.
      await mkdir(target, { recursive: true });
      for (const entry of await readdir(directory, { withFileTypes: true }))
        if (entry.isFile()) await copyFile(join(directory, entry.name), join(target, entry.name));
      // The copy must be found as the same decoder: genai_config.json names it, or it is model.onnx.
      if (basename(file) !== 'model.onnx' && folder.genaiConfigFile === undefined)
        await copyFile(file, join(target, 'model.onnx'));
    },
  });
}
