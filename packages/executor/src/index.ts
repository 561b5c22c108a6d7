/**
 * `@azr/executor`: the sandbox that runs programs written by the model.
 *
 * The executors themselves (`createJavaScriptExecutor` on isolated-vm, `createPythonExecutor` on Pyodide)
 * arrive with the executor work. The contract they implement is re-exported here, so that code written
 * against this package's types does not change when they land.
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
} from '@azr/core';
export { EXECUTION_ERROR_KINDS } from '@azr/core';
