import type { TaskModeV1 } from '../spec/task-mode.js';
import { createAbductionMode } from './abduction.js';
import { createDeductionMode } from './deduction.js';
import { createInductionMode, type InductionModeSettings, type InductionProposal } from './induction.js';
import type { ProgramInputModeSettings, ProgramInputProposal } from './program-input-mode.js';
import type { AbductionTask, DeductionTask, InductionTask } from './tasks.js';

/** Settings of {@link createPaperTaskModes}: each mode's own, under its own name. */
export interface PaperTaskModesSettings {
  readonly deduction?: Omit<ProgramInputModeSettings<'deduction'>, 'name'>;
  readonly abduction?: Omit<ProgramInputModeSettings<'abduction'>, 'name'>;
  readonly induction?: Omit<InductionModeSettings<'induction'>, 'name'>;
}

/** The paper's three task modes, in the order the trainer runs them: deduction, abduction, induction. */
export type PaperTaskModes = [
  TaskModeV1<DeductionTask, ProgramInputProposal, string>,
  TaskModeV1<AbductionTask, ProgramInputProposal, string>,
  TaskModeV1<InductionTask, InductionProposal, string>,
];

/**
 * The paper's task modes: the trainer's and `evaluate`'s default, and the list to start from when you add a
 * mode of your own (`[...createPaperTaskModes(), myMode]`).
 */
export function createPaperTaskModes(settings: PaperTaskModesSettings = {}): PaperTaskModes {
  return [
    createDeductionMode(settings.deduction),
    createAbductionMode(settings.abduction),
    createInductionMode(settings.induction),
  ];
}
