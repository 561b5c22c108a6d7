/**
 * `@azr/core/test`: test doubles and conformance suites for implementations of the contracts.
 *
 * - {@link MockPolicyModel} and {@link MockExecutor} isolate units (a task mode, a trainer phase) in tests.
 *   They are not for training: use `@azr/backends` and `@azr/executor`.
 * - `describeExecutorConformance` and `describePolicyModelConformance` run the behaviours every implementation
 *   must show under vitest; the `...ConformanceChecks` functions give the same checks to any runner.
 */
export { createArithmeticScript } from './arithmetic-script.js';
export {
  type DescribeConformanceOptions,
  type DescribeExecutorConformanceOptions,
  describeExecutorConformance,
  describePolicyModelConformance,
} from './describe-conformance.js';
export {
  type ConformanceCheck,
  type ExecutorConformanceOptions,
  executorConformanceChecks,
} from './executor-conformance.js';
export {
  MockExecutor,
  type MockExecutorCall,
  type MockExecutorHandlers,
  type MockExecutorSettings,
} from './mock-executor.js';
export {
  type MockCompletionScript,
  type MockPolicyCall,
  MockPolicyModel,
  type MockPolicyModelSettings,
} from './mock-policy-model.js';
export {
  type PolicyModelConformanceOptions,
  policyModelConformanceChecks,
} from './policy-model-conformance.js';
export { type ConformanceOutcome, runConformanceChecks } from './run-conformance.js';
