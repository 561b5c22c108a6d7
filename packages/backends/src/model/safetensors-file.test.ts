import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelFormatError } from '@azr/core/spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectModelFormatError } from '../testing/expect-model-format-error.js';
import {
  floatToBfloat16,
  floatToHalf,
  halfToFloat,
  readSafetensors,
  type TensorToWrite,
  writeSafetensors,
} from './safetensors.js';
import { openSafetensorsFile, readSafetensorsFile } from './safetensors-file.js';

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'azr-safetensors-file-'));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

const floats = Float32Array.from([
  0,
  -0,
  1,
  -2.5,
  Math.PI,
  1e-3,
  -65504,
  1e-7,
  3.0e38,
  Number.POSITIVE_INFINITY,
  0.1,
  123.456,
]);

/** A tensor of every type the reader supports, values spread over several chunks of a few bytes. */
const everyType = new Map<string, TensorToWrite>([
  ['f32', { shape: [3, 4], data: floats, dtype: 'F32' }],
  [
    'f16',
    { shape: [12], data: floats.map((value) => Math.max(-65504, Math.min(65504, value))), dtype: 'F16' },
  ],
  ['bf16', { shape: [2, 6], data: floats, dtype: 'BF16' }],
  ['f64', { shape: [12], data: floats, dtype: 'F64' }],
  ['i64', { shape: [5], data: Float32Array.from([0, -1, 2 ** 24, -(2 ** 24), 7]), dtype: 'I64' }],
  ['i32', { shape: [5], data: Float32Array.from([0, -1, 2 ** 20, -(2 ** 20), 7]), dtype: 'I32' }],
  ['u8', { shape: [7], data: Float32Array.from([0, 1, 2, 127, 128, 254, 255]), dtype: 'U8' }],
  ['empty', { shape: [0, 3], data: new Float32Array(0), dtype: 'BF16' }],
]);

describe('readSafetensorsFile', () => {
  it('reads every type exactly as the in-memory reader does, whatever the chunk size', async () => {
    const bytes = writeSafetensors(everyType, { format: 'pt' });
    const path = join(directory, 'model.safetensors');
    await writeFile(path, bytes);
    const inMemory = readSafetensors(bytes, path);
    expect([...inMemory.values()].map((tensor) => tensor.dtype)).toEqual([
      'BF16',
      'BF16',
      'F16',
      'F32',
      'F64',
      'I32',
      'I64',
      'U8',
    ]);
    // Files over 2 GiB (or tensors over the 16 MiB default chunk) cannot be written here, so the chunked path is
    // exercised with chunks of a few bytes: 1 and 3 round up or down to whole elements of every width, 7 leaves a
    // short last chunk.
    for (const chunkBytes of [undefined, 1, 3, 7, 16]) {
      expect(await readSafetensorsFile(path, { chunkBytes }), `chunkBytes ${chunkBytes}`).toEqual(inMemory);
    }
    const read = await readSafetensorsFile(path, { chunkBytes: 3 });
    expect(read.get('f32')?.data).toEqual(floats);
    expect(read.get('f64')?.data).toEqual(floats);
    expect(Array.from(read.get('u8')?.data ?? [])).toEqual([0, 1, 2, 127, 128, 254, 255]);
    expect(Array.from(read.get('i64')?.data ?? [])).toEqual([0, -1, 2 ** 24, -(2 ** 24), 7]);
    expect(read.get('bf16')?.shape).toEqual([2, 6]);
    // bfloat16 keeps the float32 exponent: pi to 3 significant bits of mantissa less, 3e38 stays finite.
    expect(read.get('bf16')?.data[4]).toBeCloseTo(Math.PI, 2);
    expect(read.get('bf16')?.data[8]).toBeCloseTo(3.0e38, -36);
    expect(read.get('f16')?.data[6]).toBe(-65504);
    expect(read.get('f16')?.data[4]).toBeCloseTo(Math.PI, 2);
  });

  it('reads only the named tensors, and names a tensor the file lacks', async () => {
    const path = join(directory, 'part.safetensors');
    await writeFile(path, writeSafetensors(everyType));
    expect([...(await readSafetensorsFile(path, { names: ['u8', 'f16'] })).keys()]).toEqual(['u8', 'f16']);
    await expectModelFormatError(
      readSafetensorsFile(path, { names: ['lm_head.weight'] }),
      /part\.safetensors: the file has no tensor lm_head\.weight/,
    );
  });

  it('gives the header before reading any data', async () => {
    const path = join(directory, 'model.safetensors');
    await writeFile(path, writeSafetensors(everyType));
    const file = await openSafetensorsFile(path);
    try {
      expect(file.entries.get('bf16')).toEqual({ dtype: 'BF16', shape: [2, 6], begin: 0, end: 24 });
    } finally {
      await file.close();
    }
  });

  it('names the file when it is truncated, missing, or its header points past its end', async () => {
    const path = join(directory, 'cut.safetensors');
    const bytes = writeSafetensors(everyType);
    await writeFile(path, bytes);
    await truncate(path, bytes.byteLength - 3);
    await expectModelFormatError(
      readSafetensorsFile(path),
      /cut\.safetensors: tensor u8's data does not match its shape or lies outside the file/,
    );

    await expectModelFormatError(
      readSafetensorsFile(join(directory, 'absent.safetensors')),
      /absent\.safetensors is missing or unreadable/,
    );

    const short = join(directory, 'short.safetensors');
    await writeFile(short, new Uint8Array(5));
    await expectModelFormatError(readSafetensorsFile(short), /short\.safetensors: the file is shorter/);

    // A header length beyond the end of the file.
    const long = join(directory, 'long.safetensors');
    const lying = bytes.slice();
    new DataView(lying.buffer).setBigUint64(0, BigInt(bytes.byteLength), true);
    await writeFile(long, lying);
    await expectModelFormatError(
      readSafetensorsFile(long),
      /long\.safetensors: the header length runs past the end of the file/,
    );

    // A tensor whose offsets point past the end of the data.
    const header = JSON.stringify({ x: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } });
    const past = new Uint8Array(8 + header.length + 16);
    new DataView(past.buffer).setBigUint64(0, BigInt(header.length), true);
    past.set(new TextEncoder().encode(header), 8);
    const pastPath = join(directory, 'past.safetensors');
    await writeFile(pastPath, past);
    await expectModelFormatError(
      readSafetensorsFile(pastPath),
      /past\.safetensors: tensor x's data does not match its shape or lies outside the file/,
    );

    const notJson = join(directory, 'garbled.safetensors');
    const garbled = bytes.slice();
    garbled[9] = 0x7b; // a second '{'
    await writeFile(notJson, garbled);
    await expectModelFormatError(
      readSafetensorsFile(notJson),
      /garbled\.safetensors: the header is not JSON/,
    );
  });
});

describe('half and bfloat16 encoding', () => {
  it('round-trips every finite float16 and bfloat16 bit pattern', () => {
    const word = new Uint32Array(1);
    const float = new Float32Array(word.buffer);
    const wrong: string[] = [];
    for (let bits = 0; bits < 65536; bits += 1) {
      const halfNaN = (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0;
      if (!halfNaN && floatToHalf(halfToFloat(bits)) !== bits) wrong.push(`half ${bits.toString(16)}`);
      word[0] = bits << 16;
      const bfloatNaN = (bits & 0x7f80) === 0x7f80 && (bits & 0x7f) !== 0;
      if (!bfloatNaN && floatToBfloat16(float[0] as number) !== bits)
        wrong.push(`bfloat16 ${bits.toString(16)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds to nearest, ties to even, and overflows to infinity', () => {
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie, to even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, to even (up)
    expect(floatToHalf(65520)).toBe(0x7c00);
    expect(floatToHalf(2 ** -25)).toBe(0); // half the smallest subnormal: to even
    expect(floatToHalf(3 * 2 ** -26)).toBe(1);
    expect(Number.isNaN(halfToFloat(floatToHalf(Number.NaN)))).toBe(true);
    expect(floatToBfloat16(1 + 2 ** -8)).toBe(0x3f80);
    expect(floatToBfloat16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(floatToBfloat16(-1)).toBe(0xbf80);
  });

  it('refuses integers that an integer type cannot store', () => {
    expect(() =>
      writeSafetensors(
        new Map([['x', { shape: [1], data: Float32Array.from([1.5]), dtype: 'I32' as const }]]),
      ),
    ).toThrow(/Tensor x holds 1.5, which I32 cannot store/);
    expect(() =>
      writeSafetensors(
        new Map([['x', { shape: [1], data: Float32Array.from([256]), dtype: 'U8' as const }]]),
      ),
    ).toThrow(ModelFormatError);
  });
});
