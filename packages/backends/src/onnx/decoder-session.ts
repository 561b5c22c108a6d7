import { ModelFormatError } from '@azr/core/spec';
import type * as OnnxRuntime from 'onnxruntime-node';
import { halfToFloat } from '../model/safetensors.js';
import type { OnnxRuntimeModule } from './runtime.js';
import { SAMPLING_GRAPH_NAMES } from './sampling-graph.js';

type OnnxTensor = OnnxRuntime.Tensor;

/** One key/value cache tensor of a decoder: the graph input that takes it and the output that extends it. */
interface CacheSlot {
  readonly input: string;
  readonly output: string;
  /** Dimensions with the batch and sequence axes left as 0. */
  readonly dims: readonly number[];
  readonly batchAxis: number;
  readonly sequenceAxis: number;
}

/** How a decoder graph names and types its inputs and outputs. */
export interface DecoderLayout {
  readonly inputIds: { readonly name: string; readonly type: 'int64' | 'int32' };
  readonly attentionMask: { readonly name: string; readonly type: 'int64' | 'int32' } | undefined;
  readonly positionIds: { readonly name: string; readonly type: 'int64' | 'int32' } | undefined;
  /**
   * `logits_to_keep` (int64 `[1]`), when the graph has it: logits are computed for the last that many positions
   * only (generation needs one; the SDK's graphs have it, as Hugging Face's models have the argument).
   */
  readonly logitsToKeep: string | undefined;
  readonly logits: { readonly name: string; readonly type: 'float32' | 'float16' };
  readonly cacheType: 'float32' | 'float16';
  readonly cache: readonly CacheSlot[];
  /**
   * `concat`: the graph returns past and new positions (`present.N`), the Hugging Face layout. `append`: the
   * past inputs are the caller's buffers, the attention mask marks their filled positions, and the graph
   * returns this run's keys and values only (`new_key_values.N`), which the session writes into the buffers.
   */
  readonly cacheMode: 'concat' | 'append';
  /** Inputs that take weights (float32, fed from the session's weights on every run); none in exports. */
  readonly weightInputs: readonly string[];
  /** Width of the logits. */
  readonly vocabularySize: number;
  /**
   * Whether the graph draws the next token itself (the SDK's rollout graphs, `writeSampling`): the inputs and
   * outputs of `SAMPLING_GRAPH_NAMES`. Exports have none.
   */
  readonly sampling: boolean;
}

/**
 * A decoder's key/value cache after some positions, for `batch` rows. In an `append` graph's cache the tensors
 * are buffers of `capacity` positions, of which the first `length` are filled.
 */
export interface DecoderCache {
  readonly tensors: readonly OnnxTensor[];
  readonly batch: number;
  readonly length: number;
  readonly capacity: number;
}

/**
 * The logits of one run: `row(b, s)` is position `s` of row `b`, as float32. With `logitsToKeep`, the positions
 * are the last `sequenceLength` of the step.
 */
export interface DecoderLogits {
  readonly sequenceLength: number;
  row(batchIndex: number, position: number): Float32Array;
}

type ValueMetadata = OnnxRuntime.InferenceSession.ValueMetadata;

function tensorMetadata(values: readonly ValueMetadata[]): Map<string, { type: string; shape: unknown[] }> {
  const result = new Map<string, { type: string; shape: unknown[] }>();
  for (const value of values)
    if (value.isTensor) result.set(value.name, { type: value.type, shape: [...value.shape] });
  return result;
}

/**
 * Reads the layout of a decoder exported with a key/value cache: the Hugging Face layout
 * (`past_key_values.N.key/value` `[batch, kvHeads, past, headSize]` in, `present.N.key/value` out), or the older
 * GPT-2 layout (`past_N` `[2, batch, heads, past, headSize]` in, `present_N` out). Throws `ModelFormatError`
 * naming what is missing.
 */
export function readDecoderLayout(
  inputs: readonly ValueMetadata[],
  outputs: readonly ValueMetadata[],
  path: string | undefined,
): DecoderLayout {
  const inputTypes = tensorMetadata(inputs);
  const outputTypes = tensorMetadata(outputs);
  const integerInput = (name: string, required: boolean) => {
    const found = inputTypes.get(name);
    if (found === undefined) {
      if (required) throw new ModelFormatError(`The decoder has no "${name}" input.`, { path });
      return undefined;
    }
    if (found.type !== 'int64' && found.type !== 'int32')
      throw new ModelFormatError(`The decoder's "${name}" is ${found.type}, not an integer.`, { path });
    return { name, type: found.type as 'int64' | 'int32' };
  };
  const inputIds = integerInput('input_ids', true) as { name: string; type: 'int64' | 'int32' };
  const logitsType = outputTypes.get('logits');
  if (logitsType === undefined) throw new ModelFormatError('The decoder has no "logits" output.', { path });
  if (logitsType.type !== 'float32' && logitsType.type !== 'float16')
    throw new ModelFormatError(`The decoder's logits are ${logitsType.type}.`, { path });
  const vocabularySize = logitsType.shape.at(-1);
  if (typeof vocabularySize !== 'number')
    throw new ModelFormatError('The decoder does not declare the width of its logits.', { path });

  const slots: (CacheSlot & { layer: number; part: number })[] = [];
  let cacheType: string | undefined;
  let cacheMode: 'concat' | 'append' | undefined;
  for (const [name, { type, shape }] of inputTypes) {
    const modern = /^past_key_values\.(\d+)\.(key|value)$/.exec(name);
    const legacy = /^past_(\d+)$/.exec(name);
    if (modern === null && legacy === null) continue;
    const layer = Number((modern ?? legacy)?.[1]);
    const present = modern ? `present.${layer}.${modern[2]}` : `present_${layer}`;
    const appended = modern ? `new_key_values.${layer}.${modern[2]}` : undefined;
    const output = outputTypes.has(present) ? present : appended;
    if (output === undefined || !outputTypes.has(output))
      throw new ModelFormatError(`The decoder takes "${name}" but gives no "${present}".`, { path });
    const slotMode = output === present ? 'concat' : 'append';
    if (cacheMode !== undefined && slotMode !== cacheMode)
      throw new ModelFormatError('The decoder mixes present and new_key_values cache outputs.', { path });
    cacheMode = slotMode;
    const batchAxis = modern ? 0 : 1;
    const sequenceAxis = modern ? 2 : 3;
    const expectedRank = modern ? 4 : 5;
    if (shape.length !== expectedRank)
      throw new ModelFormatError(`"${name}" has rank ${shape.length}, expected ${expectedRank}.`, { path });
    const dims = shape.map((dimension, axis) => {
      if (axis === batchAxis || axis === sequenceAxis) return 0;
      if (typeof dimension !== 'number')
        throw new ModelFormatError(`"${name}" does not declare the size of axis ${axis}.`, { path });
      return dimension;
    });
    if (cacheType !== undefined && type !== cacheType)
      throw new ModelFormatError('The decoder mixes cache element types.', { path });
    cacheType = type;
    slots.push({
      input: name,
      output,
      dims,
      batchAxis,
      sequenceAxis,
      layer,
      part: modern?.[2] === 'value' ? 1 : 0,
    });
  }
  if (slots.length === 0)
    throw new ModelFormatError(
      'The decoder has no key/value cache inputs (past_key_values.N.key/value or past_N).',
      { path },
    );
  if (cacheType !== 'float32' && cacheType !== 'float16')
    throw new ModelFormatError(`The decoder's cache is ${cacheType}.`, { path });
  if (cacheMode === 'append' && cacheType !== 'float32')
    throw new ModelFormatError('An appended cache must be float32.', { path });
  const sampling = SAMPLING_GRAPH_NAMES;
  const samplingValues = [
    inputTypes.get(sampling.uniforms)?.type === 'float64',
    inputTypes.get(sampling.inverseTemperature)?.type === 'float32',
    outputTypes.get(sampling.tokens)?.type === 'int64',
    outputTypes.get(sampling.logProbs)?.type === 'float32',
    outputTypes.get(sampling.greedyTokens)?.type === 'int64',
    outputTypes.get(sampling.greedyLogProbs)?.type === 'float32',
  ];
  const samples = samplingValues.every(Boolean);
  if (!samples && (inputTypes.has(sampling.uniforms) || inputTypes.has(sampling.inverseTemperature)))
    throw new ModelFormatError(
      `The decoder takes "${sampling.uniforms}" or "${sampling.inverseTemperature}" but lacks the rest of the SDK's sampling inputs and outputs (${Object.values(sampling).join(', ')}) or their types.`,
      { path },
    );
  slots.sort((left, right) => left.layer - right.layer || left.part - right.part);
  const known = new Set([
    'input_ids',
    'attention_mask',
    'position_ids',
    'logits_to_keep',
    ...(samples ? [sampling.uniforms, sampling.inverseTemperature] : []),
    ...slots.map((slot) => slot.input),
  ]);
  const weightInputs = [...inputTypes.keys()].filter((name) => !known.has(name));
  for (const name of weightInputs)
    if (inputTypes.get(name)?.type !== 'float32')
      throw new ModelFormatError(`The decoder takes an input "${name}" the SDK does not know.`, { path });
  return {
    inputIds,
    attentionMask: integerInput('attention_mask', false),
    positionIds: integerInput('position_ids', false),
    logitsToKeep: inputTypes.has('logits_to_keep') ? 'logits_to_keep' : undefined,
    logits: { name: 'logits', type: logitsType.type },
    cacheType,
    cache: slots.map(({ input, output, dims, batchAxis, sequenceAxis }) => ({
      input,
      output,
      dims,
      batchAxis,
      sequenceAxis,
    })),
    cacheMode: cacheMode ?? 'concat',
    weightInputs,
    vocabularySize,
    sampling: samples,
  };
}

function integerTensor(
  runtime: OnnxRuntimeModule,
  type: 'int64' | 'int32',
  rows: readonly (readonly number[])[],
): OnnxTensor {
  const width = rows[0]?.length ?? 0;
  const data =
    type === 'int64' ? new BigInt64Array(rows.length * width) : new Int32Array(rows.length * width);
  let next = 0;
  if (data instanceof BigInt64Array) {
    for (const row of rows) for (const value of row) data[next++] = BigInt(value);
  } else for (const row of rows) for (const value of row) data[next++] = value;
  return new runtime.Tensor(type, data, [rows.length, width]);
}

/** One step of a decoder: new token ids `[batch, sequence]` after the cache of earlier positions. */
export interface DecoderStep {
  readonly tokenIds: readonly (readonly number[])[];
  /** `[batch, past + sequence]`: 1 for positions to attend to, 0 for padding. */
  readonly attentionMask: readonly (readonly number[])[];
  /** `[batch, sequence]`. */
  readonly positionIds: readonly (readonly number[])[];
  readonly cache: DecoderCache | undefined;
  /** Logits wanted for the last this many positions (all when undefined; graphs without the input give all). */
  readonly logitsToKeep?: number;
  /**
   * Positions the cache will hold at most (an `append` graph's buffers are allocated that big once, instead of
   * growing). Default: what this step fills.
   */
  readonly capacity?: number;
  /**
   * For a graph that samples (`DecoderLayout.sampling`): each row's uniform draw in [0, 1) (any value for a row
   * whose token is not wanted) and the temperature. The run then returns each row's drawn and greedy tokens at
   * its last position (`DecoderResult.sampled`). Graphs without sampling ignore it.
   */
  readonly sampling?: { readonly uniforms: readonly number[]; readonly temperature: number };
  /**
   * For an `append` graph: the position of each row's buffers at which this run's keys and values go, instead of
   * after the filled positions (the same for every row). Rows then fill their buffers each at its own pace: the
   * cache's `length` is its capacity, and `attentionMask` covers the whole buffer and this run's positions.
   */
  readonly writeAt?: readonly number[];
  /**
   * Whether the run returns the logits. Default true. Only a run whose graph samples may skip them (onnxruntime
   * then does not copy them out).
   */
  readonly logits?: boolean;
}

/** Each row's next token as the graph drew it (`DecoderStep.sampling`), and its greedy one. */
export interface SampledTokens {
  readonly tokens: readonly number[];
  /** The drawn tokens' natural-log probabilities under `softmax(logits / temperature)`. */
  readonly logProbs: Float32Array;
  readonly greedyTokens: readonly number[];
  readonly greedyLogProbs: Float32Array;
}

/** What a decoder run gives: the logits (unless the step declined them), the graph's draws, the cache. */
export interface DecoderResult {
  readonly logits: DecoderLogits | undefined;
  readonly sampled: SampledTokens | undefined;
  readonly cache: DecoderCache;
}

/** Weights fed to a graph whose weights are inputs: by input name, float32, in the graph's shapes. */
export type DecoderWeights = () => ReadonlyMap<
  string,
  { readonly shape: readonly number[]; readonly data: Float32Array }
>;

/** Runs a decoder graph step by step with its key/value cache, whatever its layout and element types. */
export class DecoderSession {
  constructor(
    private readonly runtime: OnnxRuntimeModule,
    readonly session: OnnxRuntime.InferenceSession,
    readonly layout: DecoderLayout,
    /** The weights of a graph that takes them as inputs (read on every run, so updates need no new session). */
    private readonly weights?: DecoderWeights,
  ) {
    if (layout.weightInputs.length > 0 && weights === undefined)
      throw new ModelFormatError(
        `The decoder takes weights as inputs ("${layout.weightInputs[0]}"), and none were given.`,
        {
          path: undefined,
        },
      );
  }

  /** Bytes of key/value cache one position of one row takes, over every layer. */
  cacheBytesPerPosition(): number {
    const element = this.layout.cacheType === 'float16' ? 2 : 4;
    return this.layout.cache.reduce(
      (total, slot) =>
        total +
        element *
          slot.dims.reduce(
            (product, size, axis) =>
              axis === slot.batchAxis || axis === slot.sequenceAxis ? product : product * size,
            1,
          ),
      0,
    );
  }

  /** An empty cache for `batch` rows. */
  emptyCache(batch: number): DecoderCache {
    // An append graph's buffers have at least one position (masked while empty): onnxruntime cannot reshape
    // the scores of zero positions.
    const capacity = this.layout.cacheMode === 'append' ? 1 : 0;
    return { tensors: this.cacheTensors(batch, capacity), batch, length: 0, capacity };
  }

  private cacheTensors(batch: number, positions: number): OnnxTensor[] {
    return this.layout.cache.map((slot) => {
      const dims = slot.dims.map((size, axis) =>
        axis === slot.batchAxis ? batch : axis === slot.sequenceAxis ? positions : size,
      );
      const size = dims.reduce((total, dimension) => total * dimension, 1);
      const data = this.layout.cacheType === 'float16' ? new Uint16Array(size) : new Float32Array(size);
      return new this.runtime.Tensor(this.layout.cacheType, data, dims);
    });
  }

  async run(step: DecoderStep): Promise<DecoderResult> {
    const { layout, runtime } = this;
    const batch = step.tokenIds.length;
    const sequenceLength = step.tokenIds[0]?.length ?? 0;
    const cache = step.cache ?? this.emptyCache(batch);
    const append = layout.cacheMode === 'append';
    // An append graph's mask covers the whole buffer: the unfilled positions between the cache and the new
    // ones are masked.
    const mask =
      append && cache.capacity > cache.length
        ? step.attentionMask.map((row) => [
            ...row.slice(0, cache.length),
            ...new Array<number>(cache.capacity - cache.length).fill(0),
            ...row.slice(cache.length),
          ])
        : step.attentionMask;
    const feeds: Record<string, OnnxTensor> = {
      [layout.inputIds.name]: integerTensor(runtime, layout.inputIds.type, step.tokenIds),
    };
    if (layout.attentionMask)
      feeds[layout.attentionMask.name] = integerTensor(runtime, layout.attentionMask.type, mask);
    if (layout.positionIds)
      feeds[layout.positionIds.name] = integerTensor(runtime, layout.positionIds.type, step.positionIds);
    layout.cache.forEach((slot, index) => {
      feeds[slot.input] = cache.tensors[index] as OnnxTensor;
    });
    if (layout.logitsToKeep !== undefined)
      feeds[layout.logitsToKeep] = new runtime.Tensor(
        'int64',
        BigInt64Array.of(BigInt(Math.min(step.logitsToKeep ?? sequenceLength, sequenceLength))),
        [1],
      );
    if (layout.weightInputs.length > 0) {
      const weights = (this.weights as DecoderWeights)();
      for (const name of layout.weightInputs) {
        const weight = weights.get(name);
        if (weight === undefined) throw new Error(`The decoder's weight input "${name}" was not given.`);
        feeds[name] = new runtime.Tensor('float32', weight.data, [...weight.shape]);
      }
    }
    const names = SAMPLING_GRAPH_NAMES;
    const sampled = layout.sampling && step.sampling !== undefined;
    if (layout.sampling) {
      const uniforms = new Float64Array(batch);
      if (step.sampling !== undefined) {
        if (step.sampling.uniforms.length !== batch)
          throw new Error(`${step.sampling.uniforms.length} uniforms for a run of ${batch} rows`);
        uniforms.set(step.sampling.uniforms);
      }
      feeds[names.uniforms] = new runtime.Tensor('float64', uniforms, [batch]);
      feeds[names.inverseTemperature] = new runtime.Tensor(
        'float32',
        Float32Array.of(1 / (step.sampling?.temperature ?? 1)),
        [1],
      );
    }
    const withLogits = !sampled || step.logits !== false;
    const fetches = [
      ...(withLogits ? [layout.logits.name] : []),
      ...(sampled ? [names.tokens, names.logProbs, names.greedyTokens, names.greedyLogProbs] : []),
      ...layout.cache.map((slot) => slot.output),
    ];
    const results = await this.session.run(feeds, fetches);
    const length = cache.length + sequenceLength;
    const tokens = (name: string) => Array.from((results[name] as OnnxTensor).data as BigInt64Array, Number);
    const floats = (name: string) => (results[name] as OnnxTensor).data as Float32Array;
    return {
      logits: withLogits ? this.readLogits(results[layout.logits.name] as OnnxTensor) : undefined,
      sampled: sampled
        ? {
            tokens: tokens(names.tokens),
            logProbs: floats(names.logProbs),
            greedyTokens: tokens(names.greedyTokens),
            greedyLogProbs: floats(names.greedyLogProbs),
          }
        : undefined,
      cache: append
        ? step.writeAt === undefined
          ? this.appendToCache(cache, results, Math.max(length, step.capacity ?? 0))
          : this.writeRows(cache, results, step.writeAt)
        : {
            tensors: layout.cache.map((slot) => results[slot.output] as OnnxTensor),
            batch,
            length,
            capacity: length,
          },
    };
  }

  private readLogits(logits: OnnxTensor): DecoderLogits {
    const logitsLength = logits.dims[1] as number;
    const vocabulary = this.layout.vocabularySize;
    const half = this.layout.logits.type === 'float16';
    const data = logits.data as Float32Array | Uint16Array;
    return {
      sequenceLength: logitsLength,
      row: (batchIndex, position) => {
        const offset = (batchIndex * logitsLength + position) * vocabulary;
        if (!half) return (data as Float32Array).subarray(offset, offset + vocabulary);
        const row = new Float32Array(vocabulary);
        for (let index = 0; index < vocabulary; index += 1)
          row[index] = halfToFloat(data[offset + index] as number);
        return row;
      },
    };
  }

  /**
   * Writes an append graph's new keys and values into the cache buffers after their filled positions: in place
   * when they fit, else into buffers of `capacity` positions (the filled part copied once).
   */
  private appendToCache(
    cache: DecoderCache,
    results: OnnxRuntime.InferenceSession.ReturnType,
    capacity: number,
  ): DecoderCache {
    const { batch, length } = cache;
    const first = this.layout.cache[0] as CacheSlot;
    const added = (results[first.output] as OnnxTensor).dims[2] as number;
    // An empty cache's buffers (one masked position) are replaced by buffers of the capacity asked for, even when
    // this run's positions would fit them (a one-token prompt).
    const grown = length + added > cache.capacity || (length === 0 && capacity > cache.capacity);
    const tensors = grown ? this.cacheTensors(batch, capacity) : cache.tensors;
    this.layout.cache.forEach((slot, index) => {
      const target = (tensors[index] as OnnxTensor).data as Float32Array;
      const source = (results[slot.output] as OnnxTensor).data as Float32Array;
      const old = (cache.tensors[index] as OnnxTensor).data as Float32Array;
      const width = slot.dims[3] as number;
      const rows = batch * (slot.dims[1] as number);
      const targetCapacity = grown ? capacity : cache.capacity;
      for (let row = 0; row < rows; row += 1) {
        const base = row * targetCapacity * width;
        if (grown && length > 0)
          target.set(
            old.subarray(row * cache.capacity * width, (row * cache.capacity + length) * width),
            base,
          );
        target.set(source.subarray(row * added * width, (row + 1) * added * width), base + length * width);
      }
    });
    return { tensors, batch, length: length + added, capacity: grown ? capacity : cache.capacity };
  }

  /** Writes an append graph's new keys and values of row `r` at position `writeAt[r]` of its buffers. */
  private writeRows(
    cache: DecoderCache,
    results: OnnxRuntime.InferenceSession.ReturnType,
    writeAt: readonly number[],
  ): DecoderCache {
    const first = this.layout.cache[0] as CacheSlot;
    const added = (results[first.output] as OnnxTensor).dims[2] as number;
    if (writeAt.length !== cache.batch || writeAt.some((at) => at < 0 || at + added > cache.capacity))
      throw new Error(
        `cannot write ${added} positions at [${writeAt.join(', ')}] into a cache of ${cache.batch} x ${cache.capacity}`,
      );
    this.layout.cache.forEach((slot, index) => {
      const target = (cache.tensors[index] as OnnxTensor).data as Float32Array;
      const source = (results[slot.output] as OnnxTensor).data as Float32Array;
      const width = slot.dims[3] as number;
      const heads = slot.dims[1] as number;
      for (let row = 0; row < cache.batch * heads; row += 1)
        target.set(
          source.subarray(row * added * width, (row + 1) * added * width),
          (row * cache.capacity + (writeAt[Math.floor(row / heads)] as number)) * width,
        );
    });
    return cache;
  }

  /** The cache of the given rows only (in that order), to drop finished rows from a batch. */
  selectRows(cache: DecoderCache, rows: readonly number[]): DecoderCache {
    return this.arrange(
      rows.map((row) => ({ source: cache, row, span: cache.length })),
      cache.length,
      cache.capacity,
    );
  }

  /**
   * A cache laid out anew in fresh buffers, one row per entry of `rows`: a row takes the last `span` filled
   * positions of row `row` of `source`, ending at position `length` (or at the entry's `end`), and its other
   * positions are zero (the caller's attention mask hides them); `undefined` is an empty row. The buffers hold
   * `capacity` positions in an `append` graph (at least `length`), and `length` in a `concat` one, whose buffers
   * are the graph's own.
   */
  arrange(rows: readonly (ArrangedRow | undefined)[], length: number, capacity: number): DecoderCache {
    const positions = this.layout.cacheMode === 'append' ? Math.max(length, capacity, 1) : length;
    const tensors = this.cacheTensors(rows.length, positions);
    const target = { tensors, batch: rows.length, length, capacity: positions };
    rows.forEach((entry, at) => {
      if (entry !== undefined) this.copyRow(entry, target, at, false);
    });
    return target;
  }

  /**
   * Writes rows into `cache`'s own buffers: row `at` takes the last `span` filled positions of row `row` of
   * `source`, ending at the cache's filled length (or at the entry's `end`), and its positions before them are
   * zeroed (those after are left as they are, for the caller's mask to hide). The cache's other rows are not
   * touched.
   */
  place(cache: DecoderCache, rows: readonly (ArrangedRow & { readonly at: number })[]): void {
    for (const entry of rows) this.copyRow(entry, cache, entry.at, true);
  }

  /**
   * Copies one row's last `span` filled positions into row `at` of `target`, ending at `entry.end` (default: the
   * target's filled length).
   */
  private copyRow(entry: ArrangedRow, target: DecoderCache, at: number, clear: boolean): void {
    const { source, row, span } = entry;
    const end = entry.end ?? target.length;
    if (
      span > source.length ||
      span > end ||
      end > target.capacity ||
      row >= source.batch ||
      at >= target.batch
    )
      throw new Error(
        `cannot place ${span} positions of row ${row} of a cache of ${source.batch} x ${source.length} at row ${at} of one of ${target.batch} x ${target.length}`,
      );
    this.layout.cache.forEach((slot, index) => {
      const from = (source.tensors[index] as OnnxTensor).data as Float32Array | Uint16Array;
      const to = (target.tensors[index] as OnnxTensor).data as Float32Array | Uint16Array;
      const outer = slot.dims.slice(0, slot.batchAxis).reduce((total, size) => total * size, 1);
      const middle = slot.dims
        .slice(slot.batchAxis + 1, slot.sequenceAxis)
        .reduce((total, size) => total * size, 1);
      const inner = slot.dims.slice(slot.sequenceAxis + 1).reduce((total, size) => total * size, 1);
      for (let block = 0; block < outer; block += 1)
        for (let part = 0; part < middle; part += 1) {
          const base = (rowIndex: number, batch: number, capacity: number) =>
            ((block * batch + rowIndex) * middle + part) * capacity * inner;
          const fromBase = base(row, source.batch, source.capacity);
          const toBase = base(at, target.batch, target.capacity);
          const toStart = toBase + (end - span) * inner;
          if (clear) to.fill(0, toBase, toStart);
          to.set(
            from.subarray(fromBase + (source.length - span) * inner, fromBase + source.length * inner),
            toStart,
          );
        }
    });
  }
}

/** A row of a cache to copy into another (see {@link DecoderSession.arrange}). */
export interface ArrangedRow {
  readonly source: DecoderCache;
  readonly row: number;
  /** Its last this many filled positions. */
  readonly span: number;
  /** Where they end in the target row. Default: the target's filled length. */
  readonly end?: number;
}
