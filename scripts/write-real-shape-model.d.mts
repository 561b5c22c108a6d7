// Types of write-real-shape-model.mjs, for the tests that import it.
import type { LlamaConfig } from '@azr/backends';

/**
 * A checkpoint's shape: its `config.json` fields (less special tokens, and less the vocabulary where the
 * tokenizer's is used), init range, and storage.
 */
export interface RealShape {
  readonly checkpoint: string;
  readonly config: Readonly<Record<string, string | number | boolean>>;
  readonly initializerRange: number;
  /** `F32` (one file through `writeModelDirectory`) or `BF16` (streamed). */
  readonly dtype: 'F32' | 'BF16';
  /** When set, the weights are sharded through `model.safetensors.index.json`, shards at most this size. */
  readonly maxShardBytes?: number;
}

/** The shapes the script writes, by name. */
export declare const REAL_SHAPES: {
  readonly 'smollm2-135m': RealShape;
  readonly 'qwen2.5-0.5b': RealShape;
  readonly 'qwen2.5-1.5b': RealShape;
};

/** The names of {@link REAL_SHAPES}. */
export declare const REAL_SHAPE_NAMES: readonly string[];

/** `AZR_FIXTURES`, else `../shared/fixtures` beside the repository. */
export declare function defaultFixtures(): string;

/** Settings of {@link writeRealShapeModel}. */
export interface WriteRealShapeModelSettings {
  /** The folder to write (created when missing; the model's files in it are replaced). */
  readonly out: string;
  /** One of {@link REAL_SHAPE_NAMES}. Default `smollm2-135m`. */
  readonly shape?: string;
  /** Seed of the random weights. Default `0`. */
  readonly seed?: number;
  /** The shared fixtures folder (holding `tokenizers/phi-2.tokenizer.json`). Default {@link defaultFixtures}. */
  readonly fixtures?: string;
}

/** What {@link writeRealShapeModel} wrote. */
export interface WrittenRealShapeModel {
  readonly directory: string;
  readonly shape: string;
  readonly checkpoint: string;
  readonly seed: number;
  readonly config: LlamaConfig;
  /** Parameters, the tied embedding counted once. */
  readonly parameterCount: number;
  /** Size in bytes of each file in the folder, by name. */
  readonly files: Readonly<Record<string, number>>;
  /** The folder's total size in bytes. */
  readonly bytes: number;
}

/** Writes a model folder with random weights in a public checkpoint's shape and the phi-2 tokenizer. */
export declare function writeRealShapeModel(
  settings: WriteRealShapeModelSettings,
): Promise<WrittenRealShapeModel>;
