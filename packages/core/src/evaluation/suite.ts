import { InvalidTaskError } from '../errors/errors.js';
import type { CanonicalValue } from '../spec/canonical-value.js';
import type { ExecutorV1 } from '../spec/executor.js';
import type { AbductionTask, DeductionTask, InductionTask, Task } from '../spec/task.js';
import type { TaskLanguage } from '../spec/task-language.js';
import { taskId } from '../task-modes/task-id.js';

/**
 * Reads an evaluation suite: JSONL with one task per line, in either layout.
 *
 * - The SDK's: `{ "mode": "deduction" | "abduction", "language", "code", "input": "<argument list>",
 *   "output": "<value literal>" }`, or for induction `{ "mode": "induction", "language", "code",
 *   "inputs": [...], "outputs": [...], "message", "shownCount"? }` (half the pairs shown by default).
 * - CRUXEval's: `{ "code", "input", "output" }` (an `id` is ignored); each line becomes a deduction task and
 *   an abduction task, in `language` (default `python`).
 *
 * Outputs are value literals; the executor reads them into canonical values. Throws `InvalidTaskError`
 * naming the line of the first malformed task or unreadable output.
 */
export async function loadEvaluationSuite(
  text: string,
  executor: ExecutorV1,
  options: { readonly language?: TaskLanguage } = {},
): Promise<Task[]> {
  const tasks: Task[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim().length === 0) continue;
    const number = index + 1;
    const fail = (reason: string): never => {
      throw new InvalidTaskError(`Evaluation suite line ${number}: ${reason}.`, { reason });
    };
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return fail('not JSON');
    }
    if (typeof record !== 'object' || record === null) fail('a task is a JSON object');
    const text = (field: string): string =>
      typeof record[field] === 'string' ? (record[field] as string) : fail(`"${field}" must be a string`);
    const language = (record.language ?? options.language ?? 'python') as TaskLanguage;
    if (language !== 'python' && language !== 'javascript') fail('"language" must be python or javascript');
    if (executor.language !== language)
      fail(`the task is ${language} but the executor runs ${executor.language}`);
    const canonical = async (literal: string): Promise<CanonicalValue> => {
      const result = await executor.evaluateLiteral(literal);
      return result.ok
        ? result.value
        : fail(`the output ${JSON.stringify(literal)} is not a readable literal (${result.error.message})`);
    };
    const program = text('code');
    const mode = record.mode;
    if (mode === 'induction') {
      const inputs = record.inputs;
      const outputs = record.outputs;
      if (
        !Array.isArray(inputs) ||
        !Array.isArray(outputs) ||
        inputs.length !== outputs.length ||
        inputs.length < 2
      ) {
        fail('"inputs" and "outputs" must be arrays of the same length, at least 2');
      }
      const pairs = [];
      for (const [position, input] of (inputs as unknown[]).entries()) {
        const output = (outputs as unknown[])[position];
        if (typeof input !== 'string' || typeof output !== 'string')
          fail('inputs and outputs must be strings');
        pairs.push({ input: input as string, output: await canonical(output as string) });
      }
      const shownCount = record.shownCount ?? Math.floor(pairs.length / 2);
      if (
        typeof shownCount !== 'number' ||
        !Number.isInteger(shownCount) ||
        shownCount < 1 ||
        shownCount >= pairs.length
      )
        fail('"shownCount" is out of range');
      const content = {
        mode: 'induction' as const,
        language,
        program,
        entry: 'f',
        pairs,
        shownCount: shownCount as number,
        message: text('message'),
      };
      tasks.push({ ...content, id: taskId(content), step: 0 } satisfies InductionTask);
      continue;
    }
    const output = await canonical(text('output'));
    const modes =
      mode === undefined
        ? (['deduction', 'abduction'] as const)
        : mode === 'deduction' || mode === 'abduction'
          ? [mode]
          : fail('"mode" must be deduction, abduction or induction');
    for (const each of modes) {
      const content = { mode: each, language, program, entry: 'f', input: text('input'), output };
      tasks.push({ ...content, id: taskId(content), step: 0 } as DeductionTask | AbductionTask);
    }
  }
  return tasks;
}
