import { describe, expect, it } from 'vitest';
import type { LlamaWeights } from '../model/weights.js';
import { intoGraphLayout, toGraphLayout } from './layout.js';

/** A [rows, columns] matrix whose entries are `seed + index`. */
function matrix(rows: number, columns: number, seed: number): { shape: number[]; data: Float32Array } {
  return { shape: [rows, columns], data: Float32Array.from({ length: rows * columns }, (_, i) => seed + i) };
}

describe('intoGraphLayout', () => {
  it('transposes every projection as toGraphLayout does, reusing the consumed matrices it owns', () => {
    // Four matrices of one length (each after the first is transposed into the array the one before it leaves),
    // a vector, and a matrix that is a view into a buffer shared with other data, which must not be written to.
    const shared = new Float32Array(2 + 3 * 5);
    shared.set([-1, -2]);
    const view = shared.subarray(2);
    view.set(Array.from({ length: 15 }, (_, i) => 500 + i));
    const build = (): LlamaWeights =>
      new Map([
        ['model.layers.0.mlp.up_proj.weight', matrix(4, 6, 0)],
        ['model.layers.0.mlp.gate_proj.weight', matrix(4, 6, 100)],
        ['model.layers.0.input_layernorm.weight', { shape: [6], data: new Float32Array(6).fill(1) }],
        ['model.layers.0.mlp.down_proj.weight', matrix(6, 4, 200)],
        ['model.layers.0.self_attn.q_proj.weight', { shape: [3, 5], data: view }],
        ['model.layers.1.mlp.up_proj.weight', matrix(4, 6, 300)],
        ['model.layers.1.self_attn.q_proj.weight', matrix(3, 5, 700)],
      ]);
    const expected = toGraphLayout(build());
    const consumed = build();
    const originals = [...consumed.values()].map(({ data }) => data);
    const moved = intoGraphLayout(consumed);
    expect(consumed.size).toBe(0);
    expect([...moved.keys()]).toEqual([...expected.keys()]);
    for (const [name, { shape, data }] of expected) {
      expect(moved.get(name)?.shape, name).toEqual(shape);
      expect([...(moved.get(name)?.data ?? [])], name).toEqual([...data]);
    }
    // Each matrix after the first of its length went into the array the one before it left; the shared buffer
    // kept its other data.
    expect(moved.get('model.layers.0.mlp.gate_proj.weight')?.data).toBe(originals[0]);
    expect(moved.get('model.layers.0.mlp.down_proj.weight')?.data).toBe(originals[1]);
    expect(moved.get('model.layers.1.mlp.up_proj.weight')?.data).toBe(originals[3]);
    expect([...shared]).toEqual([-1, -2, ...Array.from({ length: 15 }, (_, i) => 500 + i)]);
    expect(moved.get('model.layers.1.self_attn.q_proj.weight')?.data.buffer).not.toBe(shared.buffer);
  });
});
