import { DEFAULT_OPTIMIZER_SETTINGS } from '@azr/core/spec';
import { describe, expect, it } from 'vitest';
import type { LlamaWeights } from '../model/weights.js';
import { ADAMW_GRAPH_NAMES, type AdamWMoments, applyAdamW, buildAdamWGraph } from './adamw.js';
import { loadOnnxRuntime } from './runtime.js';
import { openSession } from './session.js';

function filled(length: number, seed: number, spread: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return (state / 2 ** 31 - 0.5) * spread;
  });
}

describe('AdamW', () => {
  it('updates the same in JavaScript and as an ONNX graph', async () => {
    const shapes = new Map<string, readonly number[]>([
      ['model.layers.0.mlp.up_proj.weight', [12, 7]],
      ['model.layers.0.input_layernorm.weight', [12]],
    ]);
    const optimizer = { ...DEFAULT_OPTIMIZER_SETTINGS, learningRate: 0.01, weightDecay: 0.1 };
    const step = 3;
    const scale = 0.5;
    const weights: LlamaWeights = new Map();
    const gradients = new Map<string, Float32Array>();
    const moments: AdamWMoments = new Map();
    let seed = 1;
    for (const [name, shape] of shapes) {
      const size = shape.reduce((total, value) => total * value, 1);
      weights.set(name, { shape, data: filled(size, seed++, 2) });
      gradients.set(name, filled(size, seed++, 1));
      moments.set(name, {
        first: filled(size, seed++, 0.1),
        second: filled(size, seed++, 0.01).map(Math.abs),
      });
    }
    const runtime = await loadOnnxRuntime();
    const session = await openSession(runtime, await buildAdamWGraph(shapes), {});
    const names = ADAMW_GRAPH_NAMES;
    const scalar = (value: number) => new runtime.Tensor('float32', Float32Array.of(value), [1]);
    const feeds: Record<string, InstanceType<typeof runtime.Tensor>> = {
      [names.learningRate]: scalar(optimizer.learningRate),
      [names.beta1]: scalar(optimizer.beta1),
      [names.beta2]: scalar(optimizer.beta2),
      [names.epsilon]: scalar(optimizer.epsilon),
      [names.decay]: scalar(1 - optimizer.learningRate * optimizer.weightDecay),
      [names.correction1]: scalar(1 - optimizer.beta1 ** step),
      [names.correction2]: scalar(1 - optimizer.beta2 ** step),
      [names.scale]: scalar(scale),
    };
    for (const [name, { shape, data }] of weights) {
      const moment = moments.get(name) as { first: Float32Array; second: Float32Array };
      feeds[names.weight(name)] = new runtime.Tensor('float32', data.slice(), [...shape]);
      feeds[names.gradient(name)] = new runtime.Tensor('float32', gradients.get(name) as Float32Array, [
        ...shape,
      ]);
      feeds[names.first(name)] = new runtime.Tensor('float32', moment.first.slice(), [...shape]);
      feeds[names.second(name)] = new runtime.Tensor('float32', moment.second.slice(), [...shape]);
    }
    const results = await session.run(feeds);
    await session.release();
    applyAdamW(weights, gradients, moments, step, optimizer, scale);
    for (const [name, { data }] of weights) {
      const moment = moments.get(name) as { first: Float32Array; second: Float32Array };
      for (const [kind, expected] of [
        ['weight', data],
        ['first', moment.first],
        ['second', moment.second],
      ] as const) {
        const actual = results[names.updated(kind, name)]?.data as Float32Array;
        for (const [index, value] of expected.entries())
          expect(Math.abs((actual[index] as number) - value), `${kind} ${name}`).toBeLessThan(1e-6);
      }
    }
  });
});
