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

function transposeProjections(weights: LlamaWeights): LlamaWeights {
  const result: LlamaWeights = new Map();
  for (const [name, { shape, data }] of weights) {
    if (!isGraphProjection(name, shape)) {
      result.set(name, { shape: [...shape], data: data.slice() });
      continue;
    }
    const [rows, columns] = shape as [number, number];
    result.set(name, { shape: [columns, rows], data: transposeMatrix(data, rows, columns) });
  }
  return result;
}

/** A copy of Hugging Face layout weights (`[out, in]` projections) in the graph layout (`[in, out]`). */
export function toGraphLayout(weights: LlamaWeights): LlamaWeights {
  return transposeProjections(weights);
}

/** A copy of graph layout weights back in Hugging Face's layout. */
export function toHuggingFaceLayout(weights: LlamaWeights): LlamaWeights {
  return transposeProjections(weights);
}
