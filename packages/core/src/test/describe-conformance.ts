import { afterAll, describe, it } from 'vitest';
import type { ExecutorV1 } from '../spec/executor.js';
import type { PolicyModelV1 } from '../spec/policy-model.js';
import { type ExecutorConformanceOptions, executorConformanceChecks } from './executor-conformance.js';
import {
  type PolicyModelConformanceOptions,
  policyModelConformanceChecks,
} from './policy-model-conformance.js';

/** Test-runner options shared by the `describe...Conformance` helpers. */
export interface DescribeConformanceOptions {
  /** Time limit of each check, in milliseconds. Default `60_000`. */
  readonly testTimeoutMs?: number;
}

/** Options of {@link describeExecutorConformance}. */
export interface DescribeExecutorConformanceOptions
  extends ExecutorConformanceOptions,
    DescribeConformanceOptions {
  /**
   * One executor for every check that does not close it, created by the first such check (its start counts in
   * that check's time) and closed after the suite, instead of one per check: for executors that are slow to
   * start. Each check then also shows that the executor still serves calls after the checks before it (an
   * endless loop, a stateful program). Default `false`.
   */
  readonly shareExecutor?: boolean;
}

/**
 * Registers the executor conformance suite with vitest: one test per promised behaviour, each on a fresh
 * executor from `createExecutor`, closed afterwards (or, with `shareExecutor`, on one shared executor where
 * the check does not close it).
 *
 * ```ts
 * describeExecutorConformance('my executor', () => createMyExecutor({ timeoutMs: 100 }));
 * ```
 */
export function describeExecutorConformance(
  name: string,
  createExecutor: () => ExecutorV1 | Promise<ExecutorV1>,
  options: DescribeExecutorConformanceOptions = {},
): void {
  describe(`${name} conforms to ExecutorV1`, () => {
    let shared: Promise<ExecutorV1> | undefined;
    afterAll(async () => {
      const executor = await shared?.catch(() => undefined);
      await executor?.close();
    }, options.testTimeoutMs ?? 60_000);
    for (const check of executorConformanceChecks(options)) {
      it(
        check.name,
        async () => {
          if (options.shareExecutor === true && check.ownSubject !== true) {
            shared ??= Promise.resolve().then(createExecutor);
            await check.run(await shared);
            return;
          }
          const executor = await createExecutor();
          try {
            await check.run(executor);
          } finally {
            await executor.close();
          }
        },
        options.testTimeoutMs ?? 60_000,
      );
    }
  });
}

/**
 * Registers the policy model conformance suite with vitest: one test per promised behaviour, each on a fresh
 * model from `createModel`, disposed of afterwards.
 */
export function describePolicyModelConformance(
  name: string,
  createModel: () => PolicyModelV1 | Promise<PolicyModelV1>,
  options: PolicyModelConformanceOptions & DescribeConformanceOptions = {},
): void {
  describe(`${name} conforms to PolicyModelV1`, () => {
    for (const check of policyModelConformanceChecks(options)) {
      it(
        check.name,
        async () => {
          const model = await createModel();
          try {
            await check.run(model);
          } finally {
            await model.doDispose();
          }
        },
        options.testTimeoutMs ?? 60_000,
      );
    }
  });
}
