import { access, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  createMiniTaskModes,
  createPaperTaskModes,
  type ExecutorV1,
  loadEvaluationSuite,
  miniExpression,
  type TaskBase,
  type TaskLanguage,
  type TaskModeV1,
} from '@azr/core';
import type { TasksConfig } from '../config/config.js';

/** The name of the held-out suite in the trainer's evaluations and events. */
export const HELD_OUT_SUITE = 'held-out';

/** The folder of the suites bundled with the CLI (`suites/`, beside `dist/` and `src/`). */
async function suitesFolder(): Promise<string> {
  let folder = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 4; depth += 1) {
    const candidate = join(folder, 'suites');
    if (
      await access(join(candidate, 'mini-javascript.jsonl')).then(
        () => true,
        () => false,
      )
    )
      return candidate;
    folder = dirname(folder);
  }
  throw new ConfigError('The evaluation suites bundled with @azr/cli are missing; reinstall the package.', {
    field: 'tasks.heldOut',
  });
}

/** The path of the bundled held-out suite of the mini language, for a task language. */
export async function bundledMiniSuite(language: TaskLanguage): Promise<string> {
  return join(await suitesFolder(), `mini-${language}.jsonl`);
}

/** Reads a JSONL suite into tasks, with a `ConfigError` naming the file when it cannot be read. */
export async function readSuite(
  path: string,
  executor: ExecutorV1,
  language: TaskLanguage,
): Promise<TaskBase[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read the suite ${path}: ${(error as Error).message}`, { field: 'suite' });
  }
  return loadEvaluationSuite(text, executor, { language });
}

/** Whether every task of a suite is written in the mini language (then it is evaluated with the mini modes). */
export function isMiniSuite(tasks: readonly TaskBase[]): boolean {
  return tasks.length > 0 && tasks.every((task) => miniExpression(task.program) !== undefined);
}

/** The task modes of a run, and for mini tasks the held-out suite they exclude (and the run evaluates on). */
export interface RunTaskModes {
  readonly modes: TaskModeV1[];
  readonly heldOut?: { readonly path: string; readonly tasks: readonly TaskBase[] };
}

/** The task modes of a run: the mini language with its held-out suite excluded, or the paper's. */
export async function createTaskModes(
  tasks: TasksConfig,
  language: TaskLanguage,
  executor: ExecutorV1,
): Promise<RunTaskModes> {
  if (tasks.kind === 'full') return { modes: createPaperTaskModes() };
  const path = tasks.heldOut ?? (await bundledMiniSuite(language));
  const heldOut = await readSuite(path, executor, language);
  return {
    modes: createMiniTaskModes({
      constrained: tasks.constrained,
      heldOut,
      ...(tasks.curriculum === false ? {} : { curriculum: tasks.curriculum }),
    }),
    heldOut: { path, tasks: heldOut },
  };
}
