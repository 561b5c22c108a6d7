import { checkTemplate, renderTemplate } from '../format/template.js';
import type { CanonicalValue } from '../spec/canonical-value.js';
import type { ExecutorV1 } from '../spec/executor.js';
import type { AbductionTask, DeductionTask } from '../spec/task.js';
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
import { PROPOSE_PLACEHOLDERS, type TaskModeTemplates } from './templates.js';

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

const SOLVE_PLACEHOLDERS = [
  'language',
  'fence',
  'program',
  'input',
  'output',
  'reasoningTag',
  'answerTag',
] as const;

/** What distinguishes deduction from abduction: what the solver is shown, and how its answer is checked. */
export interface ProgramInputModeDefinition<TTask extends DeductionTask | AbductionTask> {
  readonly name: TTask['mode'];
  readonly templates: TaskModeTemplates;
  /** The solve prompt's `{{input}}` and `{{output}}` (the hidden one empty). */
  readonly shown: (task: TTask) => { readonly input: string; readonly output: string };
  readonly check: (task: TTask, answer: string, executor: ExecutorV1) => Promise<AnswerVerdict>;
}

/**
 * The modes whose proposals are a program and one input: the proposal is validated through the executor
 * (syntax, policy, determinism) into a task carrying the gold output, and the answer is one literal.
 */
export function createProgramInputMode<TTask extends DeductionTask | AbductionTask>(
  definition: ProgramInputModeDefinition<TTask>,
  settings: ProgramInputModeSettings,
): TaskModeV1<TTask, ProgramInputProposal, string> {
  const templates = {
    propose: checkTemplate(
      'templates.propose',
      settings.templates?.propose ?? definition.templates.propose,
      PROPOSE_PLACEHOLDERS,
    ),
    solve: checkTemplate(
      'templates.solve',
      settings.templates?.solve ?? definition.templates.solve,
      SOLVE_PLACEHOLDERS,
    ),
  };
  return {
    specificationVersion: 'v1',
    name: definition.name,
    languages: ['javascript', 'python'],
    buildProposePrompt: (context: ProposeContext) => renderPropose(templates.propose, context),
    parseProposal: (completion: string, context: ProposeContext): ParseResult<ProgramInputProposal> =>
      parseProgramAndInput(completion, context),
    async validateProposal(proposal, executor, context): Promise<ProposalValidation<TTask>> {
      if (executor.language !== context.language) {
        return {
          ok: false,
          reason: `the executor runs ${executor.language}, the task is ${context.language}`,
        };
      }
      const result = await executor.validateProgram({
        code: proposal.program,
        entry: 'f',
        argsList: [proposal.input],
      });
      if (!result.ok) return { ok: false, reason: describeFailure(result.error) };
      const content = {
        mode: definition.name,
        language: context.language,
        program: proposal.program,
        entry: 'f',
        input: proposal.input,
        output: result.outputs[0] as CanonicalValue,
      };
      return { ok: true, task: { ...content, id: taskId(content), step: context.step } as TTask };
    },
    buildSolvePrompt: (task: TTask, context: SolveContext) =>
      renderTemplate(templates.solve, {
        language: LANGUAGE_SYNTAX[task.language].displayName,
        fence: LANGUAGE_SYNTAX[task.language].fence,
        program: task.program,
        ...definition.shown(task),
        reasoningTag: context.format.reasoningTag,
        answerTag: context.format.answerTag,
      }),
    parseAnswer(completion: string, _task: TTask, context: SolveContext): ParseResult<string> {
      const answer = answerOf(completion, context.format);
      return answer.ok
        ? { ok: true, value: literalAnswer(answer.answer), wellFormed: answer.wellFormed }
        : answer;
    },
    checkAnswer: definition.check,
  };
}
