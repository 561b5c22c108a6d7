import { failRecord, recordReader } from '../buffers/task-records.js';
import type { CanonicalValue } from '../spec/canonical-value.js';
import type { ExecutorV1 } from '../spec/executor.js';
import type { TaskBase } from '../spec/task.js';
import type { TaskLanguage } from '../spec/task-language.js';
import { TASK_LANGUAGES } from '../spec/task-language.js';
import type { SuiteRecordReader, TaskModeV1 } from '../spec/task-mode.js';
import { createPaperTaskModes } from '../task-modes/paper.js';
import { taskId } from '../task-modes/task-id.js';
import type { Task } from '../task-modes/tasks.js';

/** Options of {@link loadEvaluationSuite}. */
export interface EvaluationSuiteOptions {
  /** The language of lines that name none. Default `python` (CRUXEval's). */
  readonly language?: TaskLanguage;
  /** The modes that read the lines. Default: the paper's modes. */
  readonly modes?: readonly TaskModeV1[];
}

/**
 * Reads an evaluation suite: JSONL with one task per line, each read by a task mode (see
 * `TaskModeV1.readSuiteRecord`).
 *
 * - A line that names its mode (`"mode": "<name>"`) is read by that mode, with its program in `code`. The
 *   paper's modes read `{ "mode": "deduction" | "abduction", "language", "code", "input": "<argument list>",
 *   "output": "<value literal>" }`, and for induction `{ "mode": "induction", "language", "code",
 *   "inputs": [...], "outputs": [...], "message", "shownCount"? }` (half the pairs shown by default).
 * - A line that names no mode, such as CRUXEval's `{ "code", "input", "output" }` (an `id` is ignored), becomes
 *   a task of every mode that reads it: with the paper's modes, a deduction task and an abduction task.
 *
 * Outputs are value literals; the executor reads them into canonical values. Throws `InvalidTaskError`
 * naming the line of the first malformed task or unreadable output.
 */
export async function loadEvaluationSuite(
  text: string,
  executor: ExecutorV1,
  options: EvaluationSuiteOptions = {},
): Promise<Task[]> {
  const modes = options.modes ?? createPaperTaskModes();
  const tasks: TaskBase[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim().length === 0) continue;
    const where = `Evaluation suite line ${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      failRecord(where, 'not JSON');
    }
    const reader = recordReader(value, where);
    const { record, fail } = reader;
    const language = (record.language ?? options.language ?? 'python') as TaskLanguage;
    if (!TASK_LANGUAGES.includes(language)) fail(`"language" must be ${TASK_LANGUAGES.join(' or ')}`);
    if (executor.language !== language)
      fail(`the task is ${language} but the executor runs ${executor.language}`);
    const program = reader.string('code');
    // A line read by several modes reads its literals once.
    const literals = new Map<string, Promise<CanonicalValue>>();
    const suiteReader: Omit<SuiteRecordReader, 'named'> = {
      ...reader,
      language,
      canonical(literal) {
        let canonical = literals.get(literal);
        if (canonical === undefined) {
          canonical = executor
            .evaluateLiteral(literal)
            .then((result) =>
              result.ok
                ? result.value
                : fail(
                    `the output ${JSON.stringify(literal)} is not a readable literal (${result.error.message})`,
                  ),
            );
          literals.set(literal, canonical);
        }
        return canonical;
      },
    };
    const named = record.mode;
    if (named !== undefined && !modes.some((mode) => mode.name === named))
      fail(`"mode" must be ${modes.map((mode) => mode.name).join(', ')}`);
    const readers = named === undefined ? modes : modes.filter((mode) => mode.name === named);
    let read = 0;
    for (const mode of readers) {
      const fields = await mode.readSuiteRecord?.({ ...suiteReader, named: named !== undefined });
      if (fields === undefined) continue;
      const content = { mode: mode.name, language, program, entry: 'f', ...fields };
      tasks.push({ ...content, id: taskId(content), step: 0 });
      read += 1;
    }
    if (read === 0)
      fail(
        named === undefined
          ? `no mode of ${modes.map((mode) => mode.name).join(', ')} reads a line without "mode"`
          : `the ${named} mode reads no suite lines`,
      );
  }
  // The paper's modes give built-in tasks; a suite read by modes of your own holds theirs.
  return tasks as Task[];
}
