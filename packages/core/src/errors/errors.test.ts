import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { AzrError } from './azr-error.js';
import {
  ConfigError,
  MissingDependencyError,
  ResourceClosedError,
  UnsupportedCapabilityError,
} from './errors.js';

describe('AzrError', () => {
  it('has a stable name, structured details and a cause', () => {
    const cause = new Error('disk full');
    const error = new ConfigError('steps must be positive', { field: 'steps' }, { cause });
    expect(error.name).toBe('ConfigError');
    expect(error.message).toBe('steps must be positive');
    expect(error.details.field).toBe('steps');
    expect(error.cause).toBe(cause);
    expect(Object.isFrozen(error.details)).toBe(true);
    expect(error).toBeInstanceOf(Error);
  });

  it('recognises instances of a class and of its subclasses, and nothing else', () => {
    const error = new UnsupportedCapabilityError('no training', {
      component: 'onnx',
      capability: 'training',
    });
    expect(AzrError.isInstance(error)).toBe(true);
    expect(UnsupportedCapabilityError.isInstance(error)).toBe(true);
    expect(ConfigError.isInstance(error)).toBe(false);
    expect(AzrError.isInstance(new Error('plain'))).toBe(false);
    expect(AzrError.isInstance({ name: 'ConfigError', message: 'forged' })).toBe(false);
    expect(AzrError.isInstance(null)).toBe(false);
    expect(AzrError.isInstance('ConfigError')).toBe(false);
  });

  it('recognises a marked error made in another realm, where instanceof fails', () => {
    const foreign = runInNewContext(`
      const error = new Error('from another realm');
      error.name = 'ConfigError';
      Object.defineProperty(error, Symbol.for('azr.error:AzrError'), { value: true });
      Object.defineProperty(error, Symbol.for('azr.error:ConfigError'), { value: true });
      error;
    `) as unknown;
    expect(foreign instanceof Error).toBe(false);
    expect(ConfigError.isInstance(foreign)).toBe(true);
    expect(AzrError.isInstance(foreign)).toBe(true);
    expect(ResourceClosedError.isInstance(foreign)).toBe(false);
  });

  it('serialises to JSON with its details and cause', () => {
    const inner = new ResourceClosedError({ resource: 'executor' });
    const outer = new MissingDependencyError(
      { packageName: 'onnxruntime-node', feature: 'The onnx engine' },
      { cause: inner },
    );
    const json = JSON.parse(JSON.stringify(outer)) as Record<string, unknown>;
    expect(json).toEqual({
      name: 'MissingDependencyError',
      message: expect.stringContaining('npm install onnxruntime-node'),
      details: { packageName: 'onnxruntime-node', feature: 'The onnx engine' },
      cause: {
        name: 'ResourceClosedError',
        message: 'executor was used after it was closed.',
        details: { resource: 'executor' },
      },
    });
  });
});
