import { ConfigError, MissingDependencyError } from '@azr/core/spec';
import { describe, expect, it } from 'vitest';
import { initializeTfjs } from './runtime.js';

describe('initializeTfjs', () => {
  it('runs a matrix product on the bundled wasm backend', async () => {
    const { tf, backend } = await initializeTfjs({ backend: 'wasm' });
    expect(backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    const product = tf.tidy(() => {
      const matrix = tf.tensor2d([
        [1, 2],
        [3, 4],
      ]);
      return tf.matMul(matrix, matrix);
    });
    expect(Array.from(await product.data())).toEqual([7, 10, 15, 22]);
    product.dispose();
  });

  it('falls back to wasm on auto when no native backend is installed', async () => {
    const { backend } = await initializeTfjs();
    expect(['wasm', 'node', 'node-gpu']).toContain(backend);
  });

  it('names the package to install for a native backend that is missing', async () => {
    await expect(initializeTfjs({ backend: 'node-gpu' })).rejects.toSatisfy(
      (error: unknown) =>
        MissingDependencyError.isInstance(error) &&
        error.details.packageName === '@tensorflow/tfjs-node-gpu' &&
        error.message.includes('npm install @tensorflow/tfjs-node-gpu'),
    );
  });

  it('lists the allowed backends for an unknown one', async () => {
    await expect(initializeTfjs({ backend: 'metal' as never })).rejects.toSatisfy(
      (error: unknown) => ConfigError.isInstance(error) && error.message.includes('"wasm"'),
    );
  });
});
