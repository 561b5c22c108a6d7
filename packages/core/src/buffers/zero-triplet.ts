import type { CanonicalValue } from '../spec/canonical-value.js';
import type { AbductionTask, DeductionTask, InductionTask } from '../spec/task.js';
import type { TaskLanguage } from '../spec/task-language.js';
import { taskId } from '../task-modes/task-id.js';

const IDENTITY: Readonly<Record<TaskLanguage, string>> = {
  javascript: 'function f(a) {\n  return a;\n}',
  python: 'def f(a):\n    return a',
};

const HELLO_WORLD = "'Hello world'";

/**
 * The zero triplet every buffer starts from: the identity program on the string "Hello world", as a deduction
 * or abduction task.
 */
export function zeroTriplet<TMode extends 'deduction' | 'abduction'>(
  mode: TMode,
  language: TaskLanguage,
): TMode extends 'deduction' ? DeductionTask : AbductionTask {
  const content = {
    mode,
    language,
    program: IDENTITY[language],
    entry: 'f',
    input: HELLO_WORLD,
    output: '"Hello world"' as CanonicalValue,
  };
  return { ...content, id: taskId(content), step: 0 } as unknown as TMode extends 'deduction'
    ? DeductionTask
    : AbductionTask;
}

/**
 * The induction seed: the identity program with six varied inputs (written the same way in both languages,
 * with the same canonical outputs) and a message; three pairs are shown.
 */
export function zeroInductionTask(language: TaskLanguage): InductionTask {
  const truth = language === 'python' ? 'True' : 'true';
  const pairs: [string, string][] = [
    [HELLO_WORLD, '"Hello world"'],
    ['42', '42'],
    ['[1, 2, 3]', '[1,2,3]'],
    ["'abc'", '"abc"'],
    ['-7.5', '-7.5'],
    [truth, 'true'],
  ];
  const content = {
    mode: 'induction' as const,
    language,
    program: IDENTITY[language],
    entry: 'f',
    pairs: pairs.map(([input, output]) => ({ input, output: output as CanonicalValue })),
    shownCount: 3,
    message: 'The function gives back exactly what it is given.',
  };
  return { ...content, id: taskId(content), step: 0 };
}
