import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/errors.js';
import { assertNumberInRange, assertOneOf } from './validate.js';

describe('setting validation', () => {
  it('returns an allowed value and lists the allowed values otherwise', () => {
    expect(assertOneOf('engine', 'onnx', ['onnx', 'tfjs'] as const)).toBe('onnx');
    try {
      assertOneOf('engine', 'pytorch', ['onnx', 'tfjs']);
      expect.unreachable();
    } catch (error) {
      expect(ConfigError.isInstance(error)).toBe(true);
      expect((error as ConfigError).message).toBe('engine must be one of "onnx", "tfjs"; got "pytorch".');
      expect((error as ConfigError).details).toEqual({ field: 'engine', allowed: ['onnx', 'tfjs'] });
    }
  });

  it('checks numbers against a range and integrality', () => {
    expect(assertNumberInRange('steps', 3, { minimum: 1, integer: true })).toBe(3);
    expect(() => assertNumberInRange('steps', 0, { minimum: 1 })).toThrow(
      /steps must be a number in \[1, Infinity\]/,
    );
    expect(() => assertNumberInRange('steps', 1.5, { integer: true })).toThrow(/an integer/);
    expect(() => assertNumberInRange('rate', Number.NaN, {})).toThrow(ConfigError);
  });
});
