import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { initializeLlamaWeights, parseLlamaConfig, writeModelDirectory } from '@azr/backends';
import { createByteTokenizer } from '@azr/core';

/** The repository root. */
export const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const execFileAsync = promisify(execFile);

/** Runs a command from the repository root; resolves with its output and exit code instead of throwing. */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(command, [...args], {
      cwd: options.cwd ?? repositoryRoot,
      env: { ...process.env, ...options.env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failure.code === 'number' ? failure.code : 1,
      stdout: failure.stdout ?? '',
      stderr: failure.stderr ?? '',
    };
  }
}

/** The shared fixtures folder (`../shared/fixtures` beside the repository, or `AZR_FIXTURES`), when present. */
export const sharedFixtures: string | undefined = await (async () => {
  const directory = process.env.AZR_FIXTURES ?? resolve(repositoryRoot, '../shared/fixtures');
  return access(directory).then(
    () => directory,
    () => undefined,
  );
})();

/**
 * Writes a micro Llama-family model folder on the byte tokenizer (width 32, 2 layers, 4,096 positions for the
 * trainer's long prompts), so that end-to-end runs of the CLI take seconds.
 */
export async function writeMicroModel(directory: string, seed: number): Promise<void> {
  const config = parseLlamaConfig({
    model_type: 'llama',
    vocab_size: 257,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 4096,
    tie_word_embeddings: true,
    eos_token_id: 256,
  });
  await writeModelDirectory(directory, {
    config,
    weights: initializeLlamaWeights(config, { seed }),
    tokenizer: createByteTokenizer(),
  });
}
