import { describe, expect, it } from 'vitest';
import { initializeLlamaWeights, llamaWeightShapes } from '../model/weights.js';
import { SMALL_TEST_CONFIG } from '../testing/small-model.js';
import { loadOnnxProto } from './graph-builder.js';
import { toGraphLayout } from './layout.js';
import { buildLlamaDecoderGraph, buildLlamaGraph, buildLlamaRolloutGraph } from './llama-graph.js';

const config = SMALL_TEST_CONFIG;

describe('the rollout graphs', () => {
  it('keep the weights out of the protobuf: in a page-aligned external file, or as inputs', async () => {
    const weights = toGraphLayout(initializeLlamaWeights(config, { seed: 1 }));
    const pieces: { data: Float32Array; offset: number }[] = [];
    const bytes = await buildLlamaDecoderGraph(
      config,
      { kind: 'external', weights, location: 'weights.bin', pieces },
      'append',
    );
    const onnx = await loadOnnxProto();
    const graph = onnx.ModelProto.decode(bytes).graph;
    const external = (graph?.initializer ?? []).filter((tensor) => tensor.dataLocation === 1);
    // Every weight once (the tied head reads the embedding), none inline.
    expect(external.map((tensor) => tensor.name).sort()).toEqual([...weights.keys()].sort());
    expect(pieces).toHaveLength(weights.size);
    for (const [index, piece] of pieces.entries()) {
      expect(piece.offset % 4096).toBe(0);
      if (index > 0) {
        const previous = pieces[index - 1] as (typeof pieces)[number];
        expect(piece.offset).toBeGreaterThanOrEqual(previous.offset + previous.data.byteLength);
      }
    }
    // What stays inline is the graph's own constants (rotary frequencies, shapes): a few bytes.
    const inline = (graph?.initializer ?? []).reduce(
      (total, tensor) => total + (tensor.rawData?.length ?? 0),
      0,
    );
    expect(inline).toBeLessThan(1024);

    const shared = onnx.ModelProto.decode(await buildLlamaRolloutGraph(config)).graph;
    const inputs = new Set((shared?.input ?? []).map((input) => input.name));
    for (const name of llamaWeightShapes(config).keys()) expect(inputs.has(name), name).toBe(true);
    expect((shared?.initializer ?? []).every((tensor) => !weights.has(tensor.name ?? ''))).toBe(true);
    expect((shared?.output ?? []).map((output) => output.name)).toContain('new_key_values.0.key');
  });

  it("use onnxruntime's fused rotary embedding, while the graph for others to run keeps to standard operators", async () => {
    const onnx = await loadOnnxProto();
    const operators = (bytes: Uint8Array) =>
      (onnx.ModelProto.decode(bytes).graph?.node ?? []).map((node) => `${node.domain ?? ''}:${node.opType}`);
    const rollout = operators(await buildLlamaRolloutGraph(config));
    // One fused node per rotated projection: queries and keys of every layer.
    expect(rollout.filter((operator) => operator === 'com.microsoft:RotaryEmbedding')).toHaveLength(
      2 * config.layerCount,
    );
    const negations = (operators: string[]) => operators.filter((operator) => operator === ':Neg').length;
    expect(negations(rollout)).toBeLessThan(2 * config.layerCount);
    const exported = operators(await buildLlamaGraph(config, initializeLlamaWeights(config, { seed: 1 })));
    expect(exported.filter((operator) => !operator.startsWith(':'))).toEqual([]);
    expect(negations(exported)).toBeGreaterThanOrEqual(2 * config.layerCount);
  });
});
