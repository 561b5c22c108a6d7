import { checkTemplate, renderTemplate } from '../format/template.js';
import type { ExecutorV1 } from '../spec/executor.js';
import type { DeductionTask } from '../spec/task.js';
import type { TaskLanguage } from '../spec/task-language.js';
import type {
  AnswerVerdict,
  ParseResult,
  ProposalValidation,
  ProposeContext,
  SolveContext,
  TaskModeV1,
} from '../spec/task-mode.js';
import { LANGUAGE_SYNTAX } from './language.js';
import { answerOf, describeFailure, literalAnswer, parseProgramAndInput, renderPropose } from './shared.js';
import { taskId } from './task-id.js';
import { DEDUCTION_TEMPLATES, PROPOSE_PLACEHOLDERS, type TaskModeTemplates } from './templates.js';

/** A deduction or abduction proposal: a program and the source of one argument list. */
export interface ProgramInputProposal {
  readonly program: string;
  readonly input: string;
}

/** Settings of {@link createDeductionMode} and {@link createAbductionMode}. */
export interface ProgramInputModeSettings {
  /** Replacement prompt templates; see the defaults for the placeholders each may use. */
  readonly templates?: Partial<TaskModeTemplates>;
}

export const SOLVE_PLACEHOLDERS = [
  'language',
  'fence',
  'program',
  'input',
  'output',
  'reasoningTag',
  'answerTag',
] as const;

/** Validates a program and an input through the executor into the task's fields. */
export async function validateProgramInput(
  proposal: ProgramInputProposal,
  executor: ExecutorV1,
  language: TaskLanguage,
): Promise<{ ok: true; output: DeductionTask['output'] } | { ok: false; reason: string }> {
  if (executor.language !== language) {
    return { ok: false, reason: `the executor runs ${executor.language}, the task is ${language}` };
  }
  const result = await executor.validateProgram({
    code: proposal.program,
    entry: 'f',
    argsList: [proposal.input],
  });
  return result.ok
    ? { ok: true, output: result.outputs[0] as DeductionTask['output'] }
    : { ok: false, reason: describeFailure(result.error) };
}

/**
 * Deduction: the proposer writes a program and an input; the solver predicts the output, which is correct
 * when its canonical value equals the gold output.
 */
export function createDeductionMode(
  settings: ProgramInputModeSettings = {},
): TaskModeV1<DeductionTask, ProgramInputProposal, string> {
  const templates = {
    propose: checkTemplate(
      'templates.propose',
      settings.templates?.propose ?? DEDUCTION_TEMPLATES.propose,
      PROPOSE_PLACEHOLDERS,
    ),
    solve: checkTemplate(
      'templates.solve',
      settings.templates?.solve ?? DEDUCTION_TEMPLATES.solve,
      SOLVE_PLACEHOLDERS,
    ),
  };
  return {
    specificationVersion: 'v1',
    name: 'deduction',
    languages: ['javascript', 'python'],
    buildProposePrompt: (context: ProposeContext) => renderPropose(templates.propose, context),
    parseProposal: (completion: string, context: ProposeContext): ParseResult<ProgramInputProposal> =>
      parseProgramAndInput(completion, context),
    async validateProposal(proposal, executor, context): Promise<ProposalValidation<DeductionTask>> {
      const validation = await validateProgramInput(proposal, executor, context.language);
      if (!validation.ok) return validation;
      const content = {
        mode: 'deduction' as const,
        language: context.language,
        program: proposal.program,
        entry: 'f',
        input: proposal.input,
        output: validation.output,
      };
      return { ok: true, task: { ...content, id: taskId(content), step: context.step } };
    },
    buildSolvePrompt: (task: DeductionTask, context: SolveContext) =>
      renderTemplate(templates.solve, {
        language: LANGUAGE_SYNTAX[task.language].displayName,
        fence: LANGUAGE_SYNTAX[task.language].fence,
        program: task.program,
        input: task.input,
        reasoningTag: context.format.reasoningTag,
        answerTag: context.format.answerTag,
      }),
    parseAnswer(completion: string, _task: DeductionTask, context: SolveContext): ParseResult<string> {
      const answer = answerOf(completion, context.format);
      return answer.ok
        ? { ok: true, value: literalAnswer(answer.answer), wellFormed: answer.wellFormed }
        : answer;
    },
    async checkAnswer(task: DeductionTask, answer: string, executor: ExecutorV1): Promise<AnswerVerdict> {
      const result = await executor.evaluateLiteral(answer);
      if (!result.ok) return { correct: false, reason: describeFailure(result.error) };
      return result.value === task.output
        ? { correct: true }
        : { correct: false, reason: `predicted ${result.value}, expected ${task.output}` };
    },
  };
}
