import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createByteTokenizer } from '@azr/core/spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectModelFormatError } from '../testing/expect-model-format-error.js';
import { SMALL_TEST_CONFIG } from '../testing/small-model.js';
import { LLAMA_PRESETS, type LlamaConfig } from './config.js';
import { readModelDirectory, writeModelDirectory } from './directory.js';
import { inspectModelFolder } from './model-folder.js';
import {
  type NamedTensor,
  readSafetensors,
  type SafetensorsDtype,
  type TensorToWrite,
  writeSafetensors,
} from './safetensors.js';
import { initializeLlamaWeights, type LlamaWeights } from './weights.js';

// The tiny preset where reads go in whole default chunks; the much smaller test model where they go a few bytes
// at a time (one read per chunk: the tiny preset's 3 MB in 12-byte chunks would take seconds).
const tiny = { config: LLAMA_PRESETS.tiny, weights: initializeLlamaWeights(LLAMA_PRESETS.tiny, { seed: 7 }) };
const small = { config: SMALL_TEST_CONFIG, weights: initializeLlamaWeights(SMALL_TEST_CONFIG, { seed: 7 }) };

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'azr-model-directory-'));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

const shardName = (index: number, count: number): string =>
  `model-${String(index + 1).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.safetensors`;

/**
 * Writes the model as a Hugging Face sharded checkpoint: the embedding in the first shard, the layers spread
 * over the others, each shard stored as its `dtypes` entry; the index maps every tensor to its shard. Returns
 * each shard's bytes.
 */
async function writeSharded(
  folder: string,
  { config, weights: model }: { readonly config: LlamaConfig; readonly weights: LlamaWeights },
  dtypes: readonly SafetensorsDtype[],
): Promise<Uint8Array[]> {
  await writeModelDirectory(folder, { config, weights: model, tokenizer: createByteTokenizer() });
  await unlink(join(folder, 'model.safetensors'));
  const count = dtypes.length;
  const shards = dtypes.map(() => new Map<string, TensorToWrite>());
  const weightMap: Record<string, string> = {};
  for (const [name, tensor] of model) {
    const layer = /^model\.layers\.(\d+)\./.exec(name)?.[1];
    const shard =
      layer === undefined ? (name === 'model.embed_tokens.weight' ? 0 : count - 1) : Number(layer) % count;
    shards[shard]?.set(name, { ...tensor, dtype: dtypes[shard] ?? 'F32' });
    weightMap[name] = shardName(shard, count);
  }
  const files = shards.map((tensors) => writeSafetensors(tensors, { format: 'pt' }));
  for (const [index, bytes] of files.entries()) await writeFile(join(folder, shardName(index, count)), bytes);
  const totalSize = files.reduce((total, bytes) => total + bytes.byteLength, 0);
  await writeFile(
    join(folder, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2),
  );
  return files;
}

/** Expects the same tensor names with bit-identical values (compared as bytes: fast, and exact for -0 and NaN). */
function expectSameValues(
  actual: ReadonlyMap<string, { readonly data: Float32Array }>,
  expected: ReadonlyMap<string, { readonly data: Float32Array }>,
): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  const differing = [...expected].filter(([name, { data }]) => {
    const other = actual.get(name)?.data ?? new Float32Array();
    return !Buffer.from(other.buffer, other.byteOffset, other.byteLength).equals(
      Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    );
  });
  expect(differing.map(([name]) => name)).toEqual([]);
}

describe('readModelDirectory on sharded checkpoints', () => {
  it('reads float32 shards back equal to the weights they were split from', async () => {
    await writeSharded(directory, tiny, ['F32', 'F32', 'F32']);
    expect(await inspectModelFolder(directory)).toMatchObject({
      kind: 'sharded-safetensors',
      shardFiles: [shardName(0, 3), shardName(1, 3), shardName(2, 3)],
    });
    const model = await readModelDirectory(directory);
    expect(model.config).toEqual(tiny.config);
    expect(model.tokenizer.tokenizerId).toBe('azr-byte');
    expectSameValues(model.weights, tiny.weights);
    // Chunks of a few bytes take the same values through the chunked reads.
    const smallFolder = join(directory, 'small');
    await writeSharded(smallFolder, small, ['F32', 'F32']);
    expectSameValues((await readModelDirectory(smallFolder, { chunkBytes: 12 })).weights, small.weights);
  });

  it('reads bfloat16 and float16 shards as the in-memory reader reads them', async () => {
    const files = await writeSharded(directory, small, ['BF16', 'F16']);
    const expected = new Map<string, NamedTensor>();
    for (const bytes of files)
      for (const [name, tensor] of readSafetensors(bytes)) expected.set(name, tensor);
    for (const chunkBytes of [undefined, 6]) {
      const model = await readModelDirectory(directory, { chunkBytes });
      expectSameValues(model.weights, expected);
    }
    const model = await readModelDirectory(directory);
    const weights = small.weights;
    const name = 'model.layers.0.mlp.up_proj.weight';
    const original = weights.get(name)?.data ?? new Float32Array();
    const read = model.weights.get(name)?.data ?? new Float32Array();
    // Rounded to 8 bits of mantissa: within 2^-8 relative of the float32 original.
    const far = original.filter(
      (value, index) => Math.abs((read[index] as number) - value) > Math.abs(value) * 2 ** -8,
    );
    expect(far.length).toBe(0);
    expect(read).not.toEqual(original);
  });

  it('names the shard and the tensor when a shard lacks a tensor the index names', async () => {
    await writeSharded(directory, small, ['F32', 'F32']);
    const index = JSON.parse(await readFile(join(directory, 'model.safetensors.index.json'), 'utf8'));
    index.weight_map['model.norm.weight'] = shardName(0, 2);
    index.weight_map['rotary_emb.inv_freq'] = shardName(1, 2);
    await writeFile(join(directory, 'model.safetensors.index.json'), JSON.stringify(index));
    await expectModelFormatError(
      readModelDirectory(directory),
      /model-00001-of-00002\.safetensors has no tensor model\.norm\.weight, which .*index\.json says it holds/,
    );
    // Even a tensor the model does not need must be where the index says.
    index.weight_map['model.norm.weight'] = shardName(1, 2);
    await writeFile(join(directory, 'model.safetensors.index.json'), JSON.stringify(index));
    await expectModelFormatError(
      readModelDirectory(directory),
      /model-00002-of-00002\.safetensors has no tensor rotary_emb\.inv_freq/,
    );
  });

  it('names the index and the tensor when the index lacks a tensor the config needs', async () => {
    await writeSharded(directory, small, ['F32', 'F32']);
    const index = JSON.parse(await readFile(join(directory, 'model.safetensors.index.json'), 'utf8'));
    delete index.weight_map['model.layers.1.mlp.down_proj.weight'];
    await writeFile(join(directory, 'model.safetensors.index.json'), JSON.stringify(index));
    await expectModelFormatError(
      readModelDirectory(directory),
      /model\.safetensors\.index\.json has no tensor model\.layers\.1\.mlp\.down_proj\.weight in its weight_map/,
    );
  });

  it('names the shard of a misshapen tensor, a missing shard, and a malformed index', async () => {
    const misshapen = new Map(small.weights);
    misshapen.set('model.norm.weight', { shape: [3], data: new Float32Array(3) });
    await writeSharded(directory, { config: small.config, weights: misshapen }, ['F32', 'F32']);
    await expectModelFormatError(
      readModelDirectory(directory),
      /Tensor model\.norm\.weight in .*model-00002-of-00002\.safetensors has the shape \[3\], the config needs/,
    );

    await writeSharded(directory, small, ['F32', 'F32']);
    await unlink(join(directory, shardName(1, 2)));
    await expectModelFormatError(
      readModelDirectory(directory),
      /model-00002-of-00002\.safetensors is missing or unreadable\. \(.*index\.json names it as the shard of/,
    );

    const indexPath = join(directory, 'model.safetensors.index.json');
    await writeFile(
      indexPath,
      JSON.stringify({ weight_map: { 'model.norm.weight': '../elsewhere.safetensors' } }),
    );
    await expectModelFormatError(
      readModelDirectory(directory),
      /index\.json maps tensor model\.norm\.weight to "\.\.\/elsewhere\.safetensors", not a file name beside/,
    );
    await writeFile(indexPath, JSON.stringify({ metadata: {} }));
    await expectModelFormatError(readModelDirectory(directory), /index\.json has no weight_map object/);
  });
});

describe('readModelDirectory on one file', () => {
  it('reads a bfloat16 model.safetensors, and names the file of a missing tensor', async () => {
    await writeModelDirectory(directory, { ...small, tokenizer: createByteTokenizer() });
    const bf16 = new Map(
      [...small.weights].map(([name, tensor]) => [name, { ...tensor, dtype: 'BF16' as const }]),
    );
    const bytes = writeSafetensors(bf16);
    await writeFile(join(directory, 'model.safetensors'), bytes);
    const model = await readModelDirectory(directory, { chunkBytes: 10 });
    expectSameValues(model.weights, readSafetensors(bytes));

    bf16.delete('model.norm.weight');
    await writeFile(join(directory, 'model.safetensors'), writeSafetensors(bf16));
    await expectModelFormatError(
      readModelDirectory(directory),
      /model\.safetensors has no tensor model\.norm\.weight/,
    );
  });
});
