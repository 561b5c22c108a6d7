import type { TaskModeName } from '../spec/task.js';
import type { TaskModeV1 } from '../spec/task-mode.js';
import {
  createProgramInputMode,
  type ProgramInputModeSettings,
  type ProgramInputProposal,
} from './program-input-mode.js';
import { describeFailure } from './shared.js';
import type { DeductionTask } from './tasks.js';
import { DEDUCTION_TEMPLATES } from './templates.js';

/**
 * Deduction: the proposer writes a program and an input; the solver predicts the output, which is correct
 * when its canonical value equals the gold output. With `name`, the same mode under another name (its tasks
 * carry that name), for a mode of your own built on this one.
 */
export function createDeductionMode<TName extends TaskModeName = 'deduction'>(
  settings: ProgramInputModeSettings<TName> = {},
): TaskModeV1<DeductionTask<TName>, ProgramInputProposal, string> {
  return createProgramInputMode(
    {
      name: 'deduction',
      templates: DEDUCTION_TEMPLATES,
      answerBlock: 'output',
      shown: (task) => ({ input: task.input, output: '' }),
      async check(task, answer, executor) {
        const result = await executor.evaluateLiteral(answer);
        if (!result.ok) return { correct: false, reason: describeFailure(result.error) };
        return result.value === task.output
          ? { correct: true }
          : { correct: false, reason: `predicted ${result.value}, expected ${task.output}` };
      },
    },
    settings,
  );
}
