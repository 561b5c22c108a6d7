import { type FileHandle, open } from 'node:fs/promises';
import { endianness } from 'node:os';
import { ModelFormatError } from '@azr/core/spec';
import {
  decodeWithDataView,
  halfToFloat,
  type NamedTensor,
  parseSafetensorsHeader,
  SAFETENSORS_DTYPE_BYTES,
  type SafetensorsEntry,
  safetensorsFailure,
} from './safetensors.js';

/**
 * Bytes read per call by default. One read of a 1 GB embedding would need a 1 GB staging buffer for a bf16 file,
 * and Node refuses single reads over 2 GiB; 16 MiB keeps the staging buffer small and the reads large enough to
 * run at the disk's speed.
 */
export const DEFAULT_SAFETENSORS_CHUNK_BYTES = 16 * 1024 * 1024;

// The safetensors format caps its header at 100 MB; a larger length is a corrupt file, not a buffer to allocate.
const MAX_HEADER_BYTES = 100 * 1000 * 1000;

const LITTLE_ENDIAN = endianness() === 'LE';

/** Settings of {@link openSafetensorsFile} and {@link readSafetensorsFile}. */
export interface SafetensorsFileSettings {
  /**
   * Bytes read per call, rounded down to whole elements (at least one). Default
   * {@link DEFAULT_SAFETENSORS_CHUNK_BYTES}. Internal: it is a setting so that tests can exercise the chunked path
   * with a few bytes, where a file large enough to need several default chunks (over 16 MiB per tensor, or 2 GiB
   * for Node's single-read limit) would cost disk and time.
   */
  readonly chunkBytes?: number | undefined;
}

/** A safetensors file opened for reading: its header, and its tensors read one at a time. */
export interface SafetensorsFile {
  readonly path: string;
  /** The tensors the header describes, by name. */
  readonly entries: ReadonlyMap<string, SafetensorsEntry>;
  /**
   * Reads one tensor into a new float32 array, straight from the file in chunks (no copy of the file, and for
   * float32 no staging buffer at all). Throws `ModelFormatError` naming the file and the tensor when the file
   * has no such tensor or ends before its data.
   */
  read(name: string): Promise<NamedTensor>;
  close(): Promise<void>;
}

/**
 * Opens a safetensors file and reads its header (8-byte little-endian length, then JSON), checking every entry
 * against the file's size. Files of any size: nothing but the header is read until {@link SafetensorsFile.read}.
 * Throws `ModelFormatError` naming the file when it cannot be opened or its header is malformed. Close it.
 */
export async function openSafetensorsFile(
  path: string,
  settings: SafetensorsFileSettings = {},
): Promise<SafetensorsFile> {
  const fail = safetensorsFailure(path);
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new ModelFormatError(`${path} is missing or unreadable.`, { path }, { cause: error });
  }
  try {
    const size = (await handle.stat()).size;
    if (size < 8) fail('the file is shorter than its header length');
    const lengthBytes = new Uint8Array(8);
    await readFully(handle, lengthBytes, 0, fail, 'the header length');
    const headerLength = Number(new DataView(lengthBytes.buffer).getBigUint64(0, true));
    if (headerLength > size - 8) fail('the header length runs past the end of the file');
    if (headerLength > MAX_HEADER_BYTES)
      fail(`the header length ${headerLength} is over the format's 100 MB`);
    const headerBytes = new Uint8Array(headerLength);
    await readFully(handle, headerBytes, 8, fail, 'the header');
    const dataStart = 8 + headerLength;
    const entries = parseSafetensorsHeader(headerBytes, size - dataStart, fail);
    return new OpenSafetensorsFile(path, handle, entries, dataStart, settings.chunkBytes, fail);
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Reads a safetensors file from disk, tensor by tensor, without holding the file in memory: what
 * `readSafetensors` returns for the same bytes, for files of any size (over Node's 2 GiB `readFile` limit too).
 * `names` limits the tensors read (default all); a name the file lacks is a `ModelFormatError` naming both.
 */
export async function readSafetensorsFile(
  path: string,
  settings: SafetensorsFileSettings & { readonly names?: Iterable<string> } = {},
): Promise<Map<string, NamedTensor>> {
  const file = await openSafetensorsFile(path, settings);
  try {
    const tensors = new Map<string, NamedTensor>();
    for (const name of settings.names ?? file.entries.keys()) tensors.set(name, await file.read(name));
    return tensors;
  } finally {
    await file.close();
  }
}

class OpenSafetensorsFile implements SafetensorsFile {
  // Staging buffer for types that are converted (allocated on first need, one chunk, reused for every tensor).
  #staging: Uint8Array | undefined;
  readonly #chunkBytes: number;

  constructor(
    readonly path: string,
    readonly handle: FileHandle,
    readonly entries: ReadonlyMap<string, SafetensorsEntry>,
    readonly dataStart: number,
    chunkBytes: number | undefined,
    readonly fail: (message: string) => never,
  ) {
    const chunk = chunkBytes ?? DEFAULT_SAFETENSORS_CHUNK_BYTES;
    if (!(Number.isInteger(chunk) && chunk > 0))
      throw new RangeError(`chunkBytes must be a positive integer, not ${chunk}.`);
    // Never above what one fs read accepts.
    this.#chunkBytes = Math.min(chunk, 2 ** 30);
  }

  async read(name: string): Promise<NamedTensor> {
    const entry = this.entries.get(name);
    if (entry === undefined) return this.fail(`the file has no tensor ${name}`);
    const { dtype, shape, begin, end } = entry;
    const width = SAFETENSORS_DTYPE_BYTES[dtype];
    const data = new Float32Array((end - begin) / width);
    const chunkElements = Math.max(1, Math.floor(this.#chunkBytes / width));
    const what = `tensor ${name}'s data`;
    if (dtype === 'F32' && LITTLE_ENDIAN) {
      // Stored as the array holds it: read into the array's own bytes.
      const target = new Uint8Array(data.buffer);
      for (let at = 0; at < target.byteLength; at += chunkElements * width) {
        const piece = target.subarray(at, Math.min(at + chunkElements * width, target.byteLength));
        await readFully(this.handle, piece, this.dataStart + begin + at, this.fail, what);
      }
      return { shape, data, dtype };
    }
    const staging = this.#stagingBuffer();
    const stagingElements = Math.max(1, Math.floor(staging.byteLength / width));
    const elementsPerRead = Math.min(chunkElements, stagingElements);
    for (let first = 0; first < data.length; first += elementsPerRead) {
      const count = Math.min(elementsPerRead, data.length - first);
      const piece = staging.subarray(0, count * width);
      await readFully(this.handle, piece, this.dataStart + begin + first * width, this.fail, what);
      decodeInto(dtype, piece, count, data, first);
    }
    return { shape, data, dtype };
  }

  async close(): Promise<void> {
    this.#staging = undefined;
    await this.handle.close();
  }

  #stagingBuffer(): Uint8Array {
    // Whole 8-byte elements, so that typed views of every width fit it from offset 0 (aligned: its own buffer).
    this.#staging ??= new Uint8Array(Math.max(8, this.#chunkBytes - (this.#chunkBytes % 8)));
    return this.#staging;
  }
}

/** Reads `target.byteLength` bytes at `position`, through short reads; a file that ends first fails. */
async function readFully(
  handle: FileHandle,
  target: Uint8Array,
  position: number,
  fail: (message: string) => never,
  what: string,
): Promise<void> {
  let done = 0;
  while (done < target.byteLength) {
    const { bytesRead } = await handle.read(target, done, target.byteLength - done, position + done);
    if (bytesRead === 0) fail(`the file ends before the end of ${what}`);
    done += bytesRead;
  }
}

let halfTable: Float32Array | undefined;

/** Every float16 bit pattern's value: one lookup per element instead of the arithmetic of `halfToFloat`. */
function halfValues(): Float32Array {
  if (halfTable === undefined) {
    halfTable = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits += 1) halfTable[bits] = halfToFloat(bits);
  }
  return halfTable;
}

/** Converts `count` little-endian elements of `dtype` at the start of `source` into `target` from `offset`. */
function decodeInto(
  dtype: SafetensorsEntry['dtype'],
  source: Uint8Array,
  count: number,
  target: Float32Array,
  offset: number,
): void {
  if (!LITTLE_ENDIAN) {
    decodeWithDataView(dtype, source, count, target, offset);
    return;
  }
  // `source` starts its own buffer (the staging buffer), so views of any width are aligned.
  const buffer = source.buffer;
  switch (dtype) {
    case 'F32':
      target.set(new Float32Array(buffer, source.byteOffset, count), offset);
      break;
    case 'F16': {
      const table = halfValues();
      const halves = new Uint16Array(buffer, source.byteOffset, count);
      for (let index = 0; index < count; index += 1)
        target[offset + index] = table[halves[index] as number] as number;
      break;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32: write the bits through an integer view of the target.
      const halves = new Uint16Array(buffer, source.byteOffset, count);
      const words = new Uint32Array(target.buffer, target.byteOffset + offset * 4, count);
      for (let index = 0; index < count; index += 1) words[index] = (halves[index] as number) << 16;
      break;
    }
    case 'F64':
      target.set(new Float64Array(buffer, source.byteOffset, count), offset);
      break;
    case 'I64': {
      const values = new BigInt64Array(buffer, source.byteOffset, count);
      for (let index = 0; index < count; index += 1) target[offset + index] = Number(values[index]);
      break;
    }
    case 'I32':
      target.set(new Int32Array(buffer, source.byteOffset, count), offset);
      break;
    case 'U8':
      target.set(source.subarray(0, count), offset);
      break;
  }
}
