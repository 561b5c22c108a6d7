import { access } from 'node:fs/promises';
import { ConfigError, ModelFormatError } from '@azr/core/spec';
import type * as OnnxRuntime from 'onnxruntime-node';
import { importOptional } from '../shared/import-optional.js';

/** The `onnxruntime-node` module namespace. */
export type OnnxRuntimeModule = typeof OnnxRuntime;

/** Loads `onnxruntime-node` (its native binding included) on first use. */
export function loadOnnxRuntime(): Promise<OnnxRuntimeModule> {
  return importOptional(
    'onnxruntime-node',
    'The onnx engine of @azr/backends',
    () => import('onnxruntime-node'),
  );
}

/** Settings of {@link describeOnnxModel}. */
export interface DescribeOnnxModelSettings {
  /** Threads onnxruntime may use inside one operator. Default `1`, so results do not depend on the machine. */
  readonly intraOpThreads?: number;
}

/** One input or output of an ONNX graph. */
export interface OnnxValueDescription {
  readonly name: string;
  /** Element type, e.g. `float32`, `float16`, `int64`; `undefined` for non-tensor values. */
  readonly type: string | undefined;
  /** Dimensions; symbolic ones (batch, sequence) are their names. Empty when the graph does not say. */
  readonly shape: readonly (number | string)[];
}

/** What an ONNX graph takes and gives. */
export interface OnnxModelDescription {
  readonly path: string;
  readonly inputs: readonly OnnxValueDescription[];
  readonly outputs: readonly OnnxValueDescription[];
}

function describeValues(
  metadata: readonly OnnxRuntime.InferenceSession.ValueMetadata[],
): OnnxValueDescription[] {
  return metadata.map((value) =>
    value.isTensor
      ? { name: value.name, type: value.type, shape: [...value.shape] }
      : { name: value.name, type: undefined, shape: [] },
  );
}

/**
 * Opens an ONNX model on the CPU and lists its inputs and outputs, without running it. The model's external
 * data file, if any, is read from beside it. Throws {@link ModelFormatError} for a missing or unreadable model.
 */
export async function describeOnnxModel(
  path: string,
  settings: DescribeOnnxModelSettings = {},
): Promise<OnnxModelDescription> {
  const intraOpThreads = settings.intraOpThreads ?? 1;
  if (!Number.isInteger(intraOpThreads) || intraOpThreads < 1) {
    throw new ConfigError(`intraOpThreads must be a positive integer, got ${intraOpThreads}.`, {
      field: 'intraOpThreads',
    });
  }
  try {
    await access(path);
  } catch (error) {
    throw new ModelFormatError(`No ONNX model at ${path}.`, { path }, { cause: error });
  }
  const runtime = await loadOnnxRuntime();
  let session: OnnxRuntime.InferenceSession;
  try {
    session = await runtime.InferenceSession.create(path, {
      executionProviders: ['cpu'],
      intraOpNumThreads: intraOpThreads,
      interOpNumThreads: 1,
    });
  } catch (error) {
    throw new ModelFormatError(
      `onnxruntime could not load ${path}: ${(error as Error).message}`,
      { path },
      { cause: error },
    );
  }
  try {
    return {
      path,
      inputs: describeValues(session.inputMetadata),
      outputs: describeValues(session.outputMetadata),
    };
  } finally {
    await session.release();
  }
}
