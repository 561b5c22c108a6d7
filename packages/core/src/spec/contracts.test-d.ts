import { describe, expectTypeOf, it } from 'vitest';
import { ConfigError, UnsupportedCapabilityError } from '../errors/errors.js';
import type { Task } from '../task-modes/tasks.js';
import type { MockExecutor } from '../test/mock-executor.js';
import type { MockPolicyModel } from '../test/mock-policy-model.js';
import type {
  AdvantageEstimatorV1,
  CanonicalValue,
  ExecutionResult,
  ExecutorV1,
  MetricsSinkV1,
  PolicyModelV1,
  ProposerRewardFn,
  TaskBase,
  TaskModeV1,
  TrainerEvent,
  ValidationResult,
} from './index.js';

describe('the v1 contracts', () => {
  it('are implemented by the mocks', () => {
    expectTypeOf<MockPolicyModel>().toExtend<PolicyModelV1>();
    expectTypeOf<MockExecutor>().toExtend<ExecutorV1>();
  });

  it('brand canonical values so that a plain string is not one', () => {
    expectTypeOf<string>().not.toExtend<CanonicalValue>();
    expectTypeOf<CanonicalValue>().toExtend<string>();
  });

  it('narrow execution results on ok', () => {
    const result = {} as ExecutionResult;
    if (result.ok) {
      expectTypeOf(result.value).toEqualTypeOf<CanonicalValue>();
    } else {
      expectTypeOf(result.error.kind).toEqualTypeOf<
        | 'syntax'
        | 'runtime'
        | 'timeout'
        | 'memory'
        | 'policy'
        | 'output-too-large'
        | 'nondeterministic'
        | 'crashed'
      >();
    }
    const validation = {} as ValidationResult;
    if (!validation.ok) {
      expectTypeOf(validation.argsIndex).toEqualTypeOf<number | undefined>();
    }
  });

  it('narrow tasks on their mode', () => {
    const task = {} as Task;
    if (task.mode === 'induction') {
      expectTypeOf(task.message).toEqualTypeOf<string>();
      expectTypeOf(task).not.toHaveProperty('output');
    } else {
      expectTypeOf(task.output).toEqualTypeOf<CanonicalValue>();
    }
  });

  it('let isInstance narrow an unknown error to the class it is called on', () => {
    const error: unknown = undefined;
    if (ConfigError.isInstance(error)) {
      expectTypeOf(error).toEqualTypeOf<ConfigError>();
      expectTypeOf(error.details.field).toEqualTypeOf<string>();
    }
    if (UnsupportedCapabilityError.isInstance(error)) {
      expectTypeOf(error.details.capability).toEqualTypeOf<string>();
    }
  });

  it('type task modes, rewards, estimators and sinks', () => {
    expectTypeOf<TaskModeV1<TaskBase, { code: string }, string>['parseAnswer']>().returns.toEqualTypeOf<
      | { readonly ok: true; readonly value: string; readonly wellFormed: boolean }
      | { readonly ok: false; readonly reason: string; readonly wellFormed: boolean }
    >();
    expectTypeOf<ProposerRewardFn>().returns.toEqualTypeOf<number[]>();
    expectTypeOf<AdvantageEstimatorV1['compute']>().returns.toEqualTypeOf<number[]>();
    expectTypeOf<MetricsSinkV1['write']>().parameter(0).toEqualTypeOf<TrainerEvent>();
  });
});
