import { ConfigError } from '@azr/core';
import { describe, expect, it } from 'vitest';
import { createTrainingPolicy } from './policy.js';

const tiny = { preset: 'tiny', seed: 0 } as const;

/** The ConfigError a creation fails with (anything else fails the test). */
async function configError(creating: Promise<unknown>): Promise<ConfigError> {
  try {
    await creating;
  } catch (error) {
    if (ConfigError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('no ConfigError');
}

// Each setting is checked where it is used: a value only the library refuses shows that it got there.
describe('createTrainingPolicy and the onnx section', { timeout: 60_000 }, () => {
  it('gives the onnx engine every setting', async () => {
    const training = await configError(
      createTrainingPolicy('onnx', tiny, {}, { onnx: { importanceTruncation: 0.5 } }),
    );
    expect(training.details.field).toBe('importanceTruncation');
    const generation = await configError(
      createTrainingPolicy('onnx', tiny, {}, { onnx: { generationCacheBytes: 0 } }),
    );
    expect(generation.details.field).toBe('generationCacheBytes');
    const policy = await createTrainingPolicy(
      'onnx',
      tiny,
      {},
      { onnx: { batchSize: 2, joinPrompts: false, recomputeActivations: true } },
    );
    await policy.doDispose();
  });

  it("gives the hybrid engine's rollouts the generation settings, and refuses the training ones", async () => {
    const generation = await configError(
      createTrainingPolicy('hybrid', tiny, {}, { onnx: { batchSize: 0 } }),
    );
    expect(generation.details.field).toBe('batchSize');
    const training = await configError(
      createTrainingPolicy('hybrid', tiny, {}, { onnx: { batchSize: 2, microBatchLoop: false } }),
    );
    expect(training.details.field).toBe('onnx.microBatchLoop');
  });

  it('refuses every onnx setting for the tfjs engine', async () => {
    const error = await configError(createTrainingPolicy('tfjs', tiny, {}, { onnx: { joinPrompts: true } }));
    expect(error.details.field).toBe('onnx.joinPrompts');
  });
});
