const MARKER_PREFIX = 'azr.error:';

function markerFor(errorName: string): symbol {
  return Symbol.for(`${MARKER_PREFIX}${errorName}`);
}

/** Structured fields of an error: plain JSON-serialisable data that callers can branch on. */
export type ErrorDetails = Readonly<Record<string, unknown>>;

/** Options accepted by every {@link AzrError} constructor. */
export interface AzrErrorOptions {
  /** The underlying error, kept as `error.cause`. */
  readonly cause?: unknown;
}

/** The JSON form of an {@link AzrError}, for logs, IPC between worker processes, and run directories. */
export interface SerializedAzrError {
  readonly name: string;
  readonly message: string;
  readonly details: ErrorDetails;
  readonly cause?: SerializedAzrError | { readonly name: string; readonly message: string };
}

/**
 * The base class of every error the SDK throws.
 *
 * - `name` is stable across versions: branch on it, or better on `XxxError.isInstance(error)`.
 * - `details` holds the structured fields (the field that failed validation, the package to install, ...).
 * - `isInstance` works where `instanceof` does not: across two copies of `@azr/core` in one
 *   `node_modules` tree, and across JavaScript realms. It checks a marker stored under `Symbol.for`, which is
 *   shared by every realm and every copy of the package.
 */
export class AzrError extends Error {
  /** The stable name of this class; subclasses override it. */
  static readonly errorName: string = 'AzrError';

  readonly details: ErrorDetails;

  constructor(message: string, details: ErrorDetails = {}, options: AzrErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const errorClass = new.target as typeof AzrError;
    this.name = errorClass.errorName;
    this.details = Object.freeze({ ...details });
    // One marker per class in the chain, so that `AzrError.isInstance(new ConfigError(...))` holds too.
    let current: unknown = errorClass;
    while (typeof current === 'function' && Object.hasOwn(current, 'errorName')) {
      const errorName = (current as typeof AzrError).errorName;
      Object.defineProperty(this, markerFor(errorName), { value: true, enumerable: false });
      current = Object.getPrototypeOf(current);
    }
  }

  /** Whether `value` is an instance of this class (or a subclass), from any copy of the package or any realm. */
  static isInstance<T extends abstract new (...args: never[]) => AzrError>(
    this: T & { readonly errorName: string },
    value: unknown,
  ): value is InstanceType<T> {
    if ((typeof value !== 'object' && typeof value !== 'function') || value === null) {
      return false;
    }
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class isInstance is called on, subclasses included.
    return (value as Record<symbol, unknown>)[markerFor(this.errorName)] === true;
  }

  /** The JSON form of the error; `cause` is included when it is an error. */
  toJSON(): SerializedAzrError {
    const serialized: { -readonly [K in keyof SerializedAzrError]: SerializedAzrError[K] } = {
      name: this.name,
      message: this.message,
      details: this.details,
    };
    const cause = this.cause;
    if (AzrError.isInstance(cause)) {
      serialized.cause = cause.toJSON();
    } else if (cause instanceof Error) {
      serialized.cause = { name: cause.name, message: cause.message };
    }
    return serialized;
  }
}
