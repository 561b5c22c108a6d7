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
  const store = (output: number, block: number, input: number, value: number) => {
    quantized[(output * blocks + block) * INT8_BLOCK_SIZE + (input % INT8_BLOCK_SIZE)] =
      Math.round(value / (scales[output * blocks + block] as number)) + 128;
  };
  for (let block = 0; block < blocks; block += 1) {
    const start = block * INT8_BLOCK_SIZE;
    const end = Math.min(start + INT8_BLOCK_SIZE, inputs);
    if (layout === 'rows') {
      for (let output = 0; output < outputs; output += 1) {
        const row = output * inputs;
        let largest = 0;
        for (let input = start; input < end; input += 1)
          largest = Math.max(largest, Math.abs(data[row + input] as number));
        scales[output * blocks + block] = largest > 0 ? largest / 127 : 1;
        for (let input = start; input < end; input += 1)
          store(output, block, input, data[row + input] as number);
      }
      continue;
    }
    // Columns are read one input's row at a time (sequential reads), the block's largest values kept per output.
    const largest = new Float32Array(outputs);
    for (let input = start; input < end; input += 1)
      for (let output = 0; output < outputs; output += 1)
        largest[output] = Math.max(
          largest[output] as number,
          Math.abs(data[input * outputs + output] as number),
        );
    for (let output = 0; output < outputs; output += 1)
      scales[output * blocks + block] =
        (largest[output] as number) > 0 ? (largest[output] as number) / 127 : 1;
    for (let input = start; input < end; input += 1)
      for (let output = 0; output < outputs; output += 1)
        store(output, block, input, data[input * outputs + output] as number);
  }
  return { data: quantized, scales, outputs, inputs, blocks };
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
