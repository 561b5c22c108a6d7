import { AzrError, type AzrErrorOptions } from './azr-error.js';

/** A setting, option or argument is invalid. `field` names it (a dotted path for nested settings). */
export class ConfigError extends AzrError {
  static override readonly errorName: string = 'ConfigError';
  declare readonly details: { readonly field: string; readonly allowed?: readonly string[] };

  constructor(
    message: string,
    fields: { readonly field: string; readonly allowed?: readonly string[] },
    options?: AzrErrorOptions,
  ) {
    super(message, fields, options);
  }
}

/** A component was asked for something its capabilities exclude (training an inference-only model, ...). */
export class UnsupportedCapabilityError extends AzrError {
  static override readonly errorName: string = 'UnsupportedCapabilityError';
  declare readonly details: { readonly component: string; readonly capability: string };

  constructor(
    message: string,
    fields: { readonly component: string; readonly capability: string },
    options?: AzrErrorOptions,
  ) {
    super(message, fields, options);
  }
}

/** An optional runtime package is not installed. The message says what to install. */
export class MissingDependencyError extends AzrError {
  static override readonly errorName: string = 'MissingDependencyError';
  declare readonly details: { readonly packageName: string; readonly feature: string };

  constructor(fields: { readonly packageName: string; readonly feature: string }, options?: AzrErrorOptions) {
    super(
      `${fields.feature} needs the package "${fields.packageName}", which could not be loaded. ` +
        `Install it with: npm install ${fields.packageName}`,
      fields,
      options,
    );
  }
}

/** A model, tokenizer or weight file is missing, unreadable or not in the expected layout. */
export class ModelFormatError extends AzrError {
  static override readonly errorName: string = 'ModelFormatError';
  declare readonly details: { readonly path: string | undefined };

  constructor(message: string, fields: { readonly path: string | undefined }, options?: AzrErrorOptions) {
    super(message, fields, options);
  }
}

/** A task (imported, deserialised or built by hand) is malformed. */
export class InvalidTaskError extends AzrError {
  static override readonly errorName: string = 'InvalidTaskError';
  declare readonly details: { readonly reason: string };

  constructor(message: string, fields: { readonly reason: string }, options?: AzrErrorOptions) {
    super(message, fields, options);
  }
}

/** An execution exceeded its deadline and the executor could not even report it as a result. */
export class ExecutionTimeoutError extends AzrError {
  static override readonly errorName: string = 'ExecutionTimeoutError';
  declare readonly details: { readonly timeoutMs: number };

  constructor(message: string, fields: { readonly timeoutMs: number }, options?: AzrErrorOptions) {
    super(message, fields, options);
  }
}

/** Code tried to leave the sandbox or to use something the sandbox forbids. */
export class SandboxViolationError extends AzrError {
  static override readonly errorName: string = 'SandboxViolationError';
  declare readonly details: { readonly rule: string };

  constructor(message: string, fields: { readonly rule: string }, options?: AzrErrorOptions) {
    super(message, fields, options);
  }
}

/** A component was used after `close()` or `doDispose()`. */
export class ResourceClosedError extends AzrError {
  static override readonly errorName: string = 'ResourceClosedError';
  declare readonly details: { readonly resource: string };

  constructor(fields: { readonly resource: string }, options?: AzrErrorOptions) {
    super(`${fields.resource} was used after it was closed.`, fields, options);
  }
}

/** An implementation was written against another version of the contracts than this SDK's. */
export class SpecificationVersionError extends AzrError {
  static override readonly errorName: string = 'SpecificationVersionError';
  declare readonly details: {
    readonly component: string;
    readonly expected: string;
    readonly actual: unknown;
  };

  constructor(
    fields: { readonly component: string; readonly expected: string; readonly actual: unknown },
    options?: AzrErrorOptions,
  ) {
    super(
      `${fields.component} implements specification version ${JSON.stringify(fields.actual)}, ` +
        `but this SDK needs "${fields.expected}".`,
      fields,
      options,
    );
  }
}
