import type { onnx as OnnxProto } from 'onnx-proto';
import { importOptional } from '../shared/import-optional.js';

/** Element types the SDK's graphs use. */
export type OnnxElementType = 'float32' | 'float64' | 'float16' | 'uint8' | 'int32' | 'int64' | 'bool';

/** ONNX's TensorProto.DataType codes. */
export const ONNX_ELEMENT_TYPE_CODES: Readonly<Record<OnnxElementType, number>> = {
  float32: 1,
  uint8: 2,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};

/** A float attribute (a plain number is an integer attribute). */
export interface FloatAttribute {
  readonly float: number;
}

/** A graph attribute: a subgraph, such as a `Loop`'s body (see {@link OnnxGraphBuilder.subgraph}). */
export interface GraphAttribute {
  readonly graph: OnnxGraphBuilder;
}

/** Attribute values: integers, integer lists, floats, strings and subgraphs. */
export type AttributeValue = number | readonly number[] | FloatAttribute | string | GraphAttribute;

/** Marks a number as a float attribute. */
export function float(value: number): FloatAttribute {
  return { float: value };
}

/**
 * The opset the SDK's graphs are written against; onnxruntime-node 1.30 runs it on every provider. The generation
 * graphs also use contrib operators of `com.microsoft` (`RotaryEmbedding`; `MatMulNBits` for int8 rollouts).
 */
export const ONNX_OPSET = 17;

type Dimension = number | string;

/**
 * A small builder of ONNX graphs: named inputs and outputs, initializers from typed arrays, and nodes whose
 * outputs get fresh names. The SDK writes its decoder (and, later, its backward pass) with it, so that the
 * graph onnxruntime runs is generated from the same model description as the other engines.
 */
export class OnnxGraphBuilder {
  private readonly nodes: OnnxProto.INodeProto[] = [];
  private readonly initializers: OnnxProto.ITensorProto[] = [];
  private readonly inputs: OnnxProto.IValueInfoProto[] = [];
  private readonly outputs: OnnxProto.IValueInfoProto[] = [];
  private readonly constants = new Map<string, string>();
  /** Node ids, shared with the builder's subgraphs so that no two values anywhere in the model share a name. */
  private readonly ids: { next: number };
  /** The prefix of this graph's constants' names: empty for the model's graph, unique for each subgraph. */
  private readonly constantPrefix: string;

  /** `scope` is for {@link subgraph}'s builders: a model's graph starts with none. */
  constructor(
    private readonly name: string,
    scope: { readonly ids: { next: number }; readonly constantPrefix: string } = {
      ids: { next: 0 },
      constantPrefix: '',
    },
  ) {
    this.ids = scope.ids;
    this.constantPrefix = scope.constantPrefix;
  }

  /**
   * A graph to pass as a node's graph attribute (a `Loop`'s or an `If`'s body). It declares its own inputs,
   * outputs and constants, and its nodes may read any value of the graphs around it by name. Node names come
   * from the same sequence as this builder's, and its constants carry the names of the subgraph and of the graphs
   * around it, so no name repeats. (Its inputs and outputs are named by the caller: ONNX forbids a subgraph's
   * names to repeat an outer graph's.)
   */
  subgraph(name: string): OnnxGraphBuilder {
    return new OnnxGraphBuilder(name, { ids: this.ids, constantPrefix: `${this.constantPrefix}${name}_` });
  }

  /** Declares a graph input and returns its name. */
  input(name: string, type: OnnxElementType, shape: readonly Dimension[]): string {
    this.inputs.push(valueInfo(name, type, shape));
    return name;
  }

  /** Declares `value` a graph output named `name` (an Identity node renames it when needed). */
  output(value: string, name: string, type: OnnxElementType, shape: readonly Dimension[]): void {
    if (value !== name) this.nodes.push({ opType: 'Identity', input: [value], output: [name], name });
    this.outputs.push(valueInfo(name, type, shape));
  }

  /**
   * Adds an initializer (weights travel as raw little-endian bytes) and returns its name: float32 from a
   * `Float32Array`, uint8 (quantized weights) from a `Uint8Array`.
   */
  weight(name: string, dims: readonly number[], data: Float32Array | Uint8Array): string {
    this.initializers.push({
      name,
      dims: [...dims],
      dataType: ONNX_ELEMENT_TYPE_CODES[data instanceof Uint8Array ? 'uint8' : 'float32'],
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  }

  /**
   * Adds an initializer (float32 unless `type` says otherwise) whose bytes live in a file beside the model
   * (`location`, relative to the model's folder), at `offset`: onnxruntime reads it when it loads the model from
   * that folder. Protobuf's 2 GB cap then counts only the graph.
   */
  externalWeight(
    name: string,
    dims: readonly number[],
    location: string,
    offset: number,
    length: number,
    type: 'float32' | 'uint8' = 'float32',
  ): string {
    this.initializers.push({
      name,
      dims: [...dims],
      dataType: ONNX_ELEMENT_TYPE_CODES[type],
      dataLocation: EXTERNAL_DATA,
      externalData: [
        { key: 'location', value: location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(length) },
      ],
    });
    return name;
  }

  /** A constant int64 tensor (a 1-D list, or a scalar when `scalar`), shared between uses of the same values. */
  int64s(values: readonly number[], options: { readonly scalar?: boolean } = {}): string {
    const key = `i64:${options.scalar ? 's' : 'v'}:${values.join(',')}`;
    return this.constant(key, () => {
      const data = BigInt64Array.from(values, (value) => BigInt(value));
      return {
        dims: options.scalar ? [] : [values.length],
        dataType: ONNX_ELEMENT_TYPE_CODES.int64,
        rawData: new Uint8Array(data.buffer),
      };
    });
  }

  /** A constant float32 tensor (a scalar unless `dims` says otherwise). */
  float32s(values: readonly number[], dims: readonly number[] = []): string {
    const key = `f32:${dims.join('x')}:${values.join(',')}`;
    return this.constant(key, () => {
      const data = Float32Array.from(values);
      return {
        dims: [...dims],
        dataType: ONNX_ELEMENT_TYPE_CODES.float32,
        rawData: new Uint8Array(data.buffer),
      };
    });
  }

  /** Adds a node with one output and returns that output's name. */
  node(
    opType: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, AttributeValue>> = {},
    options: { readonly domain?: string } = {},
  ): string {
    return this.nodeWithOutputs(opType, inputs, 1, attributes, options)[0] as string;
  }

  /** Adds a node with `outputCount` outputs and returns their names. */
  nodeWithOutputs(
    opType: string,
    inputs: readonly string[],
    outputCount: number,
    attributes: Readonly<Record<string, AttributeValue>> = {},
    options: { readonly domain?: string } = {},
  ): string[] {
    const id = this.ids.next++;
    const outputs = Array.from({ length: outputCount }, (_, index) => `${opType}_${id}_${index}`);
    this.nodes.push({
      name: `${opType}_${id}`,
      opType,
      domain: options.domain ?? '',
      input: [...inputs],
      output: outputs,
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return outputs;
  }

  /** Serialises the model (IR version 8, opset {@link ONNX_OPSET}, plus Microsoft's contrib domain). */
  async encode(): Promise<Uint8Array> {
    const onnx = await loadOnnxProto();
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: '@azr/backends',
      opsetImport: [
        { domain: '', version: ONNX_OPSET },
        { domain: 'com.microsoft', version: 1 },
      ],
      graph: this.graphProto(),
    });
    return onnx.ModelProto.encode(model).finish();
  }

  /** The graph as a protobuf message (what {@link encode} writes, or a graph attribute holds). */
  graphProto(): OnnxProto.IGraphProto {
    return {
      name: this.name,
      node: this.nodes,
      initializer: this.initializers,
      input: this.inputs,
      output: this.outputs,
    };
  }

  private constant(key: string, create: () => OnnxProto.ITensorProto): string {
    let name = this.constants.get(key);
    if (name === undefined) {
      name = `${this.constantPrefix}constant_${this.constants.size}`;
      this.initializers.push({ ...create(), name });
      this.constants.set(key, name);
    }
    return name;
  }
}

/** The ONNX protobuf schema (`onnx-proto`, a CommonJS module: plain Node sees it as the default export). */
export async function loadOnnxProto(): Promise<typeof OnnxProto> {
  const module = (await importOptional(
    'onnx-proto',
    'Writing and reading ONNX graphs',
    () => import('onnx-proto'),
  )) as { onnx?: typeof OnnxProto; default?: { onnx: typeof OnnxProto } };
  const namespace = module.onnx ?? module.default?.onnx;
  if (namespace === undefined) throw new Error('onnx-proto has no onnx namespace');
  return namespace;
}

function valueInfo(
  name: string,
  type: OnnxElementType,
  shape: readonly Dimension[],
): OnnxProto.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ONNX_ELEMENT_TYPE_CODES[type],
        shape: {
          dim: shape.map((dimension) =>
            typeof dimension === 'number' ? { dimValue: dimension } : { dimParam: dimension },
          ),
        },
      },
    },
  };
}

// TensorProto.DataLocation.EXTERNAL.
const EXTERNAL_DATA = 1;

// AttributeProto.AttributeType codes.
const FLOAT = 1;
const INT = 2;
const STRING = 3;
const GRAPH = 5;
const INTS = 7;

function attribute(name: string, value: AttributeValue): OnnxProto.IAttributeProto {
  if (typeof value === 'number') return { name, type: INT, i: value };
  if (typeof value === 'string') return { name, type: STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: INTS, ints: [...value] };
  if ('graph' in value) return { name, type: GRAPH, g: value.graph.graphProto() };
  return { name, type: FLOAT, f: (value as FloatAttribute).float };
}
