import type { LlamaConfig } from '../model/config.js';
import type { LlamaWeights } from '../model/weights.js';
import type { TfjsModule } from './runtime.js';

type Tensor = ReturnType<TfjsModule['tensor']>;

/** Model weights as tfjs tensors, projections stored `[in, out]` so that products need no transpose flag. */
export interface TfjsLlamaWeights {
  readonly tensors: ReadonlyMap<string, Tensor>;
  dispose(): void;
}

/** Moves weights into tfjs, transposing every projection to `[in, out]` once (wasm's transposed matMul is slow). */
export function toTfjsWeights(tf: TfjsModule, config: LlamaConfig, weights: LlamaWeights): TfjsLlamaWeights {
  const tensors = new Map<string, Tensor>();
  for (const [name, { shape, data }] of weights) {
    const tensor = tf.tensor(data, [...shape]);
    if (shape.length === 2 && name !== 'model.embed_tokens.weight') {
      tensors.set(name, tf.transpose(tensor));
      tensor.dispose();
    } else {
      tensors.set(name, tensor);
    }
  }
  if (config.tieWordEmbeddings) {
    tensors.set('lm_head.weight', tf.transpose(tensors.get('model.embed_tokens.weight') as Tensor));
  }
  return {
    tensors,
    dispose: () => {
      for (const tensor of tensors.values()) tensor.dispose();
    },
  };
}

/** Keys and values of every layer for the positions seen so far, `[batch, kvHeads, length, headDimension]`. */
export interface LlamaCache {
  readonly keys: readonly Tensor[];
  readonly values: readonly Tensor[];
  /** Positions the cache holds. */
  readonly length: number;
}

/** Releases a cache's tensors. */
export function disposeCache(cache: LlamaCache | undefined): void {
  for (const tensor of [...(cache?.keys ?? []), ...(cache?.values ?? [])]) tensor.dispose();
}

/**
 * One forward pass of new tokens after a cache of earlier ones (positions continue from `cache.length`):
 * token ids `[batch, length]` to logits `[batch, length, vocabulary]`, and the cache extended by the new
 * positions. The given cache is left as it is (the caller disposes of it). RMSNorm, rotary embedding
 * (rotate-half), grouped-query causal attention and SwiGLU, as Hugging Face's `LlamaForCausalLM` computes them.
 */
export function llamaForwardCached(
  tf: TfjsModule,
  config: LlamaConfig,
  weights: TfjsLlamaWeights,
  tokenIds: number[][],
  cache: LlamaCache | undefined,
  options: { readonly differentiable?: boolean } = {},
): { readonly logits: Tensor; readonly cache: LlamaCache } {
  const past = cache?.length ?? 0;
  const product = options.differentiable ? matMulWithPlainGradient(tf) : tf.matMul;
  const result = tf.tidy(() => {
    const get = (name: string): Tensor => {
      const tensor = weights.tensors.get(name);
      if (tensor === undefined) throw new Error(`missing weight ${name}`);
      return tensor;
    };
    const batch = tokenIds.length;
    const length = tokenIds[0]?.length ?? 0;
    const total = past + length;
    const { headCount, keyValueHeadCount, headDimension, rmsNormEpsilon } = config;
    const rmsNorm = (x: Tensor, weight: Tensor): Tensor =>
      tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), rmsNormEpsilon))), weight);
    const project = (x: Tensor, name: string, bias?: string): Tensor => {
      const flat = product(tf.reshape(x, [batch * length, -1]), get(name));
      const withBias = bias !== undefined && weights.tensors.has(bias) ? tf.add(flat, get(bias)) : flat;
      return tf.reshape(withBias, [batch, length, -1]);
    };
    const half = headDimension / 2;
    const inverse = tf.tensor1d(
      Array.from({ length: half }, (_, index) => config.ropeTheta ** (-(2 * index) / headDimension)),
    );
    const angles = tf.outerProduct(tf.range(past, total, 1, 'float32'), inverse);
    const cos = tf.concat([tf.cos(angles), tf.cos(angles)], -1);
    const sin = tf.concat([tf.sin(angles), tf.sin(angles)], -1);
    const rotate = (x: Tensor): Tensor => {
      const [first, second] = tf.split(x, 2, -1) as [Tensor, Tensor];
      return tf.add(tf.mul(x, cos), tf.mul(tf.concat([tf.neg(second), first], -1), sin));
    };
    const heads = (x: Tensor, count: number): Tensor =>
      tf.transpose(tf.reshape(x, [batch, length, count, headDimension]), [0, 2, 1, 3]);
    // New position i (absolute past + i) sees every position up to itself.
    const allowed = tf.lessEqual(
      tf.expandDims(tf.range(0, total, 1, 'int32'), 0),
      tf.expandDims(tf.range(past, total, 1, 'int32'), 1),
    );
    const negative = tf.mul(tf.sub(1, tf.cast(allowed, 'float32')), -1e9);
    const embedding = get('model.embed_tokens.weight');
    // gather has no gradient on the wasm backend; a one-hot product has one.
    let x = options.differentiable
      ? tf.reshape(
          product(tf.oneHot(tf.tensor1d(tokenIds.flat(), 'int32'), config.vocabularySize), embedding),
          [batch, length, -1],
        )
      : tf.gather(embedding, tf.tensor2d(tokenIds, [batch, length], 'int32'));
    const group = headCount / keyValueHeadCount;
    const keys: Tensor[] = [];
    const values: Tensor[] = [];
    for (let layer = 0; layer < config.layerCount; layer += 1) {
      const prefix = `model.layers.${layer}`;
      const h = rmsNorm(x, get(`${prefix}.input_layernorm.weight`));
      const q = rotate(
        heads(project(h, `${prefix}.self_attn.q_proj.weight`, `${prefix}.self_attn.q_proj.bias`), headCount),
      );
      const newKeys = rotate(
        heads(
          project(h, `${prefix}.self_attn.k_proj.weight`, `${prefix}.self_attn.k_proj.bias`),
          keyValueHeadCount,
        ),
      );
      const newValues = heads(
        project(h, `${prefix}.self_attn.v_proj.weight`, `${prefix}.self_attn.v_proj.bias`),
        keyValueHeadCount,
      );
      const allKeys = cache === undefined ? newKeys : tf.concat([cache.keys[layer] as Tensor, newKeys], 2);
      const allValues =
        cache === undefined ? newValues : tf.concat([cache.values[layer] as Tensor, newValues], 2);
      keys.push(allKeys);
      values.push(allValues);
      // Each key/value head serves `group` consecutive query heads (Hugging Face's repeat_kv). Split and concat
      // rather than a rank-5 tile, whose gradient tfjs does not have.
      const repeat = (t: Tensor): Tensor =>
        group === 1
          ? t
          : tf.concat(
              tf.split(t, keyValueHeadCount, 1).flatMap((head) => Array.from({ length: group }, () => head)),
              1,
            );
      const scores = tf.add(
        tf.div(product(q, tf.transpose(repeat(allKeys), [0, 1, 3, 2])), Math.sqrt(headDimension)),
        negative,
      );
      const attended = product(tf.softmax(scores), repeat(allValues));
      const merged = tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [
        batch,
        length,
        headCount * headDimension,
      ]);
      x = tf.add(x, project(merged, `${prefix}.self_attn.o_proj.weight`));
      const h2 = rmsNorm(x, get(`${prefix}.post_attention_layernorm.weight`));
      const gate = project(h2, `${prefix}.mlp.gate_proj.weight`);
      const gated = tf.mul(gate, tf.sigmoid(gate)); // SiLU
      x = tf.add(
        x,
        project(tf.mul(gated, project(h2, `${prefix}.mlp.up_proj.weight`)), `${prefix}.mlp.down_proj.weight`),
      );
    }
    const normed = rmsNorm(x, get('model.norm.weight'));
    // Tied embeddings without a materialised lm_head (trainable weights): the product with the embedding,
    // transposed explicitly (wasm's matMul with a transpose flag is slow).
    const logits = weights.tensors.has('lm_head.weight')
      ? project(normed, 'lm_head.weight')
      : tf.reshape(product(tf.reshape(normed, [batch * length, -1]), tf.transpose(embedding)), [
          batch,
          length,
          -1,
        ]);
    return { logits, keys, values };
  });
  return {
    logits: result.logits,
    cache: { keys: result.keys, values: result.values, length: past + (tokenIds[0]?.length ?? 0) },
  };
}

/** The forward pass without a cache: token ids `[batch, length]` (positions from 0) to logits. */
export function llamaForward(
  tf: TfjsModule,
  config: LlamaConfig,
  weights: TfjsLlamaWeights,
  tokenIds: number[][],
): Tensor {
  const { logits, cache } = llamaForwardCached(tf, config, weights, tokenIds, undefined);
  disposeCache(cache);
  return logits;
}

const plainGradientMatMuls = new WeakMap<TfjsModule, (a: Tensor, b: Tensor) => Tensor>();

/**
 * `matMul` whose gradient transposes its operands explicitly. tfjs's own gradient of `a @ b` multiplies with
 * the transpose flags set (`dy @ b^T` as `matMul(dy, b, false, true)`), which runs at about 1 GFLOP/s on the
 * wasm backend, several times slower than a transpose followed by a plain product.
 */
export function matMulWithPlainGradient(tf: TfjsModule): (a: Tensor, b: Tensor) => Tensor {
  let cached = plainGradientMatMuls.get(tf);
  if (cached === undefined) {
    const swapLastTwo = (tensor: Tensor): Tensor => {
      const rank = tensor.rank;
      const permutation = Array.from({ length: rank }, (_, axis) => axis);
      permutation[rank - 2] = rank - 1;
      permutation[rank - 1] = rank - 2;
      return tf.transpose(tensor, permutation);
    };
    // customGrad passes the inputs and then a save function through one variadic parameter list.
    const body = (a: Tensor, b: Tensor, save: (tensors: Tensor[]) => void) => {
      save([a, b]);
      return {
        value: tf.matMul(a, b),
        gradFunc: (dy: Tensor, saved: Tensor[]) => {
          const [left, right] = saved as [Tensor, Tensor];
          return [tf.matMul(dy, swapLastTwo(right)), tf.matMul(swapLastTwo(left), dy)];
        },
      };
    };
    cached = tf.customGrad(body as unknown as Parameters<TfjsModule['customGrad']>[0]) as unknown as (
      a: Tensor,
      b: Tensor,
    ) => Tensor;
    plainGradientMatMuls.set(tf, cached);
  }
  return cached;
}
