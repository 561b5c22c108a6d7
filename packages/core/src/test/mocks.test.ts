import { describe, expect, it } from 'vitest';
import type {
  ExecutorV1,
  GenerateRequest,
  PolicyModelV1,
  TrainBatch,
  TrainStepResult,
  ValidateProgramRequest,
  ValidationResult,
} from '../index.js';
import { describeExecutorConformance, describePolicyModelConformance } from './describe-conformance.js';
import { executorConformanceChecks } from './executor-conformance.js';
import { MockExecutor } from './mock-executor.js';
import { MockPolicyModel } from './mock-policy-model.js';
import { policyModelConformanceChecks } from './policy-model-conformance.js';
import { runConformanceChecks } from './run-conformance.js';

describeExecutorConformance('MockExecutor', () => new MockExecutor({ timeoutMs: 1000 }));
describeExecutorConformance('MockExecutor, shared', () => new MockExecutor({ timeoutMs: 1000 }), {
  shareExecutor: true,
});

describePolicyModelConformance('MockPolicyModel', () => new MockPolicyModel({ seed: 1 }), {
  load: (directory) => MockPolicyModel.load(directory),
});

describePolicyModelConformance(
  'MockPolicyModel without training',
  () => new MockPolicyModel({ seed: 2, training: false }),
);

// Deliberately broken implementations: each breaks one promise, and the suites must catch exactly that.

class TimeoutAsRuntimeExecutor extends MockExecutor {
  override async run(request: Parameters<ExecutorV1['run']>[0]) {
    const result = await super.run(request);
    return !result.ok && result.error.kind === 'timeout'
      ? { ok: false as const, error: { kind: 'runtime' as const, message: result.error.message } }
      : result;
  }
}

class SingleRunValidatingExecutor extends MockExecutor {
  override async validateProgram(request: ValidateProgramRequest): Promise<ValidationResult> {
    const outputs = [];
    for (const [argsIndex, args] of request.argsList.entries()) {
      const result = await this.run({ code: request.code, args });
      if (!result.ok) {
        return { ok: false, error: result.error, argsIndex };
      }
      outputs.push(result.value);
    }
    return { ok: true, outputs };
  }
}

class NeverClosingExecutor extends MockExecutor {
  override async close(): Promise<void> {}
}

class SeedIgnoringModel extends MockPolicyModel {
  override doGenerate(request: GenerateRequest) {
    return super.doGenerate({ ...request, seed: 0 });
  }
}

class NotLearningModel extends MockPolicyModel {
  override async doTrainStep(batch: TrainBatch): Promise<TrainStepResult> {
    const tokenCount = batch.sequences.reduce(
      (total, sequence) => total + sequence.completionTokenIds.length,
      0,
    );
    return {
      loss: 0,
      policyLoss: 0,
      entropy: 1,
      clipFraction: 0,
      approximateKl: 0,
      gradientNorm: 0,
      tokenCount,
      durationMs: 0,
    };
  }
}

class PositiveLogProbModel extends MockPolicyModel {
  override async doGenerate(request: GenerateRequest) {
    const result = await super.doGenerate(request);
    return {
      ...result,
      completions: result.completions.map((c) => ({ ...c, logProbs: c.logProbs.map(Math.abs) })),
    };
  }
}

async function failedChecks<T>(
  checks: readonly { name: string; run: (subject: T) => Promise<void> }[],
  create: () => T,
  release: (subject: T) => unknown,
): Promise<string[]> {
  const outcomes = await runConformanceChecks(checks, create, release);
  return outcomes.filter((outcome) => !outcome.passed).map((outcome) => outcome.name);
}

describe('the conformance suites catch broken implementations', () => {
  const executorChecks = executorConformanceChecks();
  const policyChecks = policyModelConformanceChecks();
  const closeExecutor = (executor: ExecutorV1) => executor.close();
  const disposeModel = (model: PolicyModelV1) => model.doDispose();

  it('passes every check on the mocks themselves', async () => {
    expect(await failedChecks(executorChecks, () => new MockExecutor(), closeExecutor)).toEqual([]);
    expect(await failedChecks(policyChecks, () => new MockPolicyModel({ seed: 5 }), disposeModel)).toEqual(
      [],
    );
  });

  it('fails an executor that reports timeouts as runtime errors', async () => {
    expect(await failedChecks(executorChecks, () => new TimeoutAsRuntimeExecutor(), closeExecutor)).toEqual([
      'stops an endless loop as kind "timeout" and serves the next call',
    ]);
  });

  it('fails an executor that validates with a single run', async () => {
    expect(
      await failedChecks(executorChecks, () => new SingleRunValidatingExecutor(), closeExecutor),
    ).toEqual([
      'rejects a program whose result can differ between runs',
      'rejects a program whose result depends on state it mutates between calls',
    ]);
  });

  it('fails an executor that keeps serving after close()', async () => {
    expect(await failedChecks(executorChecks, () => new NeverClosingExecutor(), closeExecutor)).toEqual([
      'rejects calls after close() with an AzrError, and close() twice is harmless',
    ]);
  });

  it('fails a model that ignores the seed', async () => {
    expect(await failedChecks(policyChecks, () => new SeedIgnoringModel({ seed: 5 }), disposeModel)).toEqual([
      'reproduces sampled completions from the same seed, and varies them with the seed',
    ]);
  });

  it('fails a model whose train step does not change its weights', async () => {
    expect(await failedChecks(policyChecks, () => new NotLearningModel({ seed: 5 }), disposeModel)).toEqual([
      'trains: a positive advantage makes the completion more likely (or training is refused with a typed error)',
    ]);
  });

  it('fails a model that reports positive log probabilities', async () => {
    const failed = await failedChecks(
      policyChecks,
      () => new PositiveLogProbModel({ seed: 5 }),
      disposeModel,
    );
    expect(failed).toContain('generates one completion per prompt, with one log probability per token');
    expect(failed).toContain('recomputes the log probabilities that generation reported');
  });
});

describe('MockPolicyModel', () => {
  it('plays a script in order, cycling, and records the calls', async () => {
    const model = new MockPolicyModel({ script: ['<think>a</think><answer>1</answer>', 'second'] });
    const { completions } = await model.doGenerate({
      prompts: ['p1', 'p2', 'p3'],
      seed: 0,
      temperature: 1,
      topP: 1,
      maxTokens: 100,
    });
    expect(completions.map((completion) => completion.text)).toEqual([
      '<think>a</think><answer>1</answer>',
      'second',
      '<think>a</think><answer>1</answer>',
    ]);
    expect(completions[1]?.finishReason).toBe('end-of-sequence');
    expect(model.calls.map((call) => call.method)).toEqual(['doGenerate']);
  });

  it('truncates a scripted completion at maxTokens and at stop strings', async () => {
    const model = new MockPolicyModel({ script: (prompt) => `${prompt}</answer> tail` });
    const base = { seed: 0, temperature: 1, topP: 1 };
    const [short] = (await model.doGenerate({ ...base, prompts: ['abc'], maxTokens: 2 })).completions;
    expect(short).toMatchObject({ text: 'ab', finishReason: 'length' });
    const [stopped] = (
      await model.doGenerate({ ...base, prompts: ['x'], maxTokens: 50, stop: ['</answer>'] })
    ).completions;
    expect(stopped).toMatchObject({ text: 'x</answer>', finishReason: 'stop' });
  });

  it('honours a generation constraint', async () => {
    const model = new MockPolicyModel({ seed: 3 });
    const digits = Array.from({ length: 10 }, (_, digit) => 48 + digit);
    const { completions } = await model.doGenerate({
      prompts: ['number:'],
      seed: 1,
      temperature: 1,
      topP: 1,
      maxTokens: 20,
      constraint: {
        specificationVersion: 'v1',
        constraintId: 'three-digits',
        initialState: () => 0,
        allowedTokenIds: (count) => ((count as number) < 3 ? digits : []),
        advance: (count) => (count as number) + 1,
        isComplete: (count) => (count as number) === 3,
      },
    });
    expect(completions[0]?.text).toMatch(/^\d{3}$/);
  });
});

describe('MockExecutor', () => {
  it('answers from its handlers first and records every call', async () => {
    const executor = new MockExecutor({
      handlers: {
        run: (request) =>
          request.args === '"scripted"'
            ? { ok: false, error: { kind: 'crashed', message: 'scripted' } }
            : undefined,
      },
    });
    expect(await executor.run({ code: 'function f(a) { return a; }', args: '"scripted"' })).toEqual({
      ok: false,
      error: { kind: 'crashed', message: 'scripted' },
    });
    expect(await executor.run({ code: 'function f(a) { return a; }', args: '"real"' })).toEqual({
      ok: true,
      value: '"real"',
    });
    expect(executor.calls).toHaveLength(2);
  });

  it('cannot be fooled by a program that replaces the encoder or JSON', async () => {
    const executor = new MockExecutor();
    const result = await executor.run({
      code: 'JSON.stringify = () => "forged";\nfunction f() { return { b: 1, a: 2 }; }',
      args: '',
    });
    expect(result).toEqual({ ok: true, value: '{"a":2,"b":1}' });
    for (const replacement of [
      'function __azrEncode() { return "oforged"; }',
      '__azrEncode = function () { return "oforged"; };',
      'var __azrEncode = function () { return "oforged"; };',
      'let __azrEncode = function () { return "oforged"; };',
    ]) {
      const attempt = await executor.run({ code: `${replacement}\nfunction f() { return 1; }`, args: '' });
      // Either the program fails or the real encoder still answers: never the forged value.
      expect(attempt.ok ? attempt.value : attempt.error.kind).toMatch(/^(1|runtime|syntax)$/);
    }
  });
});
