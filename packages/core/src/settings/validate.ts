import { ConfigError } from '../errors/errors.js';

/**
 * Checks that a setting is one of the allowed strings and returns it typed. The error lists the allowed values,
 * so a typo in a config file is fixed at once.
 */
export function assertOneOf<const T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) {
    return value as T;
  }
  throw new ConfigError(
    `${field} must be one of ${allowed.map((item) => JSON.stringify(item)).join(', ')}; got ${JSON.stringify(value)}.`,
    { field, allowed },
  );
}

/** Checks that a setting is a finite number within `[minimum, maximum]` and returns it. */
export function assertNumberInRange(
  field: string,
  value: unknown,
  range: { readonly minimum?: number; readonly maximum?: number; readonly integer?: boolean },
): number {
  const minimum = range.minimum ?? Number.NEGATIVE_INFINITY;
  const maximum = range.maximum ?? Number.POSITIVE_INFINITY;
  const integerOk = range.integer !== true || Number.isInteger(value);
  if (
    typeof value === 'number' &&
    Number.isFinite(value) &&
    integerOk &&
    value >= minimum &&
    value <= maximum
  ) {
    return value;
  }
  const kind = range.integer === true ? 'an integer' : 'a number';
  throw new ConfigError(
    `${field} must be ${kind} in [${minimum}, ${maximum}]; got ${JSON.stringify(value) ?? String(value)}.`,
    { field },
  );
}
