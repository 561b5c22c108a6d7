import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelFormatError } from '@azr/core/spec';
import { readSafetensors, writeSafetensors } from '../model/safetensors.js';

/** The file of a saved policy that holds AdamW's state, beside the weights. */
export const OPTIMIZER_FILE = 'optimizer.safetensors';

/**
 * AdamW's state: the step count and both moments of each weight, in the layout the engines train in
 * (projections `[in, out]`). Both engines read and write the same file, so a policy saved by one continues
 * training in the other.
 */
export interface OptimizerState {
  readonly step: number;
  readonly moments: ReadonlyMap<
    string,
    { readonly shape: readonly number[]; readonly first: Float32Array; readonly second: Float32Array }
  >;
}

/** Writes `optimizer.safetensors` (`<name>.m` and `<name>.v` tensors, the step in the metadata). */
export async function writeOptimizerState(directory: string, state: OptimizerState): Promise<void> {
  const tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [name, { shape, first, second }] of state.moments) {
    tensors.set(`${name}.m`, { shape, data: first });
    tensors.set(`${name}.v`, { shape, data: second });
  }
  await writeFile(join(directory, OPTIMIZER_FILE), writeSafetensors(tensors, { step: String(state.step) }));
}

/** Reads a saved optimizer state; `undefined` when the folder has none (a model that never trained). */
export async function readOptimizerState(directory: string): Promise<OptimizerState | undefined> {
  const path = join(directory, OPTIMIZER_FILE);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch {
    return undefined;
  }
  let step: number;
  try {
    const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as {
      __metadata__?: { step?: string };
    };
    step = Number(header.__metadata__?.step ?? 0);
  } catch (error) {
    throw new ModelFormatError(`${path} is not a safetensors file.`, { path }, { cause: error });
  }
  const tensors = readSafetensors(bytes, path);
  const moments = new Map<string, { shape: readonly number[]; first: Float32Array; second: Float32Array }>();
  for (const [key, tensor] of tensors) {
    if (!key.endsWith('.m')) continue;
    const name = key.slice(0, -2);
    const second = tensors.get(`${name}.v`);
    if (second !== undefined)
      moments.set(name, { shape: tensor.shape, first: tensor.data, second: second.data });
  }
  return { step, moments };
}
