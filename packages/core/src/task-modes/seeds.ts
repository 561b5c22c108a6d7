import type { CanonicalValue } from '../spec/canonical-value.js';
import type { TaskModeName } from '../spec/task.js';
import type { TaskLanguage } from '../spec/task-language.js';
import { taskId } from './task-id.js';
import type { InductionTask, ProgramInputTask } from './tasks.js';

const IDENTITY: Readonly<Record<TaskLanguage, string>> = {
  javascript: 'function f(a) {\n  return a;\n}',
  python: 'def f(a):\n    return a',
};

const HELLO_WORLD = "'Hello world'";

/**
 * The zero triplet every buffer starts from: the identity program on the string "Hello world", as a task of
 * a mode whose tasks are a program, an input and an output (deduction, abduction, or a mode built from them
 * under another name).
 */
export function zeroTriplet<TName extends TaskModeName>(
  mode: TName,
  language: TaskLanguage,
): ProgramInputTask<TName> {
  const content = {
    mode,
    language,
    program: IDENTITY[language],
    entry: 'f',
    input: HELLO_WORLD,
    output: '"Hello world"' as CanonicalValue,
  };
  return { ...content, id: taskId(content), step: 0 };
}

/**
 * The induction seed: the identity program with six varied inputs (written the same way in both languages,
 * with the same canonical outputs) and a message; three pairs are shown.
 */
export function zeroInductionTask<TName extends TaskModeName = 'induction'>(
  language: TaskLanguage,
  mode: TName = 'induction' as TName,
): InductionTask<TName> {
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
    mode,
    language,
    program: IDENTITY[language],
    entry: 'f',
    pairs: pairs.map(([input, output]) => ({ input, output: output as CanonicalValue })),
    shownCount: 3,
    message: 'The function gives back exactly what it is given.',
  };
  return { ...content, id: taskId(content), step: 0 };
}
