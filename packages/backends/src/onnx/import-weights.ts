import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ModelFormatError } from '@azr/core/spec';
import { type LlamaConfig, parseLlamaConfig } from '../model/config.js';
import { halfToFloat } from '../model/safetensors.js';
import { checkLlamaWeights, type WeightTensor } from '../model/weights.js';
import { loadOnnxProto } from './graph-builder.js';

interface TensorProto {
  name: string;
  dims: (number | { toNumber(): number })[];
  dataType: number;
  rawData?: Uint8Array;
  floatData?: number[];
  externalData?: { key: string; value: string }[];
}

const FLOAT = 1;
const FLOAT16 = 10;

function toNumber(value: number | { toNumber(): number }): number {
  return typeof value === 'number' ? value : value.toNumber();
}

async function tensorValues(tensor: TensorProto, directory: string, path: string): Promise<Float32Array> {
  let bytes = tensor.rawData && tensor.rawData.length > 0 ? tensor.rawData : undefined;
  if (bytes === undefined && tensor.externalData && tensor.externalData.length > 0) {
    const field = (key: string) => tensor.externalData?.find((entry) => entry.key === key)?.value;
    const location = field('location');
    if (location === undefined)
      throw new ModelFormatError(`${tensor.name} names external data without a location.`, { path });
    const file = await readFile(join(directory, location));
    const offset = Number(field('offset') ?? 0);
    const length = Number(field('length') ?? file.byteLength - offset);
    bytes = file.subarray(offset, offset + length);
  }
  const count = tensor.dims.map(toNumber).reduce((total, size) => total * size, 1);
  if (bytes === undefined) {
    if (tensor.floatData && tensor.floatData.length === count) return Float32Array.from(tensor.floatData);
    throw new ModelFormatError(`${tensor.name} has no data.`, { path });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Float32Array(count);
  if (tensor.dataType === FLOAT)
    for (let index = 0; index < count; index += 1) values[index] = view.getFloat32(index * 4, true);
  else if (tensor.dataType === FLOAT16)
    for (let index = 0; index < count; index += 1)
      values[index] = halfToFloat(view.getUint16(index * 2, true));
  else
    throw new ModelFormatError(`${tensor.name} has the unsupported ONNX data type ${tensor.dataType}.`, {
      path,
    });
  return values;
}

/**
 * The rotary base the caches were built with. cache[p][i] holds cos and sin of p * theta^(-2i/d); the angle of
 * frequency 1 is read at growing positions (atan2 of the float16 sine and cosine, unwrapped with the previous
 * estimate), so that its error shrinks with the position.
 */
function ropeBaseFromCaches(
  cosine: { dims: number[]; values: Float32Array },
  sine: { dims: number[]; values: Float32Array },
): number {
  const half = cosine.dims[1] as number;
  const positions = cosine.dims[0] as number;
  const angleAt = (position: number) =>
    Math.atan2(sine.values[position * half + 1] as number, cosine.values[position * half + 1] as number);
  let frequency = angleAt(1);
  for (let position = 4; position < positions; position *= 4) {
    const wrapped = angleAt(position);
    const turns = Math.round((position * frequency - wrapped) / (2 * Math.PI));
    frequency = (wrapped + 2 * Math.PI * turns) / position;
  }
  const theta = frequency ** -half;
  return Math.abs(theta - Math.round(theta)) < 0.05 ? Math.round(theta) : theta;
}

function transpose(values: Float32Array, rows: number, columns: number): Float32Array {
  const result = new Float32Array(values.length);
  for (let row = 0; row < rows; row += 1)
    for (let column = 0; column < columns; column += 1)
      result[column * rows + row] = values[row * columns + column] as number;
  return result;
}

/**
 * Reads the weights of a Llama decoder exported by onnxruntime-genai's model builder (initializers named
 * `model.layers.N.attn.q_proj.MatMul.weight`, stored `[in, out]`, float16 or float32, external data beside the
 * model) into Hugging Face names and `[out, in]` layout, with the config the graph implies (read from
 * `genai_config.json` beside it, and the rotary base from the graph's cosine cache).
 */
export async function importGenaiLlamaWeights(
  modelPath: string,
): Promise<{ config: LlamaConfig; weights: Map<string, WeightTensor> }> {
  const directory = dirname(modelPath);
  const proto = (await loadOnnxProto()) as unknown as {
    ModelProto: { decode(bytes: Uint8Array): { graph: { initializer: TensorProto[] } } };
  };
  let model: { graph: { initializer: TensorProto[] } };
  try {
    model = proto.ModelProto.decode(await readFile(modelPath));
  } catch (error) {
    throw new ModelFormatError(`${modelPath} is not an ONNX model.`, { path: modelPath }, { cause: error });
  }
  const genai = JSON.parse(await readFile(join(directory, 'genai_config.json'), 'utf8')) as {
    model: {
      vocab_size: number;
      bos_token_id?: number;
      eos_token_id?: number;
      context_length?: number;
      decoder: {
        hidden_size: number;
        head_size: number;
        num_attention_heads: number;
        num_hidden_layers: number;
        num_key_value_heads: number;
      };
    };
  };
  const tensors = new Map<string, { dims: number[]; values: Float32Array }>();
  for (const tensor of model.graph.initializer) {
    tensors.set(tensor.name, {
      dims: tensor.dims.map(toNumber),
      values: await tensorValues(tensor, directory, modelPath),
    });
  }
  const decoder = genai.model.decoder;
  const gate = tensors.get('model.layers.0.mlp.gate_proj.MatMul.weight');
  const cosine = tensors.get('cos_cache');
  if (gate === undefined || cosine === undefined)
    throw new ModelFormatError(`${modelPath} is not a genai-builder Llama export.`, { path: modelPath });
  const sine = tensors.get('sin_cache');
  if (sine === undefined)
    throw new ModelFormatError(`${modelPath} has a cos_cache but no sin_cache.`, { path: modelPath });
  const theta = ropeBaseFromCaches(cosine, sine);
  const config = parseLlamaConfig(
    {
      model_type: 'llama',
      vocab_size: genai.model.vocab_size,
      hidden_size: decoder.hidden_size,
      intermediate_size: gate.dims[1],
      num_hidden_layers: decoder.num_hidden_layers,
      num_attention_heads: decoder.num_attention_heads,
      num_key_value_heads: decoder.num_key_value_heads,
      head_dim: decoder.head_size,
      rope_theta: theta,
      max_position_embeddings: genai.model.context_length ?? 2048,
      tie_word_embeddings: !tensors.has('lm_head.MatMul.weight'),
      bos_token_id: genai.model.bos_token_id,
      eos_token_id: genai.model.eos_token_id,
    },
    modelPath,
  );
  const renamed = new Map<string, WeightTensor>();
  for (const [name, { dims, values }] of tensors) {
    let target = name.replace('.attn.', '.self_attn.');
    if (target === `model.layers.${config.layerCount}.final_norm_layernorm.weight`)
      target = 'model.norm.weight';
    if (target.endsWith('.MatMul.weight')) {
      const [rows, columns] = dims as [number, number];
      renamed.set(target.replace('.MatMul.weight', '.weight'), {
        shape: [columns, rows],
        data: transpose(values, rows, columns),
      });
    } else {
      renamed.set(target, { shape: dims, data: values });
    }
  }
  return { config, weights: checkLlamaWeights(config, renamed, modelPath) };
}
