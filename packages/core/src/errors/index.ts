export { AzrError, type AzrErrorOptions, type ErrorDetails, type SerializedAzrError } from './azr-error.js';
export {
  ConfigError,
  ExecutionTimeoutError,
  InvalidTaskError,
  MissingDependencyError,
  ModelFormatError,
  ResourceClosedError,
  SandboxViolationError,
  SpecificationVersionError,
  UnsupportedCapabilityError,
} from './errors.js';
