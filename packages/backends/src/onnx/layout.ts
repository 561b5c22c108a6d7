import type { LlamaWeights } from '../model/weights.js';

/** Whether a weight is stored transposed in the graph layout (`[in, out]`, so that products need no flag). */
export function isGraphProjection(name: string, shape: readonly number[]): boolean {
  return shape.length === 2 && name !== 'model.embed_tokens.weight';
}

/** The shape of a weight in the graph layout: projections `[in, out]`, everything else as Hugging Face has it. */
export function graphLayoutShape(name: string, shape: readonly number[]): readonly number[] {
  return isGraphProjection(name, shape) ? [shape[1] as number, shape[0] as number] : shape;
}

/** A row-major matrix transposed. */
export function transposeMatrix(data: Float32Array, rows: number, columns: number): Float32Array {
  const result = new Float32Array(data.length);
  for (let row = 0; row < rows; row += 1) {
    const offset = row * columns;
    for (let column = 0; column < columns; column += 1)
      result[column * rows + row] = data[offset + column] as number;
  }
  return result;
}

function transposeProjections(weights: LlamaWeights, consume = false): LlamaWeights {
  const result: LlamaWeights = new Map();
  for (const [name, { shape, data }] of weights) {
    if (!isGraphProjection(name, shape))
      result.set(name, { shape: [...shape], data: consume ? data : data.slice() });
    else {
      const [rows, columns] = shape as [number, number];
      result.set(name, { shape: [columns, rows], data: transposeMatrix(data, rows, columns) });
    }
    // Consumed: each source array is let go as soon as its copy exists, so that the peak is one set of
    // weights and one matrix, not two sets (6 GB more for a 1.5B model in float32).
    if (consume) weights.delete(name);
  }
  return result;
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
