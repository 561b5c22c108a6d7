export { createAbductionMode } from './abduction.js';
export { createDeductionMode } from './deduction.js';
export {
  createInductionMode,
  drawInductionReference,
  type InductionModeSettings,
  type InductionProposal,
} from './induction.js';
export { LANGUAGE_SYNTAX, type LanguageSyntax } from './language.js';
export { canonicalToLiteral } from './literal.js';
export {
  DIGIT_AUTOMATON,
  EXPRESSION_AUTOMATON,
  evaluateMiniExpression,
  expressionAutomaton,
  inputListAutomaton,
  isMiniExpression,
  MINI_LANGUAGE,
  miniBehavior,
  miniExpression,
  miniOperatorCount,
  miniProgram,
  PROPOSAL_AUTOMATON,
  proposalAutomaton,
  sampleMiniExpression,
} from './mini/grammar.js';
export {
  createMiniTaskModes,
  type MiniCurriculum,
  type MiniTaskModesSettings,
  miniOperatorLimit,
} from './mini/modes.js';
export { createPaperTaskModes, type PaperTaskModes, type PaperTaskModesSettings } from './paper.js';
export type { ProgramInputModeSettings, ProgramInputProposal } from './program-input-mode.js';
export { zeroInductionTask, zeroTriplet } from './seeds.js';
export { taskId } from './task-id.js';
export {
  type AbductionTask,
  BUILT_IN_TASK_MODE_NAMES,
  type BuiltInTaskModeName,
  type DeductionTask,
  type InductionTask,
  type ProgramInputTask,
  type Task,
} from './tasks.js';
export {
  ABDUCTION_TEMPLATES,
  DEDUCTION_TEMPLATES,
  INDUCTION_TEMPLATES,
  type TaskModeTemplates,
} from './templates.js';
