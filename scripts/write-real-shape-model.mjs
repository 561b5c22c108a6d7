#!/usr/bin/env node
// Writes a Hugging Face model folder with random weights in the exact shape of a public small checkpoint, with a
// real code tokenizer from the shared fixtures: a model that costs what the real one costs (memory, time per
// token, prompt lengths in tokens) for tests and docs, without downloading weights.
//
//   node scripts/write-real-shape-model.mjs --out <folder> [--shape smollm2-135m|qwen2.5-0.5b|qwen2.5-1.5b]
//     [--seed 0] [--fixtures <dir>]
//
// The folder holds `config.json`, the weights (`model.safetensors`, or shards with `model.safetensors.index.json`)
// and the tokenizer (`tokenizer.json`, `tokenizer_config.json`), as `readModelDirectory` and Hugging Face's
// `from_pretrained` read it.
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
// Weights are written in float32 (about 541 MB), as `writeModelDirectory` writes them. (The real checkpoint is
// bfloat16; `readSafetensors` reads both.)
//
// Shapes `qwen2.5-0.5b` and `qwen2.5-1.5b` are Qwen/Qwen2.5-0.5B-Instruct's and Qwen/Qwen2.5-1.5B-Instruct's
// `config.json` (transformers 4.43.1; the base checkpoints have the same tensors), field by field:
//
//                  0.5B                 1.5B
//   architecture   Qwen2ForCausalLM, model_type "qwen2"        architectures, model_type
//   width          896                  1536                   hidden_size (head_dim 64 = 896 / 14, 128 = 1536 / 12)
//   MLP width      4864                 8960                   intermediate_size (SwiGLU, hidden_act "silu")
//   layers         24                   28                     num_hidden_layers
//   heads          14 query, 2 k/v      12 query, 2 k/v        num_attention_heads, num_key_value_heads
//   tied           yes                  yes                    tie_word_embeddings: true
//   RoPE theta     1000000              1000000                rope_theta
//   RMSNorm eps    1e-6                 1e-6                   rms_norm_eps
//   positions      32768                32768                  max_position_embeddings
//   q/k/v bias     yes (o_proj none)    yes                    implied by model_type qwen2 (written as
//                                                              attention_bias: true)
//   vocabulary     151936 rows          151936 rows            vocab_size
//   init std       0.02                 0.02                   initializer_range
//
// Their vocabulary stays the checkpoint's 151,936 rows: the embedding is a large share of these models (136M of
// 494M, 233M of 1.54B parameters), and the real checkpoints too have more rows than tokens (151,665 tokens for
// 151,936 rows). The phi-2 tokenizer owns ids 0-50,294; an id above decodes to nothing (`decode` and `tokenText`
// give ""), as an unused row of a real checkpoint does. `bos_token_id` and `eos_token_id` are phi-2's 50256
// (Qwen's would be 151643).
//
// Parameters: 0.5B 494,032,768 (embedding 136,134,656); 1.5B 1,543,714,304 (embedding 233,373,696). These are
// Qwen2.5-0.5B's and -1.5B's own counts: the same shapes, vocabulary included.
//
// They are written as the Hub's checkpoints are stored, in bfloat16 (`torch_dtype: "bfloat16"`), streamed to
// disk a piece of a tensor at a time (the 1.5B file is 3.1 GB; no copy of a whole tensor in float32 is held):
//
// - `qwen2.5-0.5b` SHARDED, as transformers' `save_pretrained(max_shard_size="500MB")` writes it:
//   `model.safetensors.index.json` (`metadata.total_size`, `weight_map`) and `model-0000N-of-0000M.safetensors`,
//   tensors assigned to shards in the model's module order. (The Hub's Qwen2.5-0.5B is one 988 MB file; its
//   larger siblings and most checkpoints over a few GB are sharded: this shape exercises that layout.)
// - `qwen2.5-1.5b` as ONE `model.safetensors` of 3.09 GB, over Node's 2 GiB single-read limit, as on the Hub.
//
// The values are the ones `initializeLlamaWeights(config, { seed, standardDeviation: 0.02 })` draws (the same
// seeded normal draws in the same order: norms 1, biases 0), rounded to the nearest bfloat16.
import { chmod, copyFile, mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  initializeLlamaWeights,
  llamaConfigToJson,
  llamaWeightShapes,
  loadHuggingFaceTokenizer,
  parseLlamaConfig,
  writeModelDirectory,
} from '@azr/backends';
import { createSeededRandom } from '@azr/core/spec';

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The shapes this script writes, by name: the checkpoint they copy, its `config.json` fields (less the special
 * tokens, which are the tokenizer's, and less the vocabulary where the shape takes the tokenizer's), its
 * `initializer_range`, and how the weights are stored: `dtype` (`F32` through `writeModelDirectory`, or `BF16`
 * streamed) and `maxShardBytes` (sharded through an index when set).
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
    dtype: 'F32',
  },
  'qwen2.5-0.5b': {
    checkpoint: 'Qwen/Qwen2.5-0.5B',
    config: {
      model_type: 'qwen2',
      hidden_size: 896,
      intermediate_size: 4864,
      num_hidden_layers: 24,
      num_attention_heads: 14,
      num_key_value_heads: 2,
      head_dim: 64,
      rope_theta: 1_000_000,
      rms_norm_eps: 1e-6,
      max_position_embeddings: 32768,
      tie_word_embeddings: true,
      attention_bias: true,
      vocab_size: 151_936,
    },
    initializerRange: 0.02,
    dtype: 'BF16',
    maxShardBytes: 500_000_000,
  },
  'qwen2.5-1.5b': {
    checkpoint: 'Qwen/Qwen2.5-1.5B',
    config: {
      model_type: 'qwen2',
      hidden_size: 1536,
      intermediate_size: 8960,
      num_hidden_layers: 28,
      num_attention_heads: 12,
      num_key_value_heads: 2,
      head_dim: 128,
      rope_theta: 1_000_000,
      rms_norm_eps: 1e-6,
      max_position_embeddings: 32768,
      tie_word_embeddings: true,
      attention_bias: true,
      vocab_size: 151_936,
    },
    initializerRange: 0.02,
    dtype: 'BF16',
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

/** HF's module order of a layer's tensors (what `state_dict()` and so `save_pretrained`'s sharding follow). */
const LAYER_MODULE_ORDER = [
  'self_attn.q_proj.weight',
  'self_attn.q_proj.bias',
  'self_attn.k_proj.weight',
  'self_attn.k_proj.bias',
  'self_attn.v_proj.weight',
  'self_attn.v_proj.bias',
  'self_attn.o_proj.weight',
  'mlp.gate_proj.weight',
  'mlp.up_proj.weight',
  'mlp.down_proj.weight',
  'input_layernorm.weight',
  'post_attention_layernorm.weight',
];

/** The tensor names of `shapes` in the order `state_dict()` lists them. */
function moduleOrder(config, shapes) {
  const names = ['model.embed_tokens.weight'];
  for (let layer = 0; layer < config.layerCount; layer += 1)
    for (const suffix of LAYER_MODULE_ORDER) names.push(`model.layers.${layer}.${suffix}`);
  names.push('model.norm.weight', 'lm_head.weight');
  return names.filter((name) => shapes.has(name));
}

/**
 * Splits tensors into shards as transformers' `save_pretrained` does: in module order, a new shard whenever the
 * next tensor would take the current one over `maxShardBytes` (a tensor larger than that gets a shard alone).
 */
function planShards(names, bytesOf, maxShardBytes) {
  const shards = [[]];
  let size = 0;
  for (const name of names) {
    const bytes = bytesOf(name);
    if (size + bytes > maxShardBytes && (shards.at(-1) ?? []).length > 0) {
      shards.push([]);
      size = 0;
    }
    shards.at(-1)?.push(name);
    size += bytes;
  }
  return shards;
}

/**
 * A safetensors header for bfloat16 tensors (`format: pt` metadata, names sorted, as `writeSafetensors` lays them
 * out; padded with spaces to 8 bytes), and where each tensor's bytes go in the file.
 */
function bfloat16Layout(names, shapes) {
  const header = { __metadata__: { format: 'pt' } };
  const positions = new Map();
  let offset = 0;
  for (const name of [...names].sort()) {
    const shape = shapes.get(name);
    const bytes = 2 * shape.reduce((total, size) => total * size, 1);
    header[name] = { dtype: 'BF16', shape: [...shape], data_offsets: [offset, offset + bytes] };
    positions.set(name, offset);
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8 + headerBytes.length);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(prefix, 8);
  for (const [name, at] of positions) positions.set(name, prefix.length + at);
  return { prefix, positions, dataBytes: offset };
}

// Values drawn and written per piece: 4 Mi float32 (16 MiB) and their 8 MiB of bfloat16.
const PIECE_ELEMENTS = 4 * 1024 * 1024;

/**
 * Writes the weights of `config` in bfloat16, one file or shards through an index, streaming: each tensor is drawn
 * a piece at a time (the draws of `initializeLlamaWeights`, in its order) and each piece written where its tensor
 * lies in its file. Copies the tokenizer in. Returns the parameter count.
 */
async function writeBfloat16Folder(directory, config, entry, seed, tokenizers) {
  await mkdir(directory, { recursive: true });
  for (const name of ['tokenizer.json', 'tokenizer_config.json']) {
    const target = join(directory, name);
    await rm(target, { force: true });
    await copyFile(join(tokenizers, `phi-2.${name}`), target);
    await chmod(target, 0o644);
  }
  const shapes = llamaWeightShapes(config);
  const bytesOf = (name) => 2 * shapes.get(name).reduce((total, size) => total * size, 1);
  const shards =
    entry.maxShardBytes === undefined
      ? [[...shapes.keys()]]
      : planShards(moduleOrder(config, shapes), bytesOf, entry.maxShardBytes);
  const fileNames =
    entry.maxShardBytes === undefined
      ? ['model.safetensors']
      : shards.map(
          (_, index) =>
            `model-${String(index + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`,
        );
  const where = new Map();
  const handles = [];
  try {
    for (const [index, names] of shards.entries()) {
      const { prefix, positions, dataBytes } = bfloat16Layout(names, shapes);
      const handle = await open(join(directory, fileNames[index]), 'w');
      handles.push(handle);
      await handle.write(prefix, 0, prefix.length, 0);
      await handle.truncate(prefix.length + dataBytes);
      for (const [name, position] of positions) where.set(name, { handle, position });
    }
    const random = createSeededRandom(seed);
    const deviation = entry.initializerRange;
    const values = new Float32Array(PIECE_ELEMENTS);
    const words = new Uint32Array(values.buffer);
    const halves = new Uint16Array(PIECE_ELEMENTS);
    const halfBytes = new Uint8Array(halves.buffer);
    let parameterCount = 0;
    for (const [name, shape] of shapes) {
      const count = shape.reduce((total, size) => total * size, 1);
      parameterCount += count;
      const { handle, position } = where.get(name);
      const fill = name.endsWith('norm.weight') ? 1 : name.endsWith('.bias') ? 0 : undefined;
      for (let first = 0; first < count; first += PIECE_ELEMENTS) {
        const length = Math.min(PIECE_ELEMENTS, count - first);
        if (fill !== undefined) values.fill(fill, 0, length);
        else
          for (let index = 0; index < length; index += 1) {
            // initializeLlamaWeights' Box-Muller draw, value for value.
            const u = 1 - random.nextFloat();
            const v = random.nextFloat();
            values[index] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v) * deviation;
          }
        // Round to the nearest bfloat16, ties to even (no NaN among these values).
        for (let index = 0; index < length; index += 1) {
          const bits = words[index];
          halves[index] = (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
        }
        await handle.write(halfBytes, 0, 2 * length, position + 2 * first);
      }
    }
    if (entry.maxShardBytes !== undefined) {
      const weightMap = {};
      for (const [index, names] of shards.entries())
        for (const name of names) weightMap[name] = fileNames[index];
      const totalSize = [...shapes.keys()].reduce((total, name) => total + bytesOf(name), 0);
      await writeFile(
        join(directory, 'model.safetensors.index.json'),
        `${JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2)}\n`,
      );
    }
    return parameterCount;
  } finally {
    for (const handle of handles) await handle.close();
  }
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

  // The model files of any earlier write go first (config.json first of all, which marks a finished folder), so
  // that the folder never mixes two layouts: an index left beside a new model.safetensors would win.
  if (await exists(directory))
    for (const name of await readdir(directory))
      if (
        name === 'config.json' ||
        name === 'model.safetensors' ||
        name === 'model.safetensors.index.json' ||
        /^model-\d{5}-of-\d{5}\.safetensors$/.test(name)
      )
        await rm(join(directory, name), { force: true });

  const tokenizer = await loadHuggingFaceTokenizer(tokenizers, { prefix: 'phi-2.' });
  const tokenizerJson = JSON.parse(await readFile(tokenizerFile, 'utf8'));
  const tokenizerConfig = JSON.parse(await readFile(join(tokenizers, 'phi-2.tokenizer_config.json'), 'utf8'));
  const endOfSequence = tokenizer.endOfSequenceTokenId;
  const beginningOfSequence = specialTokenId(tokenizerJson, tokenizerConfig.bos_token) ?? endOfSequence;
  const config = parseLlamaConfig({
    ...entry.config,
    vocab_size: entry.config.vocab_size ?? tokenizer.vocabularySize,
    bos_token_id: beginningOfSequence,
    eos_token_id: endOfSequence,
  });

  let parameterCount = 0;
  if (entry.dtype === 'BF16') {
    parameterCount = await writeBfloat16Folder(directory, config, entry, seed, tokenizers);
  } else {
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
  // The fields Hugging Face tools read beyond the ones the SDK writes, and where the folder came from. Written
  // last: a folder whose config.json names its shape and seed holds all of its weights (the scale bench reuses it).
  const configJson = {
    ...llamaConfigToJson(config),
    hidden_act: 'silu',
    initializer_range: entry.initializerRange,
    torch_dtype: entry.dtype === 'BF16' ? 'bfloat16' : 'float32',
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
      `vocabulary ${config.vocabularySize} (phi-2 tokenizer), ` +
      `${REAL_SHAPES[written.shape].dtype === 'BF16' ? 'bfloat16' : 'float32'}`,
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
