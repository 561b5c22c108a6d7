/**
 * Block-wise int8 weights for the rollout graph's products (onnxruntime's `MatMulNBits` with `bits: 8`): every
 * `INT8_BLOCK_SIZE` consecutive input values of one output share a float32 scale, `max |w| / 127` of the block,
 * and each weight is stored as `round(w / scale) + 128` (the operator's default zero point for 8 bits). A
 * product reads a quarter of the float32 bytes.
 */
export const INT8_BLOCK_SIZE = 32;

/** A matrix of `outputs x inputs` quantized by blocks along the inputs, in `MatMulNBits`'s layout. */
export interface Int8Blocks {
  /** `[outputs, blocks, INT8_BLOCK_SIZE]`, the last block of an output padded with zeros. */
  readonly data: Uint8Array;
  /** `[outputs * blocks]`. */
  readonly scales: Float32Array;
  readonly outputs: number;
  readonly inputs: number;
  readonly blocks: number;
}

/**
 * Quantizes a matrix. `layout` says how `data` is stored: `rows` when each output's weights are contiguous
 * (`[outputs, inputs]`, Hugging Face's layout and a tied head's embedding), `columns` when each input's are
 * (`[inputs, outputs]`, the graph layout of a projection).
 */
export function quantizeInt8Blocks(
  data: Float32Array,
  outputs: number,
  inputs: number,
  layout: 'rows' | 'columns',
): Int8Blocks {
  if (data.length !== outputs * inputs)
    throw new Error(`quantizeInt8Blocks: ${data.length} values are not ${outputs} x ${inputs}`);
  const blocks = Math.ceil(inputs / INT8_BLOCK_SIZE);
  const quantized = new Uint8Array(outputs * blocks * INT8_BLOCK_SIZE).fill(128);
  const scales = new Float32Array(outputs * blocks);
  // Each output's weights are read as one contiguous row: a projection in the graph layout is transposed first,
  // in tiles (one matrix of scratch), so that neither the reads nor the writes below jump.
  const rows = layout === 'rows' ? data : transposeInTiles(data, inputs, outputs);
  for (let output = 0; output < outputs; output += 1) {
    const row = output * inputs;
    for (let block = 0; block < blocks; block += 1) {
      const start = row + block * INT8_BLOCK_SIZE;
      const end = Math.min(start + INT8_BLOCK_SIZE, row + inputs);
      let largest = 0;
      for (let index = start; index < end; index += 1) {
        const magnitude = Math.abs(rows[index] as number);
        if (magnitude > largest) largest = magnitude;
      }
      const scale = largest > 0 ? Math.fround(largest / 127) : 1;
      scales[output * blocks + block] = scale;
      const inverse = 1 / scale;
      let target = (output * blocks + block) * INT8_BLOCK_SIZE;
      for (let index = start; index < end; index += 1, target += 1)
        quantized[target] = Math.round((rows[index] as number) * inverse) + 128;
    }
  }
  return { data: quantized, scales, outputs, inputs, blocks };
}

/** `[rows, columns]` row-major to `[columns, rows]`, in square tiles that stay in the cache. */
function transposeInTiles(data: Float32Array, rows: number, columns: number): Float32Array {
  const result = new Float32Array(data.length);
  const tile = 64;
  for (let rowStart = 0; rowStart < rows; rowStart += tile) {
    const rowEnd = Math.min(rowStart + tile, rows);
    for (let columnStart = 0; columnStart < columns; columnStart += tile) {
      const columnEnd = Math.min(columnStart + tile, columns);
      for (let row = rowStart; row < rowEnd; row += 1)
        for (let column = columnStart; column < columnEnd; column += 1)
          result[column * rows + row] = data[row * columns + column] as number;
    }
  }
  return result;
}

/** The float32 matrix `[outputs, inputs]` an {@link Int8Blocks} stands for (tests and error measurements). */
export function dequantizeInt8Blocks(blocks: Int8Blocks): Float32Array {
  const { outputs, inputs } = blocks;
  const values = new Float32Array(outputs * inputs);
  for (let output = 0; output < outputs; output += 1)
    for (let input = 0; input < inputs; input += 1) {
      const block = Math.floor(input / INT8_BLOCK_SIZE);
      const stored =
        blocks.data[(output * blocks.blocks + block) * INT8_BLOCK_SIZE + (input % INT8_BLOCK_SIZE)];
      values[output * inputs + input] =
        ((stored as number) - 128) * (blocks.scales[output * blocks.blocks + block] as number);
    }
  return values;
}
