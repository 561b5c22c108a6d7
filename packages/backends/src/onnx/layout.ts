import type { LlamaWeights } from '../model/weights.js';

/** Whether a weight is stored transposed in the graph layout (`[in, out]`, so that products need no flag). */
export function isGraphProjection(name: string, shape: readonly number[]): boolean {
  return shape.length === 2 && name !== 'model.embed_tokens.weight';
}

/** The shape of a weight in the graph layout: projections `[in, out]`, everything else as Hugging Face has it. */
export function graphLayoutShape(name: string, shape: readonly number[]): readonly number[] {
  return isGraphProjection(name, shape) ? [shape[1] as number, shape[0] as number] : shape;
}

/** A row-major matrix transposed, into `result` when given (of the same length), else into a new array. */
export function transposeMatrix(
  data: Float32Array,
  rows: number,
  columns: number,
  result: Float32Array = new Float32Array(data.length),
): Float32Array {
  for (let row = 0; row < rows; row += 1) {
    const offset = row * columns;
    for (let column = 0; column < columns; column += 1)
      result[column * rows + row] = data[offset + column] as number;
  }
  return result;
}

function transposeProjections(weights: LlamaWeights, consume = false): LlamaWeights {
  const result: LlamaWeights = new Map();
  // Consumed matrices that own their whole buffer, by length: the next matrix of that length is transposed into
  // one of them instead of into a new array. Writing into memory already touched skips the page faults of a
  // fresh allocation, which cost the transposes of a 1.5B model about as much as the copying (BENCHMARKS.md).
  const spare = new Map<number, Float32Array[]>();
  for (const [name, { shape, data }] of weights) {
    if (!isGraphProjection(name, shape))
      result.set(name, { shape: [...shape], data: consume ? data : data.slice() });
    else {
      const [rows, columns] = shape as [number, number];
      const target = consume ? spare.get(data.length)?.pop() : undefined;
      result.set(name, { shape: [columns, rows], data: transposeMatrix(data, rows, columns, target) });
      if (consume && ownsItsBuffer(data)) {
        const free = spare.get(data.length) ?? [];
        free.push(data);
        spare.set(data.length, free);
      }
    }
    // Consumed: each source array is let go as soon as its copy exists, so that the peak is one set of
    // weights and one matrix of each length, not two sets (6 GB more for a 1.5B model in float32).
    if (consume) weights.delete(name);
  }
  return result;
}

/** Whether an array is the whole of a buffer of its own (not a view into a file read at once, for one). */
function ownsItsBuffer(data: Float32Array): boolean {
  return (
    data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer
  );
}

/** A copy of Hugging Face layout weights (`[out, in]` projections) in the graph layout (`[in, out]`). */
export function toGraphLayout(weights: LlamaWeights): LlamaWeights {
  return transposeProjections(weights);
}

/**
 * Hugging Face layout weights moved into the graph layout: `weights` is emptied as it goes (its vectors are
 * taken as they are, its matrices freed once transposed). For weights nobody else holds, such as those just
 * read from disk.
 */
export function intoGraphLayout(weights: LlamaWeights): LlamaWeights {
  return transposeProjections(weights, true);
}

/** A copy of graph layout weights back in Hugging Face's layout. */
export function toHuggingFaceLayout(weights: LlamaWeights): LlamaWeights {
  return transposeProjections(weights);
}
