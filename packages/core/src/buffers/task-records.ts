import { InvalidTaskError } from '../errors/errors.js';
import type { TaskBase, TaskModeName } from '../spec/task.js';
import { TASK_LANGUAGES } from '../spec/task-language.js';
import type { TaskModeV1, TaskRecordReader } from '../spec/task-mode.js';
import { taskId } from '../task-modes/task-id.js';

/** Rejects a record: an `InvalidTaskError` whose message starts with `where` (the line). */
export function failRecord(where: string, reason: string): never {
  throw new InvalidTaskError(`${where}: ${reason}.`, { reason });
}

/** A reader over one JSON record whose failures are `InvalidTaskError`s starting with `where`. */
export function recordReader(value: unknown, where: string): TaskRecordReader {
  const fail = (reason: string): never => failRecord(where, reason);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('a task is a JSON object');
  const record = value as Readonly<Record<string, unknown>>;
  return {
    record,
    fail,
    string(field) {
      const item = record[field];
      return typeof item === 'string' ? item : fail(`"${field}" must be a string`);
    },
  };
}

/** The fields every task has, kept by a mode without a reader of its own. */
const COMMON_FIELDS = new Set(['mode', 'language', 'program', 'entry', 'id', 'step']);

/**
 * Reads a stored task: the fields every task has here, the rest through the mode the record names (see
 * `TaskModeV1.readTask`), and the id checked against the content (given one when it has none).
 */
export function readTaskRecord(
  value: unknown,
  modes: ReadonlyMap<TaskModeName, TaskModeV1>,
  where: string,
): TaskBase {
  const reader = recordReader(value, where);
  const { record } = reader;
  const name = reader.string('mode');
  const mode = modes.get(name);
  if (mode === undefined) reader.fail(`"mode" must be one of ${[...modes.keys()].join(', ')}`);
  const language = reader.string('language');
  if (!(TASK_LANGUAGES as readonly string[]).includes(language))
    reader.fail(`"language" must be one of ${TASK_LANGUAGES.join(', ')}`);
  const step = record.step ?? 0;
  if (typeof step !== 'number' || !Number.isInteger(step) || step < 0)
    reader.fail('"step" must be a non-negative integer');
  const fields =
    mode?.readTask?.(reader) ??
    Object.fromEntries(Object.entries(record).filter(([field]) => !COMMON_FIELDS.has(field)));
  const content = {
    mode: name,
    language: language as TaskBase['language'],
    program: reader.string('program'),
    entry: typeof record.entry === 'string' ? record.entry : 'f',
    ...fields,
  };
  const id = taskId(content);
  if (record.id !== undefined && record.id !== id)
    reader.fail(`"id" does not match the task's content (expected ${id})`);
  return { ...content, id, step: step as number };
}
