import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelFormatError } from '@azr/core/spec';

/** The file of a Hugging Face model folder that holds its generation defaults. */
export const GENERATION_CONFIG_FILE = 'generation_config.json';

/**
 * What the SDK reads from a model folder's `generation_config.json`: the ids that end a completion. Hugging Face
 * checkpoints list their stop ids there (`eos_token_id`, one number or a list); instruct models often list
 * several (Qwen2.5: `<|im_end|>` and `<|endoftext|>`; Llama-3: `<|eot_id|>`, `<|eom_id|>` and
 * `<|end_of_text|>`), and the tokenizer's single `eos_token` is only one of them.
 */
export interface GenerationConfig {
  /** Where it was read from. */
  readonly file: string;
  /** The file's JSON as it was, written back when the model is saved. */
  readonly json: Readonly<Record<string, unknown>>;
  /** The end-of-sequence ids it lists, in its order, without repeats. Empty when it lists none. */
  readonly endOfSequenceTokenIds: readonly number[];
}

/**
 * Reads `generation_config.json` in `directory`. A missing file is `undefined` (most folders the SDK writes and
 * many checkpoints have none); a malformed one (not JSON, not an object, an `eos_token_id` that is not an id or
 * a list of ids below `vocabularySize`) is a `ModelFormatError` naming the file.
 */
export async function readGenerationConfig(
  directory: string,
  vocabularySize: number,
): Promise<GenerationConfig | undefined> {
  const file = join(directory, GENERATION_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelFormatError(`${file} cannot be read.`, { path: file }, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelFormatError(`${file} is not JSON.`, { path: file }, { cause: error });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new ModelFormatError(`${file} is not a JSON object.`, { path: file });
  const record = json as Record<string, unknown>;
  const declared = record.eos_token_id;
  const listed =
    declared === undefined || declared === null ? [] : Array.isArray(declared) ? declared : [declared];
  for (const id of listed) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= vocabularySize)
      throw new ModelFormatError(
        `${file}: "eos_token_id" must be a token id or a list of token ids in [0, ${vocabularySize}); found ${JSON.stringify(declared)}.`,
        { path: file },
      );
  }
  return { file, json: record, endOfSequenceTokenIds: [...new Set(listed as number[])] };
}

/** Writes a generation config back into a model folder being saved, so that the saved model stops alike. */
export async function writeGenerationConfig(
  directory: string,
  config: GenerationConfig | undefined,
): Promise<void> {
  if (config === undefined) return;
  await writeFile(join(directory, GENERATION_CONFIG_FILE), `${JSON.stringify(config.json, null, 2)}\n`);
}
