import { ModelFormatError } from '@azr/core/spec';
import { expect } from 'vitest';

/** Expects `promise` to reject with a `ModelFormatError` whose message matches `pattern`. */
export async function expectModelFormatError(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(ModelFormatError.isInstance(error), String(error)).toBe(true);
  expect((error as Error).message).toMatch(pattern);
}
