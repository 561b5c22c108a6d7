import type { TaskModeName } from '../spec/task.js';
import type { TaskModeV1 } from '../spec/task-mode.js';
import { canonicalToLiteral } from './literal.js';
import {
  createProgramInputMode,
  type ProgramInputModeSettings,
  type ProgramInputProposal,
} from './program-input-mode.js';
import { describeFailure } from './shared.js';
import type { AbductionTask } from './tasks.js';
import { ABDUCTION_TEMPLATES } from './templates.js';

/**
 * Abduction: the proposer writes a program and an input; the solver sees the output and gives an input. Any
 * input for which the program returns the gold output is correct. With `name`, the same mode under another
 * name.
 */
export function createAbductionMode<TName extends TaskModeName = 'abduction'>(
  settings: ProgramInputModeSettings<TName> = {},
): TaskModeV1<AbductionTask<TName>, ProgramInputProposal, string> {
  return createProgramInputMode(
    {
      name: 'abduction',
      templates: ABDUCTION_TEMPLATES,
      answerBlock: 'input',
      shown: (task) => ({ input: '', output: canonicalToLiteral(task.output, task.language) }),
      async check(task, answer, executor) {
        const result = await executor.run({ code: task.program, entry: task.entry, args: answer });
        if (!result.ok) return { correct: false, reason: describeFailure(result.error) };
        return result.value === task.output
          ? { correct: true }
          : { correct: false, reason: `f(${answer}) returned ${result.value}, expected ${task.output}` };
      },
    },
    settings,
  );
}
