export { createAbductionMode } from './abduction.js';
export { createDeductionMode } from './deduction.js';
export { createInductionMode, type InductionModeSettings, type InductionProposal } from './induction.js';
export { LANGUAGE_SYNTAX, type LanguageSyntax } from './language.js';
export { canonicalToLiteral } from './literal.js';
export type { ProgramInputModeSettings, ProgramInputProposal } from './program-input-mode.js';
export { taskId } from './task-id.js';
export {
  ABDUCTION_TEMPLATES,
  DEDUCTION_TEMPLATES,
  INDUCTION_TEMPLATES,
  type TaskModeTemplates,
} from './templates.js';
