import { extractFencedBlocks } from '../format/extract.js';
import { checkTemplate, renderTemplate } from '../format/template.js';
import { assertNumberInRange } from '../settings/validate.js';
import type { ExecutorV1 } from '../spec/executor.js';
import type { InductionTask } from '../spec/task.js';
import type {
  AnswerVerdict,
  ParseResult,
  ProposalValidation,
  ProposeContext,
  SolveContext,
  TaskModeV1,
} from '../spec/task-mode.js';
import { LANGUAGE_SYNTAX, pythonImports } from './language.js';
import { canonicalToLiteral } from './literal.js';
import { answerOf, describeFailure, programBlock, renderPropose } from './shared.js';
import { taskId } from './task-id.js';
import { INDUCTION_TEMPLATES, PROPOSE_PLACEHOLDERS, type TaskModeTemplates } from './templates.js';

/** An induction proposal: inputs and a message for a given program. */
export interface InductionProposal {
  readonly program: string;
  readonly inputs: readonly string[];
  readonly message: string;
}

/** Settings of {@link createInductionMode}. */
export interface InductionModeSettings {
  /** Inputs the proposer writes. Default `10`, as in the paper. */
  readonly inputCount?: number;
  /** Pairs the solver sees; the rest are held out for checking. Default half of `inputCount` (5). */
  readonly shownCount?: number;
  /** Replacement prompt templates. */
  readonly templates?: Partial<TaskModeTemplates>;
}

const INDUCTION_SOLVE_PLACEHOLDERS = [
  'language',
  'fence',
  'pairs',
  'message',
  'reasoningTag',
  'answerTag',
] as const;

/**
 * Induction: given a program, the proposer writes inputs and a message; the executor computes the outputs.
 * The solver sees the first `shownCount` pairs and the message and writes a program, which is correct when it
 * reproduces every held-out pair.
 */
export function createInductionMode(
  settings: InductionModeSettings = {},
): TaskModeV1<InductionTask, InductionProposal, string> {
  const inputCount = assertNumberInRange('inputCount', settings.inputCount ?? 10, {
    minimum: 2,
    maximum: 100,
    integer: true,
  });
  const shownCount = assertNumberInRange('shownCount', settings.shownCount ?? Math.floor(inputCount / 2), {
    minimum: 1,
    maximum: inputCount - 1,
    integer: true,
  });
  const templates = {
    propose: checkTemplate('templates.propose', settings.templates?.propose ?? INDUCTION_TEMPLATES.propose, [
      ...PROPOSE_PLACEHOLDERS,
      'program',
      'count',
    ]),
    solve: checkTemplate(
      'templates.solve',
      settings.templates?.solve ?? INDUCTION_TEMPLATES.solve,
      INDUCTION_SOLVE_PLACEHOLDERS,
    ),
  };
  return {
    specificationVersion: 'v1',
    name: 'induction',
    languages: ['javascript', 'python'],
    buildProposePrompt: (context: ProposeContext) =>
      renderPropose(templates.propose, context, {
        program: context.references[0]?.program ?? '',
        count: String(inputCount),
      }),
    parseProposal(completion: string, context: ProposeContext): ParseResult<InductionProposal> {
      const answer = answerOf(completion, context.format);
      if (!answer.ok) return answer;
      const program = context.references[0]?.program;
      if (program === undefined) {
        return { ok: false, reason: 'the context holds no reference program', wellFormed: answer.wellFormed };
      }
      const blocks = extractFencedBlocks(answer.answer);
      const inputs = blocks.filter((block) => block.language === 'input').map((block) => block.body.trim());
      if (inputs.length < inputCount) {
        return {
          ok: false,
          reason: `${inputs.length} input blocks, ${inputCount} needed`,
          wellFormed: answer.wellFormed,
        };
      }
      const message = blocks.find((block) => block.language === 'message')?.body.trim() ?? '';
      if (message.length === 0) {
        return { ok: false, reason: 'no ```message block', wellFormed: answer.wellFormed };
      }
      // As in the reference implementation, the last inputCount inputs are used.
      return {
        ok: true,
        value: { program, inputs: inputs.slice(-inputCount), message },
        wellFormed: answer.wellFormed,
      };
    },
    async validateProposal(proposal, executor, context): Promise<ProposalValidation<InductionTask>> {
      if (executor.language !== context.language) {
        return {
          ok: false,
          reason: `the executor runs ${executor.language}, the task is ${context.language}`,
        };
      }
      if (proposal.message.includes(proposal.program.trim())) {
        return { ok: false, reason: 'the message contains the program' };
      }
      const result = await executor.validateProgram({
        code: proposal.program,
        entry: 'f',
        argsList: proposal.inputs,
      });
      if (!result.ok) {
        const which = result.argsIndex === undefined ? '' : ` (input ${result.argsIndex + 1})`;
        return { ok: false, reason: `${describeFailure(result.error)}${which}` };
      }
      const pairs = proposal.inputs.map((input, index) => ({
        input,
        output: result.outputs[index] as InductionTask['pairs'][number]['output'],
      }));
      const content = {
        mode: 'induction' as const,
        language: context.language,
        program: proposal.program,
        entry: 'f',
        pairs,
        shownCount,
        message: proposal.message,
      };
      return { ok: true, task: { ...content, id: taskId(content), step: context.step } };
    },
    buildSolvePrompt(task: InductionTask, context: SolveContext): string {
      const shown = task.pairs.slice(0, task.shownCount);
      return renderTemplate(templates.solve, {
        language: LANGUAGE_SYNTAX[task.language].displayName,
        fence: LANGUAGE_SYNTAX[task.language].fence,
        pairs: shown
          .map(
            (pair) =>
              `\`\`\`input\n${pair.input}\n\`\`\`\n\`\`\`output\n${canonicalToLiteral(pair.output, task.language)}\n\`\`\``,
          )
          .join('\n'),
        message: task.message,
        reasoningTag: context.format.reasoningTag,
        answerTag: context.format.answerTag,
      });
    },
    parseAnswer(completion: string, task: InductionTask, context: SolveContext): ParseResult<string> {
      const answer = answerOf(completion, context.format);
      if (!answer.ok) return answer;
      const block = programBlock(extractFencedBlocks(answer.answer), task.language);
      const program = (block?.body ?? answer.answer).trim();
      return program.length === 0
        ? { ok: false, reason: 'an empty program', wellFormed: answer.wellFormed }
        : { ok: true, value: program, wellFormed: answer.wellFormed };
    },
    async checkAnswer(task: InductionTask, answer: string, executor: ExecutorV1): Promise<AnswerVerdict> {
      // As in the reference implementation, the gold program's imports go in front of the solver's code.
      const imports = task.language === 'python' ? pythonImports(task.program) : '';
      const code = imports.length > 0 ? `${imports}\n${answer}` : answer;
      const heldOut = task.pairs.slice(task.shownCount);
      const results = await Promise.all(
        heldOut.map((pair) => executor.run({ code, entry: task.entry, args: pair.input })),
      );
      for (const [index, result] of results.entries()) {
        const pair = heldOut[index] as InductionTask['pairs'][number];
        if (!result.ok)
          return { correct: false, reason: `held-out input ${index + 1}: ${describeFailure(result.error)}` };
        if (result.value !== pair.output) {
          return {
            correct: false,
            reason: `held-out input ${index + 1}: returned ${result.value}, expected ${pair.output}`,
          };
        }
      }
      return { correct: true };
    },
  };
}
