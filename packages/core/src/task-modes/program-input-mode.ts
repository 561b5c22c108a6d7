import { checkTemplate, renderTemplate } from '../format/template.js';
import type { CanonicalValue } from '../spec/canonical-value.js';
import type { ExecutorV1 } from '../spec/executor.js';
import type { TaskModeName } from '../spec/task.js';
import type {
  AnswerVerdict,
  ParseResult,
  ProposalValidation,
  ProposeContext,
  SolveContext,
  TaskModeV1,
} from '../spec/task-mode.js';
import { type PromptFrameSetting, resolvePromptFrame } from './frame.js';
import { LANGUAGE_SYNTAX } from './language.js';
import { applySingleFunctionRule } from './proposal-rules.js';
import { zeroTriplet } from './seeds.js';
import {
  answerOf,
  describeFailure,
  literalAnswer,
  modeNameOf,
  parseProgramAndInput,
  renderPropose,
} from './shared.js';
import { taskId } from './task-id.js';
import type { ProgramInputTask } from './tasks.js';
import {
  PROPOSE_PLACEHOLDERS,
  SOLVE_PLACEHOLDERS,
  type TaskModeTemplates,
  TEMPLATE_EXAMPLES,
} from './templates.js';

/** A deduction or abduction proposal: a program and the source of one argument list. */
export interface ProgramInputProposal {
  readonly program: string;
  readonly input: string;
}

/** Settings of {@link createDeductionMode} and {@link createAbductionMode}. */
export interface ProgramInputModeSettings<TName extends TaskModeName = TaskModeName> {
  /**
   * The mode's name, which its tasks carry: a mode of your own that reuses this one's prompts, parsing and
   * checking under another name (spread the mode and replace what differs). Default: `deduction` or
   * `abduction`.
   */
  readonly name?: TName;
  /**
   * Hold proposals to the reference's single-function rule before they reach the executor: the program must
   * define exactly one function (nested helpers and class methods count; Python's `lambda` and JavaScript's
   * expression-bodied arrow functions do not), which is renamed to `f` with its recursive calls. See
   * `applySingleFunctionRule` for what counts in each language. Default `true`, as in the reference
   * (`reject_multiple_functions=True`). `false` accepts any program that defines `f`, as it is.
   */
  readonly singleFunction?: boolean;
  /**
   * Replacement prompt templates (the task text, which the frame wraps); `PROPOSE_PLACEHOLDERS` and
   * `SOLVE_PLACEHOLDERS` list the placeholders each may use.
   */
  readonly templates?: Partial<TaskModeTemplates>;
  /**
   * The conversation frame around every prompt, which the answer check reads completions under: `r1` (default,
   * as in the paper: the plain-text R1 conversation ending inside an opened `<think>`), `none` (the task text
   * as it is), or a frame object such as `createChatTemplateFrame(...)` for a chat model.
   */
  readonly frame?: PromptFrameSetting;
}

/** What distinguishes deduction from abduction: what the solver is shown, and how its answer is checked. */
export interface ProgramInputModeDefinition {
  /** The name when the settings give none. */
  readonly name: TaskModeName;
  readonly templates: TaskModeTemplates;
  /** The info string of the fenced block the solve prompt asks the answer in (`output`, `input`). */
  readonly answerBlock?: string;
  /** The solve prompt's `{{input}}` and `{{output}}` (the hidden one empty). */
  readonly shown: (task: ProgramInputTask) => { readonly input: string; readonly output: string };
  readonly check: (task: ProgramInputTask, answer: string, executor: ExecutorV1) => Promise<AnswerVerdict>;
}

/**
 * The modes whose proposals are a program and one input: the proposal is validated through the executor
 * (syntax, policy, determinism) into a task carrying the gold output, and the answer is one literal. Their
 * buffers start from the zero triplet; a suite line gives them its `input` and `output` (a CRUXEval line
 * gives one task to each such mode).
 */
export function createProgramInputMode<TName extends TaskModeName>(
  definition: ProgramInputModeDefinition,
  settings: ProgramInputModeSettings<TName>,
): TaskModeV1<ProgramInputTask<TName>, ProgramInputProposal, string> {
  type TTask = ProgramInputTask<TName>;
  const name = modeNameOf(settings.name, definition.name) as TName;
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
  const frame = resolvePromptFrame(settings.frame);
  return {
    specificationVersion: 'v1',
    name,
    languages: ['javascript', 'python'],
    buildProposePrompt: (context: ProposeContext) =>
      frame.wrap(renderPropose(templates.propose, context), context.format),
    parseProposal: (completion: string, context: ProposeContext): ParseResult<ProgramInputProposal> =>
      parseProgramAndInput(completion, context, frame),
    async validateProposal(proposed, executor, context): Promise<ProposalValidation<TTask>> {
      if (executor.language !== context.language) {
        return {
          ok: false,
          reason: `the executor runs ${executor.language}, the task is ${context.language}`,
        };
      }
      const rule =
        settings.singleFunction === false
          ? { ok: true as const, program: proposed.program }
          : applySingleFunctionRule(proposed.program, context.language);
      if (!rule.ok) return { ok: false, reason: rule.reason };
      const proposal = { ...proposed, program: rule.program };
      const result = await executor.validateProgram({
        code: proposal.program,
        entry: 'f',
        argsList: [proposal.input],
      });
      if (!result.ok) return { ok: false, reason: describeFailure(result.error) };
      const content = {
        mode: name,
        language: context.language,
        program: proposal.program,
        entry: 'f',
        input: proposal.input,
        output: result.outputs[0] as CanonicalValue,
      };
      return { ok: true, task: { ...content, id: taskId(content), step: context.step } };
    },
    buildSolvePrompt: (task: TTask, context: SolveContext) =>
      frame.wrap(
        renderTemplate(templates.solve, {
          language: LANGUAGE_SYNTAX[task.language].displayName,
          fence: LANGUAGE_SYNTAX[task.language].fence,
          program: task.program,
          ...definition.shown(task),
          reasoningTag: context.format.reasoningTag,
          answerTag: context.format.answerTag,
          exampleInput: TEMPLATE_EXAMPLES[task.language].exampleInput,
          exampleOutput: TEMPLATE_EXAMPLES[task.language].exampleOutput,
        }),
        context.format,
      ),
    parseAnswer(completion: string, _task: TTask, context: SolveContext): ParseResult<string> {
      const answer = answerOf(completion, context.format, frame);
      return answer.ok
        ? {
            ok: true,
            value: literalAnswer(answer.answer, definition.answerBlock),
            wellFormed: answer.wellFormed,
          }
        : answer;
    },
    checkAnswer: definition.check,
    seedTasks: (language) => [zeroTriplet(name, language)],
    readTask: (reader) => ({ input: reader.string('input'), output: reader.string('output') }),
    async readSuiteRecord(reader) {
      if (!reader.named && reader.record.input === undefined && reader.record.output === undefined)
        return undefined;
      const input = reader.string('input');
      return { input, output: await reader.canonical(reader.string('output')) };
    },
  };
}
