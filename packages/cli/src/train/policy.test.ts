import { ConfigError } from '@azr/core';
import { describe, expect, it } from 'vitest';
import { resolveTrainConfig } from '../config/config.js';
import { createTrainingPolicy, trainingPolicyDevices } from './policy.js';

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

// A value only the library refuses shows that a setting got there.
describe('createTrainingPolicy and the onnx section', { timeout: 60_000 }, () => {
  it('gives the onnx engine every setting', async () => {
    const training = await configError(
      createTrainingPolicy(
        'onnx',
        tiny,
        {},
        { rolloutPrecision: 'int8', onnx: { importanceTruncation: 0.5 } },
      ),
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
    const refusedByTheLibrary = {
      batchSize: 0,
      generationCacheBytes: 0,
      joinPrompts: 'yes',
      rolloutWeights: 'mapped',
    } as const;
    for (const [name, value] of Object.entries(refusedByTheLibrary)) {
      const error = await configError(
        createTrainingPolicy('hybrid', tiny, {}, { onnx: { [name]: value } as never }),
      );
      expect(error.details.field).toBe(name);
    }
    const training = await configError(
      createTrainingPolicy('hybrid', tiny, {}, { onnx: { batchSize: 2, microBatchLoop: false } }),
    );
    expect(training.details.field).toBe('onnx.microBatchLoop');
  });

  it("takes a run's settings from its config", () => {
    const config = resolveTrainConfig(
      { threads: 2, rolloutPrecision: 'int8', onnx: { batchSize: 4, recomputeActivations: true } },
      {},
    );
    expect(trainingPolicyDevices(config)).toEqual({
      threads: 2,
      executionProviders: ['cpu'],
      rolloutPrecision: 'int8',
      onnx: { batchSize: 4, recomputeActivations: true },
    });
    expect(trainingPolicyDevices(resolveTrainConfig({}, {}))).not.toHaveProperty('onnx');
  });

  it('refuses every onnx setting for the tfjs engine', async () => {
    const error = await configError(createTrainingPolicy('tfjs', tiny, {}, { onnx: { joinPrompts: true } }));
    expect(error.details.field).toBe('onnx.joinPrompts');
  });
});
