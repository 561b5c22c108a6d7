import { describe, expect, it } from 'vitest';
import { resolveTrainConfig } from '../config/config.js';
import { evalRolloutPrecision } from './eval.js';

describe('azr eval of a run directory', () => {
  it("generates at the run's rollout precision when its onnx engine generated at it, and nothing else of the run's", () => {
    const int8 = resolveTrainConfig({ rolloutPrecision: 'int8', onnx: { batchSize: 64 } }, {});
    expect(evalRolloutPrecision(int8)).toEqual({ rolloutPrecision: 'int8' });
    expect(evalRolloutPrecision(resolveTrainConfig({}, {}))).toEqual({});
    expect(
      evalRolloutPrecision(resolveTrainConfig({ onnx: { joinPrompts: false } }, { engine: 'hybrid' })),
    ).toEqual({});
    expect(evalRolloutPrecision(undefined)).toEqual({});
  });
});
