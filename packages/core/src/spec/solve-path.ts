import type { AnswerFormat } from './answer-format.js';
import type { ExecutorV1 } from './executor.js';
import type { Completion, GenerateRequest, PolicyModelV1 } from './policy-model.js';
import type { TaskBase } from './task.js';
import type { TaskModeV1 } from './task-mode.js';

/** What a {@link SolvePath} is asked: one completion for each of `tasks`, all of one mode. */
export interface SolveRequest {
  readonly policy: PolicyModelV1;
  readonly executor: ExecutorV1;
  readonly mode: TaskModeV1;
  /** One completion is made for each entry: a task repeated n times gets n rollouts. */
  readonly tasks: readonly TaskBase[];
  readonly format: AnswerFormat;
  /** How to generate: everything of a generate request but the prompts, which the mode builds. */
  readonly generation: Omit<GenerateRequest, 'prompts'>;
}

/** One answer to one task, judged. */
export interface SolvedTask {
  readonly task: TaskBase;
  /** The solve prompt the mode built. */
  readonly prompt: string;
  readonly completion: Completion;
  /** Whether the completion followed the answer format (the format penalty). */
  readonly wellFormed: boolean;
  /** Whether an answer was read from the completion and the mode, through the executor, judged it correct. */
  readonly correct: boolean;
  /** Why it is wrong (the parser's or the executor's word), for reports. */
  readonly reason: string | undefined;
}

/**
 * The solve path: build each task's solve prompt, generate, read each answer and check it. The trainer (solve
 * and learnability phases) and `evaluate` go through one; the default is `solveWithPolicy`. Replace it to
 * generate elsewhere (a server, a cache, a second model), or to wrap the default with logging or a verifier of
 * your own. Results are in the order of `tasks`.
 */
export type SolvePath = (request: SolveRequest) => Promise<readonly SolvedTask[]>;
