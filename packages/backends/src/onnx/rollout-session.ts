import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LlamaConfig } from '../model/config.js';
import type { LlamaWeights } from '../model/weights.js';
import { DecoderSession, readDecoderLayout } from './decoder-session.js';
import { buildLlamaDecoderGraph, type WeightSource } from './llama-graph.js';
import type { OnnxRuntimeModule } from './runtime.js';
import { type OnnxSessionSettings, openSession } from './session.js';

/**
 * How the rollout session holds the weights:
 *
 * - `packed` (default): as constants of its graph, which onnxruntime packs once for its matrix kernels. A decode
 *   step (a few rows against every weight) takes about half the CPU time it takes from unpacked weights (measured
 *   on SmolLM2-135M's shape, batch 8: 162-167 against 317-333 ms; `BENCHMARKS.md`), for one more copy of the
 *   weights in memory and a new session after
 *   every update (the weights travel through a temporary file beside the graph, so no model meets protobuf's
 *   2 GB cap).
 * - `shared`: as graph inputs fed from the arrays the trainer updates. No second copy and no new session after
 *   an update, slower decoding: for models whose weights fit in memory only once.
 */
export type RolloutWeights = 'packed' | 'shared';

/** The names {@link RolloutWeights} takes. */
export const ROLLOUT_WEIGHTS: readonly RolloutWeights[] = ['packed', 'shared'];

/**
 * The precision of the rollout session's products (`packed` sessions only):
 *
 * - `float32` (default): the learner's own weights; generation's log probabilities are the learner's.
 * - `int8`: the projections and the head block-wise quantized to 8 bits (see `quantizeInt8Blocks`), a quarter
 *   of the bytes per decoded token. Generation's log probabilities are then close to the learner's but not
 *   equal, and the update corrects for it (truncated importance sampling; `importanceTruncation`).
 */
export type RolloutPrecision = 'float32' | 'int8';

/** The names {@link RolloutPrecision} takes. */
export const ROLLOUT_PRECISIONS: readonly RolloutPrecision[] = ['float32', 'int8'];

/**
 * The rollout session of a Llama-family model: its graph appends to the key/value cache in place
 * (`buildLlamaRolloutGraph`), and holds the weights as `mode` says. `weights()` gives the current graph-layout
 * arrays; a `shared` session reads them on every run, a `packed` one copies them when it is opened.
 */
export async function openRolloutSession(
  runtime: OnnxRuntimeModule,
  config: LlamaConfig,
  weights: () => LlamaWeights,
  settings: OnnxSessionSettings,
  mode: RolloutWeights,
  precision: RolloutPrecision = 'float32',
): Promise<DecoderSession> {
  if (mode === 'shared' && precision !== 'float32')
    throw new Error(
      `A shared rollout session holds the learner's float32 weights; ${precision} needs packed.`,
    );
  if (mode === 'shared') {
    const session = await openSession(
      runtime,
      await buildLlamaDecoderGraph(config, { kind: 'inputs' }, 'append'),
      settings,
    );
    return new DecoderSession(
      runtime,
      session,
      readDecoderLayout(session.inputMetadata, session.outputMetadata, undefined),
      weights,
    );
  }
  const folder = await mkdtemp(join(tmpdir(), 'azr-rollout-'));
  try {
    const source: WeightSource & { kind: 'external' } = {
      kind: 'external',
      weights: weights(),
      location: 'weights.bin',
      pieces: [],
      precision,
    };
    const modelPath = join(folder, 'rollout.onnx');
    await writeFile(modelPath, await buildLlamaDecoderGraph(config, source, 'append'));
    await writePieces(join(folder, source.location), source.pieces);
    const session = await openSession(runtime, modelPath, settings);
    return new DecoderSession(
      runtime,
      session,
      readDecoderLayout(session.inputMetadata, session.outputMetadata, undefined),
    );
  } finally {
    // onnxruntime has read (or mapped) the file: removing it frees the name, not the session's data.
    await rm(folder, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Writes each array at its offset, straight from its memory. */
async function writePieces(
  path: string,
  pieces: readonly { readonly data: Float32Array | Uint8Array; readonly offset: number }[],
): Promise<void> {
  const handle = await open(path, 'w');
  try {
    for (const { data, offset } of pieces) {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      let written = 0;
      while (written < bytes.length) {
        const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, offset + written);
        written += bytesWritten;
      }
    }
  } catch (error) {
    throw new Error(
      `Writing the rollout weights to ${path} failed (${(error as Error).message}). The packed rollout session passes the weights through a temporary file; free space in the temporary folder (TMPDIR), or set rolloutWeights: 'shared'.`,
      { cause: error },
    );
  } finally {
    await handle.close();
  }
}
