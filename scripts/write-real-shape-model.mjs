#!/usr/bin/env node
// Writes a Hugging Face model folder with random weights in the exact shape of a public small checkpoint, with a
// real code tokenizer from the shared fixtures: a model that costs what the real one costs (memory, time per
// token, prompt lengths in tokens) for tests and docs, without downloading weights.
//
//   node scripts/write-real-shape-model.mjs --out <folder> [--shape smollm2-135m] [--seed 0] [--fixtures <dir>]
//
// The folder holds `config.json`, `model.safetensors` and the tokenizer (`tokenizer.json`,
// `tokenizer_config.json`), as `readModelDirectory` and Hugging Face's `from_pretrained` read it.
//
// Shape `smollm2-135m` is HuggingFaceTB/SmolLM2-135M's `config.json` (transformers 4.40-4.45, as published on
// the Hugging Face Hub), field by field:
//
//   architecture   LlamaForCausalLM, model_type "llama"   architectures, model_type
//   width          576                                   hidden_size (head_dim 64 = 576 / 9)
//   MLP width      1536                                  intermediate_size (SwiGLU, hidden_act "silu")
//   layers         30                                    num_hidden_layers
//   heads          9 query, 3 key/value                  num_attention_heads, num_key_value_heads
//   tied           yes                                   tie_word_embeddings: true
//   RoPE theta     100000                                rope_theta (SmolLM v1-135M had 10000)
//   RMSNorm eps    1e-5                                  rms_norm_eps
//   positions      8192                                  max_position_embeddings (v1: 2048)
//   q/k/v bias     none                                  attention_bias: false
//   init std       1/24 = 0.041666...                    initializer_range (= 1/sqrt(576)), used as the
//                                                        standard deviation of the random matrices
//
// The vocabulary is not SmolLM2's (49,152 tokens, cosmo2 tokenizer) but the tokenizer's: phi-2's byte-level BPE
// from `<fixtures>/tokenizers/phi-2.tokenizer.json` (50,257 GPT-2 tokens + 38 whitespace-run tokens = 50,295),
// so `vocab_size` is exactly 50,295. It is not rounded up to a multiple of 64: a random model samples every row
// of the output layer, and rows that no token owns would decode to nothing. `eos_token_id` and `bos_token_id`
// are the tokenizer config's `eos_token` and `bos_token` (both `<|endoftext|>`, id 50256, in phi-2).
//
// Parameters: embedding 50,295 x 576 = 28,969,920 (tied, counted once) + 30 layers x 3,540,096 + the final norm
// 576 = 135,173,376 (SmolLM2-135M itself: 134,515,008 with its 49,152 tokens).
//
// Weights are written in float32 (about 541 MB): `writeSafetensors` writes float32 only. (The real checkpoint is
// bfloat16; `readSafetensors` reads both.)
import { chmod, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  initializeLlamaWeights,
  llamaConfigToJson,
  loadHuggingFaceTokenizer,
  parseLlamaConfig,
  writeModelDirectory,
} from '@azr/backends';

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The shapes this script writes, by name: the checkpoint they copy, its `config.json` fields (less the
 * vocabulary and the special tokens, which are the tokenizer's), and its `initializer_range`.
 */
export const REAL_SHAPES = {
  'smollm2-135m': {
    checkpoint: 'HuggingFaceTB/SmolLM2-135M',
    config: {
      model_type: 'llama',
      hidden_size: 576,
      intermediate_size: 1536,
      num_hidden_layers: 30,
      num_attention_heads: 9,
      num_key_value_heads: 3,
      head_dim: 64,
      rope_theta: 100_000,
      rms_norm_eps: 1e-5,
      max_position_embeddings: 8192,
      tie_word_embeddings: true,
      attention_bias: false,
    },
    initializerRange: 1 / 24,
  },
};

/** The names of {@link REAL_SHAPES}. */
export const REAL_SHAPE_NAMES = Object.keys(REAL_SHAPES);

/** The fixtures folder when none is named: `AZR_FIXTURES`, else `../shared/fixtures` beside the repository. */
export function defaultFixtures() {
  return process.env.AZR_FIXTURES ?? resolve(repositoryRoot, '../shared/fixtures');
}

async function exists(path) {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The id of a special token named in a tokenizer config (`"<|endoftext|>"` or `{ content }`), if any. */
function specialTokenId(tokenizerJson, value) {
  const content = typeof value === 'string' ? value : value?.content;
  if (typeof content !== 'string') return undefined;
  const added = (tokenizerJson.added_tokens ?? []).find((token) => token.content === content);
  return added?.id ?? tokenizerJson.model?.vocab?.[content];
}

/**
 * Writes the folder and returns what it wrote: the parsed config, the parameter count (tied embeddings
 * counted once), the folder's files and total size in bytes.
 *
 * @param {{ out: string, shape?: string, seed?: number, fixtures?: string }} settings
 */
export async function writeRealShapeModel({ out, shape = 'smollm2-135m', seed = 0, fixtures } = {}) {
  if (typeof out !== 'string' || out.length === 0) throw new Error('--out <folder> is required.');
  const entry = Object.hasOwn(REAL_SHAPES, shape) ? REAL_SHAPES[shape] : undefined;
  if (entry === undefined)
    throw new Error(`Unknown shape "${shape}"; the shapes are: ${REAL_SHAPE_NAMES.join(', ')}.`);
  if (!Number.isSafeInteger(seed)) throw new Error(`The seed must be an integer, got ${seed}.`);
  const fixturesDirectory = resolve(fixtures ?? defaultFixtures());
  const tokenizers = join(fixturesDirectory, 'tokenizers');
  const tokenizerFile = join(tokenizers, 'phi-2.tokenizer.json');
  if (!(await exists(tokenizerFile)))
    throw new Error(
      `The phi-2 tokenizer is not at ${tokenizerFile}: pass --fixtures <dir> (or set AZR_FIXTURES) to the shared fixtures folder, which holds tokenizers/phi-2.tokenizer.json.`,
    );
  const directory = resolve(out);
  const inside = relative(fixturesDirectory, directory);
  if (inside === '' || !(inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)))
    throw new Error(
      `--out ${directory} is inside the fixtures folder ${fixturesDirectory}, which is read-only.`,
    );

  const tokenizer = await loadHuggingFaceTokenizer(tokenizers, { prefix: 'phi-2.' });
  const tokenizerJson = JSON.parse(await readFile(tokenizerFile, 'utf8'));
  const tokenizerConfig = JSON.parse(await readFile(join(tokenizers, 'phi-2.tokenizer_config.json'), 'utf8'));
  const endOfSequence = tokenizer.endOfSequenceTokenId;
  const beginningOfSequence = specialTokenId(tokenizerJson, tokenizerConfig.bos_token) ?? endOfSequence;
  const config = parseLlamaConfig({
    ...entry.config,
    vocab_size: tokenizer.vocabularySize,
    bos_token_id: beginningOfSequence,
    eos_token_id: endOfSequence,
  });

  let parameterCount = 0;
  {
    const weights = initializeLlamaWeights(config, { seed, standardDeviation: entry.initializerRange });
    for (const tensor of weights.values()) parameterCount += tensor.data.length;
    // Copies phi-2.tokenizer.json and phi-2.tokenizer_config.json in as tokenizer.json and
    // tokenizer_config.json (the names differ, so never a file onto itself). A copy keeps the fixtures'
    // read-only mode, which would stop a second run from writing over it: the copies are made writable.
    const tokenizerCopies = ['tokenizer.json', 'tokenizer_config.json'].map((name) => join(directory, name));
    for (const path of tokenizerCopies) await rm(path, { force: true });
    await writeModelDirectory(directory, { config, weights, tokenizer });
    for (const path of tokenizerCopies) await chmod(path, 0o644);
  }
  // The fields Hugging Face tools read beyond the ones the SDK writes, and where the folder came from.
  const configJson = {
    ...llamaConfigToJson(config),
    hidden_act: 'silu',
    initializer_range: entry.initializerRange,
    torch_dtype: 'float32',
    azr_real_shape: { shape, checkpoint: entry.checkpoint, seed, tokenizer: 'phi-2' },
  };
  await writeFile(join(directory, 'config.json'), `${JSON.stringify(configJson, null, 2)}\n`);

  const files = {};
  let bytes = 0;
  for (const name of (await readdir(directory)).sort()) {
    const size = (await stat(join(directory, name))).size;
    files[name] = size;
    bytes += size;
  }
  return { directory, shape, checkpoint: entry.checkpoint, seed, config, parameterCount, files, bytes };
}

function megabytes(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

async function main() {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      shape: { type: 'string', default: 'smollm2-135m' },
      seed: { type: 'string', default: '0' },
      fixtures: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      `usage: node scripts/write-real-shape-model.mjs --out <folder> [--shape ${REAL_SHAPE_NAMES.join('|')}] [--seed 0] [--fixtures <dir>]`,
    );
    return;
  }
  if (values.out === undefined) throw new Error('--out <folder> is required (see --help).');
  if (!/^-?\d+$/.test(values.seed)) throw new Error(`--seed must be an integer, got "${values.seed}".`);
  const seed = Number(values.seed);
  const started = performance.now();
  const written = await writeRealShapeModel({
    out: values.out,
    shape: values.shape,
    seed,
    ...(values.fixtures === undefined ? {} : { fixtures: values.fixtures }),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const { config } = written;
  console.log(
    `wrote ${written.directory}: ${written.shape} (${written.checkpoint}'s shape, seed ${written.seed}), ` +
      `width ${config.hiddenSize}, ${config.layerCount} layers, ${config.headCount}/${config.keyValueHeadCount} heads, ` +
      `vocabulary ${config.vocabularySize} (phi-2 tokenizer), float32`,
  );
  console.log(`parameters: ${written.parameterCount.toLocaleString('en-US')}`);
  console.log(
    `size: ${megabytes(written.bytes)} (${Object.entries(written.files)
      .map(([name, size]) => `${name} ${megabytes(size)}`)
      .join(', ')}), in ${seconds} s`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error) => {
    console.error(`write-real-shape-model: ${error.message}`);
    process.exit(1);
  });
}
