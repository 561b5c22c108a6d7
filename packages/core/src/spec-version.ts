import { SpecificationVersionError } from './errors/errors.js';
import { SPECIFICATION_VERSION } from './spec/version.js';

/**
 * Throws a {@link SpecificationVersionError} unless `implementation` declares the v1 contracts. The trainer
 * calls it on every model, executor and task mode it is given, so a mismatch fails at start-up with a clear
 * message.
 */
export function assertSpecificationVersion(implementation: unknown, component: string): void {
  const actual =
    typeof implementation === 'object' && implementation !== null
      ? (implementation as { specificationVersion?: unknown }).specificationVersion
      : undefined;
  if (actual !== SPECIFICATION_VERSION) {
    throw new SpecificationVersionError({ component, expected: SPECIFICATION_VERSION, actual });
  }
}
