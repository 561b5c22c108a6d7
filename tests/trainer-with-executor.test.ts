import { createSelfPlayTrainer } from '@azr/core';
import { createArithmeticScript, MockPolicyModel } from '@azr/core/test';
import { createJavaScriptExecutor, createPythonExecutor } from '@azr/executor';
import { afterAll, describe, expect, it } from 'vitest';

const javascript = createJavaScriptExecutor({ workers: 2 });
const python = createPythonExecutor({ workers: 1, timeoutMs: 1000 });
afterAll(() => Promise.all([javascript.close(), python.close()]));

describe('the trainer with the real executors', () => {
  it.each([
    ['javascript', javascript],
    ['python', python],
  ] as const)('exercises all six (mode x role) groups in %s', async (language, executor) => {
    const trainer = createSelfPlayTrainer({
      policy: new MockPolicyModel({ seed: 2, script: createArithmeticScript() }),
      executor,
      settings: { seed: 5, language, batchSize: 6, learnabilityRollouts: 4, sampling: { maxTokens: 400 } },
    });
    const steps = [await trainer.runStep(), await trainer.runStep()];
    for (const step of steps) {
      for (const group of step.groups) expect(group.count, `${group.mode} ${group.role}`).toBeGreaterThan(0);
    }
    const proposals = steps.flatMap((step) => step.proposals);
    expect(proposals.filter((proposal) => proposal.status === 'valid').length).toBeGreaterThan(
      proposals.length / 2,
    );
    const solutions = steps.flatMap((step) => step.solutions);
    expect(solutions.some((solution) => solution.correct)).toBe(true);
    expect(solutions.some((solution) => !solution.correct)).toBe(true);
    expect(trainer.buffers.get('induction')?.size).toBeGreaterThan(1);
  });
});
