import type { CanonicalValue } from './canonical-value.js';
import type { TaskLanguage } from './task-language.js';

/**
 * The three reasoning modes of Absolute Zero.
 *
 * - `deduction`: given a program and an input, predict the output.
 * - `abduction`: given a program and an output, find an input that produces it (any such input counts).
 * - `induction`: given input/output pairs and a message, write the program.
 */
export type BuiltInTaskModeName = 'deduction' | 'abduction' | 'induction';

/** Every {@link BuiltInTaskModeName}, in the order the trainer runs them. */
export const BUILT_IN_TASK_MODE_NAMES: readonly BuiltInTaskModeName[] = [
  'deduction',
  'abduction',
  'induction',
];

/**
 * The name of a task mode. The built-in names are listed for completion; any other non-empty string names a
 * custom mode plugged into the trainer.
 */
export type TaskModeName = BuiltInTaskModeName | (string & {});

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

/** Deduction: the solver sees `program` and `input` and predicts `output`. */
export interface DeductionTask extends TaskBase, InputOutputPair {
  readonly mode: 'deduction';
}

/** Abduction: the solver sees `program` and `output` and must give any input that produces `output`. */
export interface AbductionTask extends TaskBase, InputOutputPair {
  readonly mode: 'abduction';
}

/**
 * Induction: the solver sees the first {@link InductionTask.shownCount} pairs and the message, and writes a
 * program that must reproduce every remaining (held-out) pair.
 */
export interface InductionTask extends TaskBase {
  readonly mode: 'induction';
  /** All pairs, shown ones first. */
  readonly pairs: readonly InputOutputPair[];
  /** How many leading pairs the solver sees. The rest are held out for checking. */
  readonly shownCount: number;
  /** The proposer's natural-language hint or task statement. It never contains the program. */
  readonly message: string;
}

/** A task of one of the built-in modes. Custom modes define their own task types extending {@link TaskBase}. */
export type Task = DeductionTask | AbductionTask | InductionTask;
