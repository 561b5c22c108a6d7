export { createAbductionMode } from './abduction.js';
export { createDeductionMode } from './deduction.js';
export {
  type ChatMessage,
  type ChatTemplateFrameSettings,
  createChatTemplateFrame,
  NO_FRAME,
  PROMPT_FRAME_NAMES,
  type PromptFrame,
  type PromptFrameName,
  type PromptFrameSetting,
  R1_FRAME,
  r1Instruction,
  resolvePromptFrame,
} from './frame.js';
export {
  createInductionMode,
  drawInductionReference,
  formatInductionPairs,
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
  inductionAnswerAutomaton,
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
  sampleMiniInputList,
  sampleMiniProposal,
} from './mini/grammar.js';
export {
  createMiniTaskModes,
  type MiniCurriculum,
  type MiniTaskModesSettings,
  miniOperatorLimit,
} from './mini/modes.js';
export { createPaperTaskModes, type PaperTaskModes, type PaperTaskModesSettings } from './paper.js';
export type { ProgramInputModeSettings, ProgramInputProposal } from './program-input-mode.js';
export {
  applySingleFunctionRule,
  ENTRY_FUNCTION_NAME,
  type SingleFunctionResult,
} from './proposal-rules.js';
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
  INDUCTION_CALL_LINE,
  INDUCTION_PROPOSE_PLACEHOLDERS,
  INDUCTION_SOLVE_PLACEHOLDERS,
  INDUCTION_TEMPLATES,
  PROPOSE_PLACEHOLDERS,
  SOLVE_PLACEHOLDERS,
  type TaskModeTemplates,
  TEMPLATE_EXAMPLES,
  TEMPLATE_PLACEHOLDERS,
  type TemplateExamples,
} from './templates.js';
