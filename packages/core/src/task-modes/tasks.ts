import type { InputOutputPair, TaskBase, TaskModeName } from '../spec/task.js';

/**
 * The three reasoning modes of Absolute Zero.
 *
 * - `deduction`: given a program and an input, predict the output.
 * - `abduction`: given a program and an output, find an input that produces it (any such input counts).
 * - `induction`: given input/output pairs and a message, write the program.
 */
export type BuiltInTaskModeName = 'deduction' | 'abduction' | 'induction';

/** Every {@link BuiltInTaskModeName}, in the order the paper's modes run. */
export const BUILT_IN_TASK_MODE_NAMES: readonly BuiltInTaskModeName[] = [
  'deduction',
  'abduction',
  'induction',
];

/**
 * A task that is a program, one input and its output: the shape of deduction and abduction tasks. `TName` is
 * the mode's name: a mode built with `createDeductionMode({ name })` makes tasks of this shape under its own.
 */
export interface ProgramInputTask<TName extends TaskModeName = TaskModeName>
  extends TaskBase,
    InputOutputPair {
  readonly mode: TName;
}

/** Deduction: the solver sees `program` and `input` and predicts `output`. */
export type DeductionTask<TName extends TaskModeName = 'deduction'> = ProgramInputTask<TName>;

/** Abduction: the solver sees `program` and `output` and must give any input that produces `output`. */
export type AbductionTask<TName extends TaskModeName = 'abduction'> = ProgramInputTask<TName>;

/**
 * Induction: the solver sees the first {@link InductionTask.shownCount} pairs and the message, and writes a
 * program that must reproduce every remaining (held-out) pair.
 */
export interface InductionTask<TName extends TaskModeName = 'induction'> extends TaskBase {
  readonly mode: TName;
  /** All pairs, shown ones first. */
  readonly pairs: readonly InputOutputPair[];
  /** How many leading pairs the solver sees. The rest are held out for checking. */
  readonly shownCount: number;
  /** The proposer's natural-language hint or task statement. It never contains the program. */
  readonly message: string;
}

/** A task of one of the built-in modes. Custom modes define their own task types extending `TaskBase`. */
export type Task = DeductionTask | AbductionTask | InductionTask;
