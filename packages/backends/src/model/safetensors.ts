import { ModelFormatError } from '@azr/core/spec';

/** Element types this reader understands. Floating types are read into float32. */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'U8';

const BYTES: Readonly<Record<SafetensorsDtype, number>> = {
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

/**
 * Reads a safetensors file: an 8-byte little-endian header length, a JSON header of `{ dtype, shape,
 * data_offsets }` per tensor, then the data. Throws `ModelFormatError` for anything malformed (sizes that do
 * not add up, offsets outside the file, unknown types).
 */
export function readSafetensors(bytes: Uint8Array, path?: string): Map<string, NamedTensor> {
  const fail = (message: string): never => {
    throw new ModelFormatError(`${path ?? 'safetensors'}: ${message}.`, { path });
  };
  if (bytes.byteLength < 8) fail('the file is shorter than its header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.byteLength - 8) fail('the header length runs past the end of the file');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<
      string,
      unknown
    >;
  } catch {
    return fail('the header is not JSON');
  }
  const dataStart = 8 + headerLength;
  const scratch = new DataView(new ArrayBuffer(4));
  const tensors = new Map<string, NamedTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const {
      dtype,
      shape,
      data_offsets: offsets,
    } = (entry ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !(dtype in BYTES))
      fail(`tensor ${name} has the unsupported type ${String(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((size) => Number.isInteger(size) && size >= 0))
      fail(`tensor ${name} has a malformed shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2) fail(`tensor ${name} has malformed data_offsets`);
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((total, size) => total * size, 1);
    const width = BYTES[dtype as SafetensorsDtype];
    if (end - begin !== count * width || begin < 0 || dataStart + end > bytes.byteLength) {
      fail(`tensor ${name}'s data does not match its shape or lies outside the file`);
    }
    const data = new Float32Array(count);
    const base = dataStart + begin;
    for (let index = 0; index < count; index += 1) {
      const at = base + index * width;
      switch (dtype as SafetensorsDtype) {
        case 'F32':
          data[index] = view.getFloat32(at, true);
          break;
        case 'F16':
          data[index] = halfToFloat(view.getUint16(at, true));
          break;
        case 'BF16':
          // bfloat16 is the top half of a float32.
          scratch.setUint32(0, view.getUint16(at, true) << 16);
          data[index] = scratch.getFloat32(0);
          break;
        case 'F64':
          data[index] = view.getFloat64(at, true);
          break;
        case 'I64':
          data[index] = Number(view.getBigInt64(at, true));
          break;
        case 'I32':
          data[index] = view.getInt32(at, true);
          break;
        case 'U8':
          data[index] = view.getUint8(at);
          break;
      }
    }
    tensors.set(name, { shape: [...(shape as number[])], data, dtype: dtype as SafetensorsDtype });
  }
  return tensors;
}

/**
 * Writes float32 tensors as safetensors, names sorted, data aligned to 8 bytes as the reference writer does.
 * `metadata` goes into the header's `__metadata__` (string values only, as the format requires).
 */
export function writeSafetensors(
  tensors: ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: Float32Array }>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = Object.keys(metadata).length > 0 ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const name of names) {
    const tensor = tensors.get(name) as { shape: readonly number[]; data: Float32Array };
    const count = tensor.shape.reduce((total, size) => total * size, 1);
    if (count !== tensor.data.length) {
      throw new ModelFormatError(
        `Tensor ${name} has ${tensor.data.length} values for the shape [${tensor.shape}].`,
        { path: undefined },
      );
    }
    header[name] = { dtype: 'F32', shape: [...tensor.shape], data_offsets: [offset, offset + count * 4] };
    offset += count * 4;
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
    const data = (tensors.get(name) as { data: Float32Array }).data;
    for (const value of data) {
      view.setFloat32(position, value, true);
      position += 4;
    }
  }
  return bytes;
}
