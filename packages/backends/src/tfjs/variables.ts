import type { LlamaWeights } from '../model/weights.js';
import type { TfjsModule } from './runtime.js';

export type Tensor = ReturnType<TfjsModule['tensor']>;
export type Variable = ReturnType<TfjsModule['variable']>;

// Variable names are global to TensorFlow.js: each policy's get a suffix of their own.
let nextPolicyNumber = 0;

/**
 * The weights as trainable variables. Projections are kept as [in, out] variables (wasm's transposed matMul is
 * slow); saved and loaded as Hugging Face's [out, in].
 */
export function createVariables(tf: TfjsModule, weights: LlamaWeights): Map<string, Variable> {
  const variables = new Map<string, Variable>();
  const suffix = `#${nextPolicyNumber++}`;
  for (const [name, { shape, data }] of weights) {
    const tensor = tf.tensor(data, [...shape]);
    const stored = isProjection(name, shape) ? tf.transpose(tensor) : tensor;
    variables.set(name, tf.variable(stored, true, `${name}${suffix}`));
    if (stored !== tensor) stored.dispose();
    tensor.dispose();
  }
  return variables;
}

/** The variables' values in Hugging Face's layout, shaped as `weights` (the ones they were created from). */
export async function readVariables(
  tf: TfjsModule,
  variables: ReadonlyMap<string, Variable>,
  weights: LlamaWeights,
): Promise<LlamaWeights> {
  const result: LlamaWeights = new Map();
  for (const [name, variable] of variables) {
    const shape = weights.get(name)?.shape ?? variable.shape;
    const stored = isProjection(name, shape) ? tf.transpose(variable) : variable;
    result.set(name, { shape, data: Float32Array.from(await stored.data()) });
    if (stored !== variable) stored.dispose();
  }
  return result;
}

/** Replaces the variables' values with checked Hugging Face-layout weights. */
export function assignVariables(
  tf: TfjsModule,
  variables: ReadonlyMap<string, Variable>,
  replacement: LlamaWeights,
): void {
  tf.tidy(() => {
    for (const [name, variable] of variables) {
      const { shape, data } = replacement.get(name) as { shape: readonly number[]; data: Float32Array };
      const tensor = tf.tensor(data, [...shape]);
      variable.assign(isProjection(name, shape) ? tf.transpose(tensor) : tensor);
    }
  });
}

/** Whether a weight is a projection, kept `[in, out]` in tfjs and `[out, in]` on disk. */
function isProjection(name: string, shape: readonly number[]): boolean {
  return shape.length === 2 && name !== 'model.embed_tokens.weight';
}
