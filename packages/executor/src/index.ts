/**
 * `@azr/executor`: the sandbox that runs programs written by the model, implementing `ExecutorV1` from
 * `@azr/core/spec`.
 */
export type {
  CanonicalValue,
  ExecutionErrorKind,
  ExecutionFailure,
  ExecutionResult,
  ExecutorV1,
  RunRequest,
  ValidateProgramRequest,
  ValidationResult,
} from '@azr/core/spec';
export { EXECUTION_ERROR_KINDS } from '@azr/core/spec';
export {
  createJavaScriptExecutor,
  JAVASCRIPT_ISOLATIONS,
  type JavaScriptExecutor,
  type JavaScriptExecutorSettings,
  type JavaScriptIsolation,
} from './javascript/executor.js';
export { createPythonExecutor, type PythonExecutor, type PythonExecutorSettings } from './python/executor.js';
export type { WorkerPoolStatistics } from './supervisor/worker-pool.js';
