import type { OptimizerSettings } from '@azr/core/spec';
import type { LlamaWeights } from '../model/weights.js';
import { OnnxGraphBuilder } from './graph-builder.js';

/** Weights that get no weight decay: norms and biases, as in the reference implementation. */
export function isDecayed(name: string): boolean {
  return !(name.endsWith('norm.weight') || name.endsWith('.bias'));
}

/** AdamW's moments of each weight. */
export type AdamWMoments = Map<string, { first: Float32Array; second: Float32Array }>;

/**
 * One AdamW update in place, in JavaScript: gradients scaled by `scale` (global-norm clipping), both moments
 * updated, bias-corrected, and decoupled weight decay on every weight but norms and biases. A weight without a
 * gradient gets a zero one (its moments still decay and it still moves on them).
 */
export function applyAdamW(
  weights: LlamaWeights,
  gradients: ReadonlyMap<string, Float32Array>,
  moments: AdamWMoments,
  step: number,
  optimizer: OptimizerSettings,
  scale: number,
): void {
  const { learningRate, beta1, beta2, epsilon, weightDecay } = optimizer;
  // Bias corrections folded into the step size and the second moment's scale, out of the loop: the loop reads
  // and writes four arrays per weight, and is bound by that (about 8 GB/s on one core here).
  const stepSize = learningRate / (1 - beta1 ** step);
  const secondScale = 1 / (1 - beta2 ** step);
  const firstShare = 1 - beta1;
  const secondShare = 1 - beta2;
  for (const [name, { data }] of weights) {
    const gradient = gradients.get(name);
    let moment = moments.get(name);
    if (moment === undefined) {
      moment = { first: new Float32Array(data.length), second: new Float32Array(data.length) };
      moments.set(name, moment);
    }
    const { first, second } = moment;
    const decay = isDecayed(name) ? 1 - learningRate * weightDecay : 1;
    const length = data.length;
    for (let index = 0; index < length; index += 1) {
      const g = gradient === undefined ? 0 : (gradient[index] as number) * scale;
      const m = beta1 * (first[index] as number) + firstShare * g;
      const v = beta2 * (second[index] as number) + secondShare * g * g;
      first[index] = m;
      second[index] = v;
      data[index] = (data[index] as number) * decay - (stepSize * m) / (Math.sqrt(v * secondScale) + epsilon);
    }
  }
}

/** Names of the AdamW graph's inputs and outputs. */
export const ADAMW_GRAPH_NAMES = {
  /** float `[1]` inputs. */
  learningRate: 'learning_rate',
  beta1: 'beta1',
  beta2: 'beta2',
  epsilon: 'epsilon',
  decay: 'decay',
  correction1: 'correction1',
  correction2: 'correction2',
  scale: 'gradient_scale',
  weight: (name: string) => `weight.${name}`,
  gradient: (name: string) => `gradient.${name}`,
  first: (name: string) => `first.${name}`,
  second: (name: string) => `second.${name}`,
  updated: (kind: 'weight' | 'first' | 'second', name: string) => `updated.${kind}.${name}`,
} as const;

/**
 * The same AdamW update as an ONNX graph: weights, gradients and both moments in; the updated three out.
 * `decay` is `1 - learningRate * weightDecay` (norms and biases get 1). The trainer measures it against
 * {@link applyAdamW} (the benchmark reports both) and runs the JavaScript one, which is faster for the models the
 * SDK trains on a CPU: the graph's arithmetic is trivial next to the copies in and out of the session.
 */
export async function buildAdamWGraph(shapes: ReadonlyMap<string, readonly number[]>): Promise<Uint8Array> {
  const graph = new OnnxGraphBuilder('azr-adamw');
  const names = ADAMW_GRAPH_NAMES;
  const scalar = (name: string) => graph.input(name, 'float32', [1]);
  const [learningRate, beta1, beta2, epsilon, decay, correction1, correction2, scale] = [
    names.learningRate,
    names.beta1,
    names.beta2,
    names.epsilon,
    names.decay,
    names.correction1,
    names.correction2,
    names.scale,
  ].map(scalar) as [string, string, string, string, string, string, string, string];
  const one = graph.float32s([1]);
  const oneMinus = (value: string) => graph.node('Sub', [one, value]);
  for (const [name, shape] of shapes) {
    const w = graph.input(names.weight(name), 'float32', [...shape]);
    const g = graph.node('Mul', [graph.input(names.gradient(name), 'float32', [...shape]), scale]);
    const m = graph.input(names.first(name), 'float32', [...shape]);
    const v = graph.input(names.second(name), 'float32', [...shape]);
    const first = graph.node('Add', [graph.node('Mul', [m, beta1]), graph.node('Mul', [g, oneMinus(beta1)])]);
    const second = graph.node('Add', [
      graph.node('Mul', [v, beta2]),
      graph.node('Mul', [graph.node('Mul', [g, g]), oneMinus(beta2)]),
    ]);
    const step = graph.node('Div', [
      graph.node('Mul', [graph.node('Div', [first, correction1]), learningRate]),
      graph.node('Add', [graph.node('Sqrt', [graph.node('Div', [second, correction2])]), epsilon]),
    ]);
    const decayed = isDecayed(name) ? graph.node('Mul', [w, decay]) : w;
    graph.output(graph.node('Sub', [decayed, step]), names.updated('weight', name), 'float32', [...shape]);
    graph.output(first, names.updated('first', name), 'float32', [...shape]);
    graph.output(second, names.updated('second', name), 'float32', [...shape]);
  }
  return graph.encode();
}
