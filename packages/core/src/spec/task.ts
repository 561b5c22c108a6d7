import type { CanonicalValue } from './canonical-value.js';
import type { TaskLanguage } from './task-language.js';

/**
 * The name of a task mode: any non-empty string. Tasks carry the name of the mode that made them, buffers and
 * checkpoints are keyed by it, and reports show it. The SDK's own modes are named in `@azr/core`'s task modes.
 */
export type TaskModeName = string;

/** The two roles one policy plays: it proposes tasks and it solves them. */
export type TaskRole = 'propose' | 'solve';

/** Both {@link TaskRole}s. */
export const TASK_ROLES: readonly TaskRole[] = ['propose', 'solve'];

/**
 * What every task has, whatever its mode. Tasks are plain JSON-serialisable data: they are stored in buffers,
 * written to JSONL and checkpoints, and shown in reports.
 */
export interface TaskBase {
  /** The mode the task belongs to. */
  readonly mode: TaskModeName;
  /** The language the program is written in. */
  readonly language: TaskLanguage;
  /** The full source of the program, defining the function named by {@link TaskBase.entry}. */
  readonly program: string;
  /** The name of the function that is called. Default in every task mode: `f`. */
  readonly entry: string;
  /**
   * A stable identifier derived from the task's content (a hash of its canonical form), used to deduplicate
   * buffers. Two tasks with equal ids are the same task.
   */
  readonly id: string;
  /** The training step that produced the task; `0` for seeds and imported tasks. */
  readonly step: number;
}

/**
 * One call of a program: the source text of the argument list (for example `"[1, 2], 'x'"` in Python) and the
 * canonical value it returned.
 */
export interface InputOutputPair {
  /** Source text of the argument list, in the task's language, without the surrounding parentheses. */
  readonly input: string;
  /** The canonical value that `entry(<input>)` returned. */
  readonly output: CanonicalValue;
}
