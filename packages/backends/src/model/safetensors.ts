import { ModelFormatError } from '@azr/core/spec';

/** Element types this reader understands. Floating types are read into float32. */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'U8';

/** Bytes per element of each type. */
export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I64: 8,
  I32: 4,
  U8: 1,
};

/** One tensor, its values as float32 (integer tensors too, exactly up to 2^24). */
export interface NamedTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
  /** The type it was stored as. */
  readonly dtype: SafetensorsDtype;
}

/** Converts one IEEE 754 half-precision value (as its 16 bits) to a number. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** One tensor as a safetensors header describes it. */
export interface SafetensorsEntry {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Where its bytes begin and end, counted from the start of the data (after the header). */
  readonly begin: number;
  readonly end: number;
}

/**
 * Parses a safetensors header (the JSON after the 8-byte length) and checks every entry against the size of the
 * data that follows it. `fail` throws the caller's error; the in-memory and the file reader share this.
 */
export function parseSafetensorsHeader(
  headerBytes: Uint8Array,
  dataLength: number,
  fail: (message: string) => never,
): Map<string, SafetensorsEntry> {
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(headerBytes)) as Record<string, unknown>;
  } catch {
    return fail('the header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    fail('the header is not a JSON object');
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const {
      dtype,
      shape,
      data_offsets: offsets,
    } = (entry ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !(dtype in SAFETENSORS_DTYPE_BYTES))
      fail(`tensor ${name} has the unsupported type ${String(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((size) => Number.isInteger(size) && size >= 0))
      fail(`tensor ${name} has a malformed shape`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((offset) => Number.isSafeInteger(offset))
    )
      fail(`tensor ${name} has malformed data_offsets`);
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((total, size) => total * size, 1);
    const width = SAFETENSORS_DTYPE_BYTES[dtype as SafetensorsDtype];
    if (end - begin !== count * width || begin < 0 || end > dataLength) {
      fail(`tensor ${name}'s data does not match its shape or lies outside the file`);
    }
    entries.set(name, { dtype: dtype as SafetensorsDtype, shape: [...(shape as number[])], begin, end });
  }
  return entries;
}

/** The error every reader raises: `ModelFormatError` with the file's path first. */
export function safetensorsFailure(path: string | undefined): (message: string) => never {
  return (message: string): never => {
    throw new ModelFormatError(`${path ?? 'safetensors'}: ${message}.`, { path });
  };
}

/**
 * Converts `count` little-endian elements of `dtype` at the start of `source` into `target` from `offset`, one
 * element at a time through a `DataView` (any alignment, any host byte order).
 */
export function decodeWithDataView(
  dtype: SafetensorsDtype,
  source: Uint8Array,
  count: number,
  target: Float32Array,
  offset: number,
): void {
  const view = new DataView(source.buffer, source.byteOffset, source.byteLength);
  const width = SAFETENSORS_DTYPE_BYTES[dtype];
  const scratch = new DataView(new ArrayBuffer(4));
  for (let index = 0; index < count; index += 1) {
    const at = index * width;
    let value: number;
    switch (dtype) {
      case 'F32':
        value = view.getFloat32(at, true);
        break;
      case 'F16':
        value = halfToFloat(view.getUint16(at, true));
        break;
      case 'BF16':
        // bfloat16 is the top half of a float32.
        scratch.setUint32(0, view.getUint16(at, true) << 16);
        value = scratch.getFloat32(0);
        break;
      case 'F64':
        value = view.getFloat64(at, true);
        break;
      case 'I64':
        value = Number(view.getBigInt64(at, true));
        break;
      case 'I32':
        value = view.getInt32(at, true);
        break;
      case 'U8':
        value = view.getUint8(at);
        break;
    }
    target[offset + index] = value;
  }
}

/**
 * Reads a safetensors file held in memory: an 8-byte little-endian header length, a JSON header of
 * `{ dtype, shape, data_offsets }` per tensor, then the data. Throws `ModelFormatError` for anything malformed
 * (sizes that do not add up, offsets outside the file, unknown types). Files on disk are better read with
 * {@link readSafetensorsFile}, which needs no copy of the whole file and reads files over 2 GiB.
 */
export function readSafetensors(bytes: Uint8Array, path?: string): Map<string, NamedTensor> {
  const fail = safetensorsFailure(path);
  if (bytes.byteLength < 8) fail('the file is shorter than its header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.byteLength - 8) fail('the header length runs past the end of the file');
  const dataStart = 8 + headerLength;
  const entries = parseSafetensorsHeader(bytes.subarray(8, dataStart), bytes.byteLength - dataStart, fail);
  const tensors = new Map<string, NamedTensor>();
  for (const [name, { dtype, shape, begin }] of entries) {
    const count = shape.reduce((total, size) => total * size, 1);
    const width = SAFETENSORS_DTYPE_BYTES[dtype];
    const data = new Float32Array(count);
    const base = dataStart + begin;
    decodeWithDataView(dtype, bytes.subarray(base, base + count * width), count, data, 0);
    tensors.set(name, { shape, data, dtype });
  }
  return tensors;
}

/** A tensor to write: float32 values, stored as `dtype` (default `F32`). */
export interface TensorToWrite {
  readonly shape: readonly number[];
  readonly data: Float32Array;
  /**
   * The type to store it as. Default `F32`. `F16` and `BF16` round to nearest (ties to even), `F64` is exact;
   * the integer types need integer values in their range.
   */
  readonly dtype?: SafetensorsDtype;
}

/**
 * Writes tensors as safetensors, names sorted, data aligned to 8 bytes as the reference writer does. Each
 * tensor is stored as its `dtype` (float32 unless it says otherwise). `metadata` goes into the header's
 * `__metadata__` (string values only, as the format requires).
 */
export function writeSafetensors(
  tensors: ReadonlyMap<string, TensorToWrite>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = Object.keys(metadata).length > 0 ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const name of names) {
    const tensor = tensors.get(name) as TensorToWrite;
    const dtype = tensor.dtype ?? 'F32';
    if (!(dtype in SAFETENSORS_DTYPE_BYTES))
      throw new ModelFormatError(`Tensor ${name} has the unsupported type ${String(dtype)}.`, {
        path: undefined,
      });
    const count = tensor.shape.reduce((total, size) => total * size, 1);
    if (count !== tensor.data.length) {
      throw new ModelFormatError(
        `Tensor ${name} has ${tensor.data.length} values for the shape [${tensor.shape}].`,
        { path: undefined },
      );
    }
    const size = count * SAFETENSORS_DTYPE_BYTES[dtype];
    header[name] = { dtype, shape: [...tensor.shape], data_offsets: [offset, offset + size] };
    offset += size;
  }
  let headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const padding = (8 - (headerBytes.length % 8)) % 8;
  if (padding > 0) headerBytes = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(padding));
  const bytes = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  bytes.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const name of names) {
    const tensor = tensors.get(name) as TensorToWrite;
    const dtype = tensor.dtype ?? 'F32';
    for (const value of tensor.data) {
      writeValue(view, position, dtype, value, name);
      position += SAFETENSORS_DTYPE_BYTES[dtype];
    }
  }
  return bytes;
}

const INTEGER_RANGES: Readonly<Partial<Record<SafetensorsDtype, readonly [number, number]>>> = {
  U8: [0, 255],
  I32: [-(2 ** 31), 2 ** 31 - 1],
  I64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function writeValue(view: DataView, at: number, dtype: SafetensorsDtype, value: number, name: string): void {
  const range = INTEGER_RANGES[dtype];
  if (range !== undefined && !(Number.isInteger(value) && value >= range[0] && value <= range[1]))
    throw new ModelFormatError(`Tensor ${name} holds ${value}, which ${dtype} cannot store.`, {
      path: undefined,
    });
  switch (dtype) {
    case 'F32':
      view.setFloat32(at, value, true);
      break;
    case 'F16':
      view.setUint16(at, floatToHalf(value), true);
      break;
    case 'BF16':
      view.setUint16(at, floatToBfloat16(value), true);
      break;
    case 'F64':
      view.setFloat64(at, value, true);
      break;
    case 'I64':
      view.setBigInt64(at, BigInt(value), true);
      break;
    case 'I32':
      view.setInt32(at, value, true);
      break;
    case 'U8':
      view.setUint8(at, value);
      break;
  }
}

const floatBits = new Float32Array(1);
const floatWord = new Uint32Array(floatBits.buffer);

/** The 16 bits of the IEEE 754 half-precision value nearest to `value` (ties to even), as PyTorch rounds. */
export function floatToHalf(value: number): number {
  floatBits[0] = value;
  const bits = floatWord[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // A subnormal half: the value in units of 2^-24, rounded.
    if (halfExponent < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    const rest = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    let half = full >>> shift;
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half += 1;
    return sign | half;
  }
  const rest = mantissa & 0x1fff;
  let half = (halfExponent << 10) | (mantissa >>> 13);
  // A carry out of the mantissa steps the exponent, up to infinity, as it should.
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half += 1;
  return sign | half;
}

/** The 16 bits of the bfloat16 value nearest to `value` (ties to even). */
export function floatToBfloat16(value: number): number {
  floatBits[0] = value;
  const bits = floatWord[0] as number;
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}
