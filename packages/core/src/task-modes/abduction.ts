import { checkTemplate, renderTemplate } from '../format/template.js';
import type { ExecutorV1 } from '../spec/executor.js';
import type { AbductionTask } from '../spec/task.js';
import type {
  AnswerVerdict,
  ParseResult,
  ProposalValidation,
  ProposeContext,
  SolveContext,
  TaskModeV1,
} from '../spec/task-mode.js';
import {
  type ProgramInputModeSettings,
  type ProgramInputProposal,
  SOLVE_PLACEHOLDERS,
  validateProgramInput,
} from './deduction.js';
import { LANGUAGE_SYNTAX } from './language.js';
import { canonicalToLiteral } from './literal.js';
import { answerOf, describeFailure, literalAnswer, parseProgramAndInput, renderPropose } from './shared.js';
import { taskId } from './task-id.js';
import { ABDUCTION_TEMPLATES, PROPOSE_PLACEHOLDERS } from './templates.js';

/**
 * Abduction: the proposer writes a program and an input; the solver sees the output and gives an input. Any
 * input for which the program returns the gold output is correct.
 */
export function createAbductionMode(
  settings: ProgramInputModeSettings = {},
): TaskModeV1<AbductionTask, ProgramInputProposal, string> {
  const templates = {
    propose: checkTemplate(
      'templates.propose',
      settings.templates?.propose ?? ABDUCTION_TEMPLATES.propose,
      PROPOSE_PLACEHOLDERS,
    ),
    solve: checkTemplate(
      'templates.solve',
      settings.templates?.solve ?? ABDUCTION_TEMPLATES.solve,
      SOLVE_PLACEHOLDERS,
    ),
  };
  return {
    specificationVersion: 'v1',
    name: 'abduction',
    languages: ['javascript', 'python'],
    buildProposePrompt: (context: ProposeContext) => renderPropose(templates.propose, context),
    parseProposal: (completion: string, context: ProposeContext): ParseResult<ProgramInputProposal> =>
      parseProgramAndInput(completion, context),
    async validateProposal(proposal, executor, context): Promise<ProposalValidation<AbductionTask>> {
      const validation = await validateProgramInput(proposal, executor, context.language);
      if (!validation.ok) return validation;
      const content = {
        mode: 'abduction' as const,
        language: context.language,
        program: proposal.program,
        entry: 'f',
        input: proposal.input,
        output: validation.output,
      };
      return { ok: true, task: { ...content, id: taskId(content), step: context.step } };
    },
    buildSolvePrompt: (task: AbductionTask, context: SolveContext) =>
      renderTemplate(templates.solve, {
        language: LANGUAGE_SYNTAX[task.language].displayName,
        fence: LANGUAGE_SYNTAX[task.language].fence,
        program: task.program,
        output: canonicalToLiteral(task.output, task.language),
        reasoningTag: context.format.reasoningTag,
        answerTag: context.format.answerTag,
      }),
    parseAnswer(completion: string, _task: AbductionTask, context: SolveContext): ParseResult<string> {
      const answer = answerOf(completion, context.format);
      return answer.ok
        ? { ok: true, value: literalAnswer(answer.answer), wellFormed: answer.wellFormed }
        : answer;
    },
    async checkAnswer(task: AbductionTask, answer: string, executor: ExecutorV1): Promise<AnswerVerdict> {
      const result = await executor.run({ code: task.program, entry: task.entry, args: answer });
      if (!result.ok) return { correct: false, reason: describeFailure(result.error) };
      return result.value === task.output
        ? { correct: true }
        : { correct: false, reason: `f(${answer}) returned ${result.value}, expected ${task.output}` };
    },
  };
}
