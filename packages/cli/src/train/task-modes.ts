import { access, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BUILT_IN_TASK_MODE_NAMES,
  ConfigError,
  checkTemplate,
  createChatTemplateFrame,
  createMiniTaskModes,
  createPaperTaskModes,
  type ExecutorV1,
  loadEvaluationSuite,
  miniExpression,
  type TaskBase,
  type TaskLanguage,
  type TaskModeV1,
  TEMPLATE_PLACEHOLDERS,
  type TokenizerV1,
} from '@azr/core';
import type { TasksConfig, TrainConfig } from '../config/config.js';

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

/**
 * The path of the bundled evaluation suite of full tasks, for a task language: a few tasks of our own in
 * CRUXEval's published layout (each line an output-prediction and an input-prediction task).
 */
export async function bundledCruxevalSample(language: TaskLanguage): Promise<string> {
  return join(await suitesFolder(), `cruxeval-sample-${language}.jsonl`);
}

/** Reads the template files a config names, each checked against the placeholders of its kind. */
async function readTemplates(
  templates: TasksConfig['templates'],
): Promise<Record<string, { propose?: string; solve?: string }>> {
  const read: Record<string, { propose?: string; solve?: string }> = {};
  for (const [mode, files] of Object.entries(templates ?? {})) {
    for (const kind of ['propose', 'solve'] as const) {
      const path = files?.[kind];
      if (path === undefined) continue;
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        throw new ConfigError(`Cannot read the template ${path}: ${(error as Error).message}`, {
          field: `tasks.templates.${mode}.${kind}`,
        });
      }
      const allowed = TEMPLATE_PLACEHOLDERS[mode as keyof typeof TEMPLATE_PLACEHOLDERS][kind];
      read[mode] = {
        ...read[mode],
        [kind]: checkTemplate(`tasks.templates.${mode}.${kind} (${path})`, text, allowed),
      };
    }
  }
  return read;
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

/** The `chat` frame: the R1 conversation through the chat template of the run's tokenizer. */
function chatFrame(tokenizer: () => TokenizerV1 | undefined) {
  return createChatTemplateFrame({
    render: (messages) => {
      const render = tokenizer()?.applyChatTemplate;
      if (render === undefined) throw chatTemplateMissing(tokenizer()?.tokenizerId);
      return render(messages);
    },
  });
}

/** The error of a `chat` frame on a model without a chat template. */
export function chatTemplateMissing(tokenizerId: string | undefined): ConfigError {
  return new ConfigError(
    `tasks.frame is "chat", but the model's tokenizer (${tokenizerId ?? 'not loaded'}) has no chat template (tokenizer_config.json "chat_template"); use "r1" for a base model.`,
    { field: 'tasks.frame', allowed: ['r1', 'none', 'chat'] },
  );
}

/** Refuses a `chat` frame for a policy whose tokenizer has no chat template, before the run starts. */
export function assertChatTemplate(tasks: TasksConfig, tokenizer: TokenizerV1): void {
  if (tasks.kind === 'full' && tasks.frame === 'chat' && tokenizer.applyChatTemplate === undefined)
    throw chatTemplateMissing(tokenizer.tokenizerId);
}

/** The response budget of a run's held-out evaluations (in training and in `azr eval` of the run): the run's. */
export function heldOutMaxTokens(config: Pick<TrainConfig, 'trainer'>): number {
  return config.trainer.sampling?.maxTokens ?? 32;
}

/** Whether every task of a suite is written in the mini language (then it is evaluated with the mini modes). */
export function isMiniSuite(tasks: readonly TaskBase[]): boolean {
  return tasks.length > 0 && tasks.every((task) => miniExpression(task.program) !== undefined);
}

/** The task modes of a run, and the held-out suite it evaluates on (which mini tasks also exclude). */
export interface RunTaskModes {
  readonly modes: TaskModeV1[];
  readonly heldOut?: { readonly path: string; readonly tasks: readonly TaskBase[] };
}

/**
 * The task modes of a run: the mini language with its held-out suite excluded, or the paper's with the
 * config's frame and template files; and the held-out suite the run evaluates on.
 */
export async function createTaskModes(
  tasks: TasksConfig,
  language: TaskLanguage,
  executor: ExecutorV1,
  /** The run's tokenizer, once its policy is loaded: the `chat` frame renders with its chat template. */
  tokenizer: () => TokenizerV1 | undefined = () => undefined,
): Promise<RunTaskModes> {
  if (tasks.kind === 'full') {
    const templates = await readTemplates(tasks.templates);
    const frame = tasks.frame === 'chat' ? chatFrame(tokenizer) : (tasks.frame ?? 'r1');
    const settings = Object.fromEntries(
      BUILT_IN_TASK_MODE_NAMES.map((mode) => [
        mode,
        { frame, ...(templates[mode] === undefined ? {} : { templates: templates[mode] }) },
      ]),
    );
    const path = tasks.heldOut ?? (await bundledCruxevalSample(language));
    return {
      modes: createPaperTaskModes(settings),
      heldOut: { path, tasks: await readSuite(path, executor, language) },
    };
  }
  const path = tasks.heldOut ?? (await bundledMiniSuite(language));
  const heldOut = await readSuite(path, executor, language);
  return {
    modes: createMiniTaskModes({
      constrained: tasks.constrained,
      heldOut,
      ...(tasks.curriculum === false ? {} : { curriculum: tasks.curriculum }),
      ...(tasks.inductionHeldOut === undefined ? {} : { inductionHeldOut: tasks.inductionHeldOut }),
      ...(tasks.inductionReadsInput === undefined ? {} : { inductionReadsInput: tasks.inductionReadsInput }),
      ...(tasks.inductionAnswersFollowCurriculum === undefined
        ? {}
        : { inductionAnswersFollowCurriculum: tasks.inductionAnswersFollowCurriculum }),
      ...(tasks.proposalsReadInput === undefined ? {} : { proposalsReadInput: tasks.proposalsReadInput }),
    }),
    heldOut: { path, tasks: heldOut },
  };
}
